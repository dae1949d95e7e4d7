import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { ACTUAL_LABEL, axisDays, backtestModels, buildBacktestOption, windowLabel, type Backtests, type BacktestWindow } from '../src/backtest'
import { LIGHT_CHART } from '../src/chart'
import type { ModelType } from '../src/types'
import { charts, FakeResizeObserver } from './fakeCharts'

const api = vi.hoisted(() => ({ backtests: vi.fn() }))
vi.mock('../src/client', () => ({ api, keys: { get: () => null, set: () => {} } }))
vi.mock('../src/echarts', () => import('./fakeCharts'))
vi.stubGlobal('ResizeObserver', FakeResizeObserver)

const { default: BacktestChart } = await import('../src/components/BacktestChart.vue')

function window(origin: string, days: string[], actuals: (number | null)[], models: [ModelType, number, number | null][]): BacktestWindow {
  return {
    origin, start: days[0]!, end: days[days.length - 1]!,
    actuals: days.map((date, i) => ({ date, actual: actuals[i]! })),
    models: models.map(([model_type, value, mae]) => ({
      model_type, mae, rmse: mae, smape: 5, coverage: 1,
      forecasts: days.map((forecast_date) => ({ forecast_date, forecast_value: value, lower_bound: value - 1, upper_bound: value + 1 })),
    })),
  }
}

const answer: Backtests = {
  category: 'store-1', run_id: 4, note: null,
  windows: [
    window('2017-01-01', ['2017-01-02', '2017-01-03'], [10, 12], [['recommended', 11, 1], ['sarimax', 9, 2], ['prophet', 13, 3]]),
    window('2017-06-01', ['2017-06-02', '2017-06-03'], [20, null], [['recommended', 19, 1.25], ['sarimax', 18, 2], ['prophet', 22, 2]]),
  ],
}

type Series = { id: string; name: string; data: (number | string)[]; lineStyle: { width: number }; markArea?: { data: [{ xAxis: number; name: string }, { xAxis: number }][] } }
const option = (hidden: string[] = []) => buildBacktestOption({ backtests: answer, highlighted: 'recommended', hidden: new Set(hidden), theme: LIGHT_CHART }) as {
  series: Series[]; xAxis: { data: string[] }
}

describe('the backtest chart option', () => {
  it('lays the windows side by side with an empty slot between them', () => {
    expect(axisDays(answer.windows)).toEqual(['2017-01-02', '2017-01-03', '', '2017-06-02', '2017-06-03'])
    expect(option().xAxis.data).toEqual(axisDays(answer.windows))
  })

  it('draws the actuals first (a gap where one is missing), then each model, the recommended one thickest', () => {
    const series = option().series
    expect(series.map((s) => s.id)).toEqual(['actual', 'recommended', 'sarimax', 'prophet'])
    expect(series[0]!.name).toBe(ACTUAL_LABEL)
    expect(series[0]!.data).toEqual([10, 12, '-', 20, '-'])
    expect(series[2]!.data).toEqual([9, 9, '-', 18, 18])
    expect(series[1]!.lineStyle.width).toBeGreaterThan(series[2]!.lineStyle.width)
  })

  it('shades each window, labelled with its training end and the highlighted model\'s MAE there', () => {
    const areas = option().series[0]!.markArea!.data
    expect(areas.map(([from, to]) => [from.xAxis, to.xAxis])).toEqual([[0, 1], [3, 4]])
    expect(areas[1]![0].name).toBe('trained to 2017-06-01 · Recommended MAE 1.3')
    expect(windowLabel(answer.windows[0]!, null)).toBe('trained to 2017-01-01')
  })

  it('leaves out the models switched off in the legend', () => {
    expect(option(['SARIMAX', 'Prophet']).series.map((s) => s.id)).toEqual(['actual', 'recommended'])
    expect(backtestModels(answer)).toEqual(['recommended', 'sarimax', 'prophet'])
  })
})

describe('BacktestChart', () => {
  it('shows the actuals, the recommended forecast and the best model at first; the others toggle on', async () => {
    api.backtests.mockResolvedValue(answer)
    charts.length = 0
    const wrapper = mount(BacktestChart, { props: { category: 'store-1', version: '4:completed', highlighted: 'recommended', best: 'sarimax' } })
    await flushPromises()
    expect(api.backtests).toHaveBeenCalledWith('store-1')
    const buttons = wrapper.findAll('.legend-item')
    expect(buttons.map((b) => [b.text(), b.attributes('aria-pressed')])).toEqual([
      ['Actual', 'true'], ['Recommended', 'true'], ['SARIMAX', 'true'], ['Prophet', 'false'],
    ])
    const drawn = () => (charts[0]!.options.at(-1) as { series: Series[] }).series.map((s) => s.id)
    expect(drawn()).toEqual(['actual', 'recommended', 'sarimax'])
    await buttons[3]!.trigger('click')
    expect(drawn()).toEqual(['actual', 'recommended', 'sarimax', 'prophet'])
    expect(wrapper.get('[role="img"]').attributes('aria-label')).toContain('2 held-back window(s), 4 days of actuals')
  })

  it('reads the backtests again when a new run ends', async () => {
    api.backtests.mockResolvedValue(answer)
    const wrapper = mount(BacktestChart, { props: { category: 'store-1', version: '5:running', highlighted: 'recommended', best: null } })
    await flushPromises()
    const calls = api.backtests.mock.calls.length
    await wrapper.setProps({ version: '5:completed' })
    await flushPromises()
    expect(api.backtests.mock.calls.length).toBe(calls + 1)
  })

  it('shows the note of a run without stored backtests instead of an empty chart', async () => {
    api.backtests.mockResolvedValue({ category: 'old', run_id: 2, note: 'run 2 has no stored backtest forecasts', windows: [] })
    const wrapper = mount(BacktestChart, { props: { category: 'old', version: '2:completed', highlighted: null, best: null } })
    await flushPromises()
    expect(wrapper.get('.note').text()).toBe('No backtest to draw: run 2 has no stored backtest forecasts.')
    expect(wrapper.find('[role="img"]').exists()).toBe(false)
  })
})
