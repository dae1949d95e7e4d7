import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { Api, ApiError } from '../src/api'
import { daysText, monthRows, periodChartRows, targetsBody, targetsChanged, toTargetDrafts, wholeHistory } from '../src/periods'
import type { ForecastPeriod } from '../src/types'

const api = vi.hoisted(() => ({ categoryTargets: vi.fn(), saveCategoryTargets: vi.fn() }))
vi.mock('../src/client', () => ({ api, keys: { get: () => null, set: () => {} } }))

const { default: TargetsForm } = await import('../src/components/TargetsForm.vue')
const { default: MonthlyTable } = await import('../src/components/MonthlyTable.vue')

/** March: 15 stored days (150) and 16 forecast (320); April: 14 forecast days of 30, cut by the horizon. */
const MARCH: ForecastPeriod = {
  forecast_date: '2023-03-01', period_end: '2023-03-31', category: 'north', model_type: 'recommended', run_id: 4, batch_num: 1,
  grain: 'month', days: 16, days_in_period: 31, forecast_start: '2023-03-16', forecast_end: '2023-03-31', forecast_value: 320,
  lower_bound: 250, upper_bound: 420, p10: 290, p50: 320, p90: 360, actual: 150, actual_days: 15, total: 470, complete: true,
  target: 500, gap: -30, gap_share: -0.06,
}
const APRIL: ForecastPeriod = {
  ...MARCH, forecast_date: '2023-04-01', period_end: '2023-04-30', days: 14, days_in_period: 30, forecast_start: '2023-04-01',
  forecast_end: '2023-04-14', forecast_value: 280, actual: null, actual_days: 0, total: 280, complete: false, target: null, gap: null,
  gap_share: null,
}

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

const memoryKeys = () => ({ get: () => null, set: () => {} })

describe('periods logic', () => {
  it('draws only whole periods, each total with its interval moved up by the actual so far', () => {
    const rows = periodChartRows([MARCH, APRIL])
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ forecast_date: '2023-03-01', forecast_value: 470, lower_bound: 400, upper_bound: 570, p10: 440, p90: 510 })
  })

  it('leaves partly stored history periods out of the chart', () => {
    const points = [{ date: '2023-01-01', sales: 300, days: 30, days_in_period: 31 }, { date: '2023-02-01', sales: 280, days: 28, days_in_period: 28 }]
    expect(wholeHistory(points).map((p) => p.date)).toEqual(['2023-02-01'])
  })

  it('makes the monthly table of the highlighted model, saying which days each month holds', () => {
    const rows = monthRows([MARCH, APRIL, { ...MARCH, model_type: 'prophet' }], 'recommended')
    expect(rows.map((r) => [r.month, r.label, r.days, r.total, r.low95, r.high95, r.target, r.gap])).toEqual([
      ['2023-03', 'March 2023', '16 forecast + 15 actual of 31 days', 470, 400, 570, 500, -30],
      ['2023-04', 'April 2023', '14 forecast of 30 days', 280, 250, 420, null, null],
    ])
    expect(daysText(APRIL)).toBe('14 forecast of 30 days')
  })

  it('offers each stored target and each forecast month, in month order', () => {
    const drafts = toTargetDrafts({ '2023-05': 9 }, ['2023-03', '2023-05'])
    expect(drafts.map((d) => [d.month, d.target])).toEqual([['2023-03', ''], ['2023-05', '9']])
  })

  it('sends typed targets as numbers, leaves blanks out, and sends other text as typed for the API to judge', () => {
    const drafts = [{ key: 0, month: '2023-03', target: '500' }, { key: 1, month: '2023-04', target: ' ' },
      { key: 2, month: '2023-05', target: 7 }, { key: 3, month: 'May', target: '-1' }, { key: 4, month: '2023-06', target: 'lots' }]
    expect(targetsBody(drafts)).toEqual({ '2023-03': 500, '2023-05': 7, May: -1, '2023-06': 'lots' })
  })

  it('tells changed targets from the stored ones', () => {
    expect(targetsChanged({ '2023-03': 500 }, toTargetDrafts({ '2023-03': 500 }, ['2023-04']))).toBe(false)
    expect(targetsChanged({ '2023-03': 500 }, [{ key: 0, month: '2023-03', target: '501' }])).toBe(true)
    expect(targetsChanged({ '2023-03': 500 }, [])).toBe(true)
  })
})

