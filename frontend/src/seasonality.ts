// The seasonality panel: the API's weekday and month factors as bars around 1, with the weeks or years behind each.
import type { ChartTheme } from './chart'

export interface WeekdayFactor { weekday: string; factor: number; weeks: number }
export interface MonthFactor { month: number; name: string; factor: number; years: number }
export interface SeasonalProfile<F> {
  factors: F[]
  /** Share of the detrended variation the season accounts for (adjusted R²); null with one year of months. */
  variance_explained: number | null
  method: string
}

/** GET /categories/<name>/seasonality. */
export interface Seasonality {
  category: string
  grain: 'day' | 'week' | 'month' | 'quarter' | null
  first_date: string
  last_date: string
  weekday: SeasonalProfile<WeekdayFactor> | null
  weekday_reason: string | null
  month: SeasonalProfile<MonthFactor> | null
  month_reason: string | null
}

/** One bar: a weekday or a month, its factor and how many weeks or years are behind it. */
export interface FactorBar {
  label: string
  name: string
  factor: number
  count: number
  unit: 'week' | 'year'
}

export type Season = 'weekday' | 'month'

/** The weekday factors as bars, Monday first. */
export function weekdayBars(profile: SeasonalProfile<WeekdayFactor>): FactorBar[] {
  return profile.factors.map((f) => ({ label: f.weekday.slice(0, 3), name: f.weekday, factor: f.factor, count: f.weeks, unit: 'week' }))
}

/** The month factors as bars, January first. */
export function monthBars(profile: SeasonalProfile<MonthFactor>): FactorBar[] {
  return profile.factors.map((f) => ({ label: f.name.slice(0, 3), name: f.name, factor: f.factor, count: f.years, unit: 'year' }))
}

const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`

/** A bar in words: "Saturday: 1.45 × an average day (104 weeks)". */
export function factorText(bar: FactorBar): string {
  const period = bar.unit === 'week' ? 'day' : 'month'
  return `${bar.name}: ${bar.factor.toFixed(2)} × an average ${period} (${plural(bar.count, bar.unit)})`
}

/** How many weeks or years are behind the bars: "104 weeks behind each day", or a range when they differ. */
export function countsText(bars: FactorBar[]): string {
  const counts = bars.map((b) => b.count)
  const low = Math.min(...counts)
  const high = Math.max(...counts)
  const unit = bars[0]?.unit ?? 'week'
  const each = unit === 'week' ? 'each weekday' : 'each month'
  return low === high ? `${plural(low, unit)} behind ${each}` : `${low}–${plural(high, unit)} behind ${each}`
}

/** How much the season explains, in words a planner reads: a flat profile says it is flat. */
export function explainedText(share: number | null, season: Season): string {
  const what = season === 'weekday' ? 'The day of the week' : 'The month'
  if (share === null) return `${what}'s share of the variation needs two years or more: with one, each factor is indicative only.`
  const percent = `${Math.round(share * 100)}%`
  if (share < 0.05) return `Flat: ${what.toLowerCase()} explains almost none (${percent}) of the variation around the trend.`
  return `${what} explains ${percent} of the variation around the trend.`
}

/** A bar chart of factors around 1: bars above 1 in the accent colour, below it muted, a line at 1 (average). */
export function buildFactorOption(bars: FactorBar[], theme: ChartTheme, accent: string): Record<string, unknown> {
  const axis = { axisLine: { lineStyle: { color: theme.grid } }, axisLabel: { color: theme.muted }, splitLine: { lineStyle: { color: theme.grid } } }
  return {
    animation: false,
    backgroundColor: 'transparent',
    textStyle: { color: theme.text },
    grid: { left: 40, right: 56, top: 16, bottom: 28 },
    tooltip: {
      trigger: 'item', backgroundColor: theme.tooltipBackground, borderColor: theme.grid, textStyle: { color: theme.text },
      formatter: (params: { dataIndex: number }) => factorText(bars[params.dataIndex]!),
    },
    xAxis: { type: 'category', data: bars.map((b) => b.label), ...axis, splitLine: { show: false } },
    yAxis: { type: 'value', min: 0, ...axis },
    series: [{
      type: 'bar', id: 'factors', name: 'Factor', barMaxWidth: 36,
      data: bars.map((b) => ({ value: b.factor, itemStyle: { color: b.factor >= 1 ? accent : theme.muted } })),
      markLine: {
        silent: true, symbol: 'none', lineStyle: { color: theme.text, type: 'dashed' },
        label: { formatter: 'average', color: theme.muted, position: 'end' }, data: [{ yAxis: 1 }],
      },
    }],
  }
}
