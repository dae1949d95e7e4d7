import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { FakeResizeObserver, lastSeries } from './fakeCharts'
import type { Category, ForecastPeriod, ForecastRow } from '../src/types'

const api = vi.hoisted(() => ({
  categories: vi.fn(), history: vi.fn(), forecasts: vi.fn(), metrics: vi.fn(async () => []), forecastPeriods: vi.fn(),
  categoryTargets: vi.fn(async () => ({})), saveCategoryTargets: vi.fn(), categorySettings: vi.fn(async () => ({
    category: 'north', holiday_country: null, holiday_country_overridden: false, default_holiday_country: null, updated_at: null,
  })), categoryEvents: vi.fn(async () => []),
  products: vi.fn(async () => { throw Object.assign(new Error('no product forecast'), { status: 404 }) }),
}))
vi.mock('../src/client', () => ({ api, keys: { get: () => null, set: () => {} } }))
vi.mock('../src/echarts', () => import('./fakeCharts'))
vi.stubGlobal('ResizeObserver', FakeResizeObserver)

const { default: ForecastsView } = await import('../src/components/ForecastsView.vue')

const NORTH: Category = {
  category: 'north', product_count: 1, first_date: '2023-01-02', last_date: '2023-03-15', row_count: 73, best_model: null,
  holiday_country: null, holiday_country_overridden: false, last_run_id: 4, forecast_status: 'completed', recommended_method: null,
}
const DAY: ForecastRow = {
  id: 1, forecast_date: '2023-03-16', category: 'north', model_type: 'recommended', forecast_value: 20, lower_bound: 10,
  upper_bound: 35, batch_num: 1, run_id: 4, p10: 15, p50: 20, p90: 26,
}
const MARCH: ForecastPeriod = {
  forecast_date: '2023-03-01', period_end: '2023-03-31', category: 'north', model_type: 'recommended', run_id: 4, batch_num: 1,
  grain: 'month', days: 16, days_in_period: 31, forecast_start: '2023-03-16', forecast_end: '2023-03-31', forecast_value: 320,
  lower_bound: 250, upper_bound: 420, p10: 290, p50: 320, p90: 360, actual: 150, actual_days: 15, total: 470, complete: true,
  target: 500, gap: -30, gap_share: -0.06,
}

function setUp(): void {
  api.categories.mockResolvedValue([NORTH])
  api.forecasts.mockResolvedValue([DAY])
  api.forecastPeriods.mockResolvedValue([MARCH])
  api.history.mockImplementation(async (_c: string, _s: string | null, _e: string | null, grain = 'day') => (grain === 'month'
    ? [{ date: '2023-01-01', sales: 300, days: 30, days_in_period: 31 }, { date: '2023-02-01', sales: 280, days: 28, days_in_period: 28 }]
    : [{ date: '2023-03-15', sales: 10 }]))
}

const historyData = () => lastSeries('history')
const forecastLine = () => lastSeries('recommended:line')

describe('ForecastsView day / week / month switch', () => {
  it('keeps the daily chart by default and shows the monthly table under it', async () => {
    setUp()
    const wrapper = mount(ForecastsView, { props: { category: 'north', filters: { model: null, start: null, end: null } } })
    await flushPromises()
    expect(historyData()).toEqual([['2023-03-15', 10]])
    expect(forecastLine()).toEqual([['2023-03-16', 20]])
    expect(api.forecastPeriods).toHaveBeenCalledWith(expect.objectContaining({ category: 'north' }), 'month')
    expect(wrapper.get('tr[data-month="2023-03"] .gap').text()).toBe('-30 (-6.0%)')
  })

  it('draws history and forecast per month after switching to Month', async () => {
    setUp()
    const wrapper = mount(ForecastsView, { props: { category: 'north', filters: { model: null, start: null, end: null } } })
    await flushPromises()
    await wrapper.get('input[type="radio"][value="month"]').setValue(true)
    await flushPromises()
    expect(api.history).toHaveBeenLastCalledWith('north', null, null, 'month')
    expect(historyData()).toEqual([['2023-02-01', 280]])  // January is only partly stored: left to the table
    expect(forecastLine()).toEqual([['2023-03-01', 470]])
    expect(wrapper.get('.per-note').text()).toContain("Each point is a month's total")
  })

  it('asks for week sums after switching to Week', async () => {
    setUp()
    const wrapper = mount(ForecastsView, { props: { category: 'north', filters: { model: null, start: null, end: null } } })
    await flushPromises()
    await wrapper.get('input[type="radio"][value="week"]').setValue(true)
    await flushPromises()
    expect(api.forecastPeriods).toHaveBeenLastCalledWith(expect.objectContaining({ category: 'north' }), 'week')
    expect(api.history).toHaveBeenLastCalledWith('north', null, null, 'week')
  })
})
