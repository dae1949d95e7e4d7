import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { LIGHT_CHART } from '../src/chart'
import { charts, FakeResizeObserver } from './fakeCharts'
import { buildFactorOption, countsText, explainedText, factorText, monthBars, weekdayBars, type Seasonality } from '../src/seasonality'

const api = vi.hoisted(() => ({ seasonality: vi.fn() }))
vi.mock('../src/client', () => ({ api, keys: { get: () => null, set: () => {} } }))
vi.mock('../src/echarts', () => import('./fakeCharts'))
vi.stubGlobal('ResizeObserver', FakeResizeObserver)

const { default: SeasonalityPanel } = await import('../src/components/SeasonalityPanel.vue')

const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']

const daily: Seasonality = {
  category: 'store-1', grain: 'day', first_date: '2016-01-01', last_date: '2017-12-31',
  weekday: { factors: DAYS.map((weekday, i) => ({ weekday, factor: i === 5 ? 1.45 : 0.9, weeks: i < 3 ? 105 : 104 })), variance_explained: 0.83, method: 'each day over the centred 7-day mean' },
  weekday_reason: null,
  month: { factors: MONTHS.map((name, i) => ({ month: i + 1, name, factor: i === 6 ? 1.3 : 0.97, years: 1 })), variance_explained: null, method: 'carried flat' },
  month_reason: null,
}
const weekly: Seasonality = { ...daily, grain: 'week', weekday: null, weekday_reason: 'weekly data', month: null, month_reason: 'needs at least one full year of months (12; two or more are better), has 7' }

describe('seasonality in words and bars', () => {
  it('names each bar with its factor and the weeks or years behind it', () => {
    const bars = weekdayBars(daily.weekday!)
    expect(bars.map((b) => b.label)).toEqual(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'])
    expect(factorText(bars[5]!)).toBe('Saturday: 1.45 × an average day (104 weeks)')
    expect(factorText(monthBars(daily.month!)[0]!)).toBe('January: 0.97 × an average month (1 year)')
  })

  it('gives the counts behind the bars, as a range when they differ', () => {
    expect(countsText(weekdayBars(daily.weekday!))).toBe('104–105 weeks behind each weekday')
    expect(countsText(monthBars(daily.month!))).toBe('1 year behind each month')
  })

  it('says a flat profile is flat, and that one year of months is indicative', () => {
    expect(explainedText(0.02, 'weekday')).toContain('Flat')
    expect(explainedText(0.83, 'weekday')).toBe('The day of the week explains 83% of the variation around the trend.')
    expect(explainedText(null, 'month')).toContain('indicative only')
  })

  it('draws one bar per factor from 0 with a line at 1, above-average bars in the accent colour', () => {
    const option = buildFactorOption(weekdayBars(daily.weekday!), LIGHT_CHART, '#00f') as {
      series: { type: string; data: { value: number; itemStyle: { color: string } }[]; markLine: { data: { yAxis: number }[] } }[]
      yAxis: { min: number }; xAxis: { data: string[] }
    }
    const bars = option.series[0]!
    expect(bars.type).toBe('bar')
    expect(bars.data.map((d) => d.value)).toEqual([0.9, 0.9, 0.9, 0.9, 0.9, 1.45, 0.9])
    expect(bars.data[5]!.itemStyle.color).toBe('#00f')
    expect(bars.data[0]!.itemStyle.color).toBe(LIGHT_CHART.muted)
    expect(bars.markLine.data).toEqual([{ yAxis: 1 }])
    expect(option.yAxis.min).toBe(0)
  })
})

describe('SeasonalityPanel', () => {
  it('draws seven weekday bars and twelve month bars with their figures', async () => {
    api.seasonality.mockResolvedValue(daily)
    charts.length = 0
    const wrapper = mount(SeasonalityPanel, { props: { category: 'store-1', version: '3:completed' } })
    await flushPromises()
    expect(api.seasonality).toHaveBeenCalledWith('store-1')
    expect(wrapper.findAll('[data-season="weekday"] tbody tr')).toHaveLength(7)
    expect(wrapper.findAll('[data-season="month"] tbody tr')).toHaveLength(12)
    expect(wrapper.get('[data-season="weekday"] figcaption').text()).toContain('104–105 weeks behind each weekday')
    const drawn = charts.map((c) => (c.options[0] as { series: { data: unknown[] }[] }).series[0]!.data.length)
    expect(drawn).toEqual([7, 12])
    expect(wrapper.get('[data-season="weekday"] [role="img"]').attributes('aria-label')).toContain('Saturday: 1.45')
  })

  it('says why a profile is missing instead of drawing it', async () => {
    api.seasonality.mockResolvedValue(weekly)
    const wrapper = mount(SeasonalityPanel, { props: { category: 'weekly', version: '1:completed' } })
    await flushPromises()
    expect(wrapper.get('[data-season="weekday"] .reason').text()).toBe('No weekday profile: weekly data.')
    expect(wrapper.get('[data-season="month"] .reason').text()).toContain('has 7')
    expect(wrapper.find('[role="img"]').exists()).toBe(false)
  })

  it('reloads when a new run arrives', async () => {
    api.seasonality.mockResolvedValue(daily)
    const wrapper = mount(SeasonalityPanel, { props: { category: 'store-1', version: '3:completed' } })
    await flushPromises()
    const calls = api.seasonality.mock.calls.length
    await wrapper.setProps({ version: '4:completed' })
    await flushPromises()
    expect(api.seasonality.mock.calls.length).toBe(calls + 1)
  })
})
