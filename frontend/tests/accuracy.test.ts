import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { LIGHT_CHART } from '../src/chart'
import { charts, FakeResizeObserver } from './fakeCharts'
import { buildAccuracyOption, summaryText, type Accuracy, type AccuracyGroup, type Drift } from '../src/accuracy'

const api = vi.hoisted(() => ({ accuracy: vi.fn() }))
vi.mock('../src/client', () => ({ api, keys: { get: () => null, set: () => {} } }))
vi.mock('../src/echarts', () => import('./fakeCharts'))
vi.stubGlobal('ResizeObserver', FakeResizeObserver)

const { default: AccuracyPanel } = await import('../src/components/AccuracyPanel.vue')

const NOTE = 'every completed run is scored at its own grain (days_ahead counts its periods: days, weeks, months or quarters); a week, month or quarter is scored once the category has data up to its last day; bias is the mean of forecast - actual'
const group = (extra: Partial<AccuracyGroup>): AccuracyGroup => ({
  grain: 'day', model_type: 'recommended', n: 1, mae: 2, mase: 0.4, bias: 2, coverage: 1, actual: 30, forecast: 32, ...extra,
})
const byDate: Accuracy = { group_by: 'date', product_id: null, note: NOTE, groups: [
  group({ date: '2023-01-15' }), group({ date: '2023-01-16', mae: 4, mase: 0.8, bias: -4, coverage: 0, actual: 36 }),
] }
const byAhead: Accuracy = { ...byDate, group_by: 'days_ahead', groups: [group({ days_ahead: 1 }), group({ days_ahead: 2, mae: 4, mase: 0.8, bias: -4, coverage: 0 })] }
const drift: Drift = { since: '2023-01-22T08:00:00', run_id: 4, realised_mase: 2, backtest_mase: 0.5, ratio: 4, threshold: 1.5,
  reason: 'the recommended forecast of run 4 has a realised MASE of 2.00 over its 7 scored days', reforecast_run_id: 5 }

describe('realised accuracy in words and lines', () => {
  it('sums the scores up, weighting each group by its days', () => {
    expect(summaryText(byDate.groups)).toBe('2 days scored: MAE 3.00, MASE 0.60, bias -1.00, 50% inside the interval')
    expect(summaryText([])).toBe('No day of a past forecast has its actual yet.')
  })

  it('draws the actual, the forecast and the error per day', () => {
    const option = buildAccuracyOption(byDate.groups, LIGHT_CHART, '#2f6fed') as { xAxis: { data: string[] }; series: { id: string; data: number[] }[] }
    expect(option.xAxis.data).toEqual(['2023-01-15', '2023-01-16'])
    expect(option.series.map((s) => [s.id, s.data])).toEqual([['actual', [30, 36]], ['forecast', [32, 32]], ['error', [2, 4]]])
  })
})

describe('the Forecast vs actual panel', () => {
  it('reads the recommended forecast by date and by days ahead, and shows the drift badge with its reason', async () => {
    api.accuracy.mockImplementation((_category: string, groupBy: string) => Promise.resolve(groupBy === 'date' ? byDate : byAhead))
    const wrapper = mount(AccuracyPanel, { props: { category: 'north', version: '4:completed', drift } })
    await flushPromises()
    expect(api.accuracy).toHaveBeenCalledWith('north', 'date')
    expect(api.accuracy).toHaveBeenCalledWith('north', 'days_ahead')
    expect(wrapper.find('.drift').text()).toContain('Drifting since 2023-01-22: the recommended forecast of run 4')
    expect(wrapper.findAll('tbody tr').map((r) => r.findAll('td').map((c) => c.text()))).toEqual([
      ['1', '1', '2.00', '0.40', '2.00', '100%'], ['2', '1', '4.00', '0.80', '-4.00', '0%']])
    expect(charts.length).toBeGreaterThan(0)
  })

  it('shows no badge for a category that is not drifting', async () => {
    api.accuracy.mockResolvedValue({ ...byDate, groups: [] })
    const wrapper = mount(AccuracyPanel, { props: { category: 'south', version: '1:completed', drift: null } })
    await flushPromises()
    expect(wrapper.find('.drift').exists()).toBe(false)
    expect(wrapper.text()).toContain('No day of a past forecast has its actual yet.')
  })
})