describe('the API client per period', () => {
  it('asks /forecast-data with grain and the view filters, and the history with grain', async () => {
    const fetch = vi.fn(async () => jsonResponse(200, []))
    const client = new Api({ keys: memoryKeys(), fetch })
    await client.forecastPeriods({ category: 'a/b', modelType: 'all', startDate: null, endDate: null }, 'month')
    await client.history('a/b', null, null, 'week')
    await client.history('a/b', null, null)
    expect(fetch.mock.calls.map((c) => String((c as unknown[])[0]))).toEqual([
      'forecast-data?category=a%2Fb&model_type=all&grain=month&limit=10000&offset=0',
      'categories/a%2Fb/history?grain=week', 'categories/a%2Fb/history',
    ])
  })

  it('PUTs the targets as a JSON object', async () => {
    const fetch = vi.fn(async (_url: RequestInfo | URL, _init?: RequestInit) => jsonResponse(200, { '2023-03': 500 }))
    await new Api({ keys: memoryKeys(), fetch }).saveCategoryTargets('north', { '2023-03': 500 })
    expect(fetch.mock.calls[0]![0]).toBe('categories/north/targets')
    expect(fetch.mock.calls[0]![1]).toMatchObject({ method: 'PUT', body: '{"2023-03":500}' })
  })
})

describe('MonthlyTable', () => {
  it('shows each month with its days, total, intervals, target and gap', () => {
    const wrapper = mount(MonthlyTable, { props: { rows: monthRows([MARCH, APRIL], 'recommended') } })
    const march = wrapper.get('tr[data-month="2023-03"]')
    expect(march.get('th').text()).toBe('March 2023')
    expect(march.get('.actual').text()).toBe('150')
    expect(march.get('.total').text()).toBe('470')
    expect(march.get('.target').text()).toBe('500')
    expect(march.get('.gap').text()).toBe('-30 (-6.0%)')
    const april = wrapper.get('tr[data-month="2023-04"]')
    expect(april.get('.days').text()).toBe('14 forecast of 30 days (part of the month)')
    expect(april.get('.gap').text()).toBe('—')
  })
})

describe('TargetsForm', () => {
  beforeEach(() => {
    api.categoryTargets.mockReset()
    api.saveCategoryTargets.mockReset()
  })

  it('saves a target typed for a forecast month and says so', async () => {
    api.categoryTargets.mockResolvedValue({})
    api.saveCategoryTargets.mockResolvedValue({ '2023-03': 500 })
    const wrapper = mount(TargetsForm, { props: { category: 'north', months: ['2023-03', '2023-04'] } })
    await flushPromises()
    expect(wrapper.findAll('.target-row').map((row) => row.attributes('data-month'))).toEqual(['2023-03', '2023-04'])
    await wrapper.get('input[aria-label="Target for 2023-03"]').setValue('500')
    await wrapper.get('.save-targets').trigger('click')
    await flushPromises()
    expect(api.saveCategoryTargets).toHaveBeenCalledWith('north', { '2023-03': 500 })
    expect(wrapper.get('.targets-notice').text()).toBe('Saved 1 monthly target(s).')
    expect(wrapper.emitted('saved')).toHaveLength(1)
  })

  it('shows a refusal in the API\'s own words', async () => {
    api.categoryTargets.mockResolvedValue({})
    api.saveCategoryTargets.mockRejectedValue(new ApiError(400, "target '2023-03': the target must be 0 or more, got -5"))
    const wrapper = mount(TargetsForm, { props: { category: 'north', months: ['2023-03'] } })
    await flushPromises()
    await wrapper.get('input[aria-label="Target for 2023-03"]').setValue('-5')
    await wrapper.get('.save-targets').trigger('click')
    await flushPromises()
    expect(wrapper.get('.targets-notice').text()).toBe("target '2023-03': the target must be 0 or more, got -5")
    expect(wrapper.get('.targets-notice').classes()).toContain('error')
    expect(wrapper.emitted('saved')).toBeUndefined()
  })
})
