// The "Forecast vs actual" panel: realised accuracy of past runs (GET /accuracy) as a chart and a table.
import type { ChartTheme } from './chart'

/** One group of GET /accuracy: a day ahead, a run or a date, and one model's scores over it. */
export interface AccuracyGroup {
  days_ahead?: number
  run_id?: number
  date?: string
  /** The scored runs' grain: days_ahead counts its periods. */
  grain: 'day' | 'week' | 'month' | 'quarter'
  model_type: string
  n: number
  mae: number
  mase: number | null
  bias: number
  coverage: number
  actual: number
  forecast: number
}

/** GET /accuracy. */
export interface Accuracy {
  group_by: 'days_ahead' | 'run' | 'date'
  product_id: string | null
  note: string
  groups: AccuracyGroup[]
}

/** A category's drift mark as /categories shows it. */
export interface Drift {
  since: string
  run_id: number
  realised_mase: number
  backtest_mase: number
  ratio: number
  threshold: number
  reason: string
  reforecast_run_id: number | null
}

/** A number for the table: two decimals, or a dash when there is none. */
export function figure(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined ? '–' : value.toFixed(digits)
}

/** A share as a percentage: "67%". */
export function percent(value: number): string {
  return `${Math.round(value * 100)}%`
}

/** The whole of the scores in one line: "30 days scored: MAE 3.10, MASE 0.84, bias -0.40, 93% inside the interval". */
export function summaryText(groups: AccuracyGroup[]): string {
  const n = groups.reduce((sum, g) => sum + g.n, 0)
  if (!n) return 'No day of a past forecast has its actual yet.'
  const mean = (pick: (g: AccuracyGroup) => number) => groups.reduce((sum, g) => sum + pick(g) * g.n, 0) / n
  const scaled = groups.filter((g) => g.mase !== null)
  const mase = scaled.length ? figure(scaled.reduce((s, g) => s + g.mase! * g.n, 0) / scaled.reduce((s, g) => s + g.n, 0)) : '–'
  return `${n} ${n === 1 ? 'day' : 'days'} scored: MAE ${figure(mean((g) => g.mae))}, MASE ${mase}, bias ${figure(mean((g) => g.bias))}, ${percent(mean((g) => g.coverage))} inside the interval`
}

/** A line chart of the actual and the forecast per day, with the day's absolute error as bars on a second axis. */
export function buildAccuracyOption(byDate: AccuracyGroup[], theme: ChartTheme, accent: string): Record<string, unknown> {
  const axis = { axisLine: { lineStyle: { color: theme.grid } }, axisLabel: { color: theme.muted }, splitLine: { lineStyle: { color: theme.grid } } }
  const dates = byDate.map((g) => g.date ?? '')
  return {
    animation: false,
    backgroundColor: 'transparent',
    textStyle: { color: theme.text },
    grid: { left: 56, right: 56, top: 32, bottom: 28 },
    legend: { top: 0, textStyle: { color: theme.muted } },
    tooltip: { trigger: 'axis', backgroundColor: theme.tooltipBackground, borderColor: theme.grid, textStyle: { color: theme.text } },
    xAxis: { type: 'category', data: dates, ...axis, splitLine: { show: false } },
    yAxis: [{ type: 'value', ...axis }, { type: 'value', name: 'abs. error', ...axis, splitLine: { show: false } }],
    series: [
      { type: 'line', id: 'actual', name: 'Actual', data: byDate.map((g) => g.actual), lineStyle: { color: theme.text }, itemStyle: { color: theme.text } },
      { type: 'line', id: 'forecast', name: 'Forecast', data: byDate.map((g) => g.forecast), lineStyle: { color: accent }, itemStyle: { color: accent } },
      { type: 'bar', id: 'error', name: 'MAE', yAxisIndex: 1, data: byDate.map((g) => g.mae), itemStyle: { color: theme.muted, opacity: 0.5 } },
    ],
  }
}
