// Weekly and monthly views as the page shows them: period rows for the chart, the monthly table, the targets form.
import type { ForecastPeriod, ForecastRow, Grain, HistoryPoint, ModelType, Targets } from './types'

/** Days of history the chart opens on, per grain (three months of days, half a year of weeks, two years of months,
 * four years of quarters). */
export const OPENING_DAYS: Record<Grain, number> = { day: 90, week: 182, month: 730, quarter: 1461 }

/** The chart's history per period: the periods whose every day is stored (a part of a month would read as a dip). */
export function wholeHistory(points: HistoryPoint[]): HistoryPoint[] {
  return points.filter((p) => p.days === undefined || p.days === p.days_in_period)
}

const plus = (actual: number | null, value: number | null): number | null => (value === null ? null : (actual ?? 0) + value)

/** Period rows as the chart draws forecast rows: each whole period's total, its interval moved up by the actual so
 * far (a period the horizon cuts is left to the table, which says how many days it holds). */
export function periodChartRows(periods: ForecastPeriod[]): ForecastRow[] {
  return periods.filter((p) => p.complete).map((p, index) => ({
    id: index, forecast_date: p.forecast_date, category: p.category, model_type: p.model_type, batch_num: p.batch_num,
    run_id: p.run_id, forecast_value: p.total, lower_bound: plus(p.actual, p.lower_bound), upper_bound: plus(p.actual, p.upper_bound),
    p10: plus(p.actual, p.p10), p50: p.total, p90: plus(p.actual, p.p90),
  }))
}

/** A month of the monthly table: what is stored, what is forecast, the total with its intervals, target and gap. */
export interface MonthRow {
  month: string
  label: string
  days: string
  complete: boolean
  actual: number | null
  forecast: number
  total: number
  low80: number | null
  high80: number | null
  low95: number | null
  high95: number | null
  target: number | null
  gap: number | null
  gapShare: number | null
}

/** "March 2023" for a month's first day (YYYY-MM-DD). */
export function monthLabel(day: string): string {
  return new Date(`${day.slice(0, 7)}-01T00:00:00Z`).toLocaleDateString('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' })
}

/** Which days of the month the row holds, in words: "16 forecast + 15 actual of 31 days". */
export function daysText(p: ForecastPeriod): string {
  const held = p.actual_days ? `${p.days} forecast + ${p.actual_days} actual` : `${p.days} forecast`
  return `${held} of ${p.days_in_period} days`
}

/** The monthly table of one model's month rows (the highlighted forecast), in month order. */
export function monthRows(periods: ForecastPeriod[], model: ModelType | null): MonthRow[] {
  return periods.filter((p) => p.model_type === model).map((p) => ({
    month: p.forecast_date.slice(0, 7), label: monthLabel(p.forecast_date), days: daysText(p), complete: p.complete,
    actual: p.actual, forecast: p.forecast_value, total: p.total,
    low80: plus(p.actual, p.p10), high80: plus(p.actual, p.p90),
    low95: plus(p.actual, p.lower_bound), high95: plus(p.actual, p.upper_bound),
    target: p.target ?? null, gap: p.gap ?? null, gapShare: p.gap_share ?? null,
  }))
}

/** A row of the targets form: a month (YYYY-MM) and the target as typed. */
export interface TargetDraft {
  key: number
  month: string
  /** As typed (a number input's v-model may hand over a number). */
  target: string | number
}

/** The form's rows: each stored target, then each forecast month without one (blank), in month order. */
export function toTargetDrafts(targets: Targets, months: string[]): TargetDraft[] {
  const all = [...new Set([...Object.keys(targets), ...months])].sort()
  return all.map((month, key) => ({ key, month, target: month in targets ? String(targets[month]) : '' }))
}

/** The PUT body of the form: each month with a target typed (a blank row is no target; other text goes as typed,
 * for the API to name what is wrong with it). */
export function targetsBody(drafts: TargetDraft[]): Record<string, number | string> {
  const body: Record<string, number | string> = {}
  for (const { month, target } of drafts) {
    const text = String(target).trim()
    if (!text) continue
    body[month] = Number.isFinite(Number(text)) ? Number(text) : text
  }
  return body
}

/** Whether the form differs from the stored targets. */
export function targetsChanged(saved: Targets, drafts: TargetDraft[]): boolean {
  const body = targetsBody(drafts)
  const keys = Object.keys(body)
  return keys.length !== Object.keys(saved).length || keys.some((k) => body[k] !== saved[k])
}
