// The forecast chart's ECharts option, built from the API's rows: history, each model's line and band,
// and the highlighted forecast (the recommended one) on top with its 10-90% band.
import type { ForecastRow, HistoryPoint, ModelType } from './types'
import { MODEL_TYPES, RECOMMENDED } from './types'

export const MODEL_LABELS: Record<ModelType, string> = {
  recommended: 'Recommended', holt_winters: 'Holt-Winters', sarimax: 'SARIMAX', prophet: 'Prophet',
  auto_ets: 'AutoETS', auto_theta: 'AutoTheta', mstl: 'MSTL', naive: 'Naive', ensemble: 'Ensemble',
}

export const MODEL_COLORS: Record<ModelType, string> = {
  recommended: '#c2255c', holt_winters: '#2f6fed', sarimax: '#e8590c', prophet: '#0c9f6e', auto_ets: '#1098ad',
  auto_theta: '#f08c00', mstl: '#7048e8', naive: '#868e96', ensemble: '#ae3ec9',
}

export const HISTORY_LABEL = 'History'

/** Colours of the page the chart sits on (light or dark). */
export interface ChartTheme {
  text: string
  muted: string
  grid: string
  history: string
  tooltipBackground: string
}

export const LIGHT_CHART: ChartTheme = {
  text: '#1d2433', muted: '#5b6478', grid: '#e3e7ef', history: '#3b4252', tooltipBackground: '#ffffff',
}
export const DARK_CHART: ChartTheme = {
  text: '#e6e9f0', muted: '#a3abbd', grid: '#2c3344', history: '#d8dee9', tooltipBackground: '#1b2130',
}

export interface ChartInput {
  history: HistoryPoint[]
  forecasts: ForecastRow[]
  /** The forecast drawn highlighted: `recommended` when the run has it, else (an older run) its best model. */
  highlighted: ModelType | null
  theme: ChartTheme
  /** Days of history shown before the forecast when the chart opens (the rest is a zoom away). */
  initialHistoryDays?: number
  /** Mark each value with a dot: weekly and monthly totals are few, and a lone period is a point, not a line. */
  points?: boolean
}

const DAY_MS = 86_400_000

/** The name a model goes by in the chart and its legend: the recommended forecast by its own name,
 * a best model highlighted in its place (a run made before recommended forecasts) says so. */
export function seriesName(model: ModelType, highlighted: ModelType | null): string {
  return model === highlighted && model !== RECOMMENDED ? `${MODEL_LABELS[model]} ★ best` : MODEL_LABELS[model]
}

/** The forecast to highlight: the recommended one when the rows hold it, else the best model (or none). */
export function highlightedModel(rows: ForecastRow[], best: ModelType | null): ModelType | null {
  return rows.some((r) => r.model_type === RECOMMENDED) ? RECOMMENDED : best
}

/** Forecast rows per model, in the models' fixed order (recommended first), each by day. */
export function byModel(rows: ForecastRow[]): [ModelType, ForecastRow[]][] {
  return MODEL_TYPES.map((model): [ModelType, ForecastRow[]] => [
    model,
    rows.filter((r) => r.model_type === model).sort((a, b) => a.forecast_date.localeCompare(b.forecast_date)),
  ]).filter(([, list]) => list.length > 0)
}

type Bounds = (r: ForecastRow) => [number | null | undefined, number | null | undefined]

/** A band as ECharts stacks it: an invisible base line (`ids[0]`), then (upper - lower) filled above it; '-' is a gap. */
function bandSeries(model: ModelType, rows: ForecastRow[], name: string, ids: [string, string], bounds: Bounds, opacity: number): object[] {
  const common = { type: 'line', name, stack: `${ids[1]}-${model}`, symbol: 'none', silent: true, lineStyle: { opacity: 0 }, z: 1 }
  const known = rows.map((r): [string, number, number] | [string, null, null] => {
    const [low, high] = bounds(r)
    return low == null || high == null ? [r.forecast_date, null, null] : [r.forecast_date, low, high]
  })
  return [
    { ...common, id: `${model}:${ids[0]}`, data: known.map(([day, low]) => [day, low ?? '-']) },
    {
      ...common, id: `${model}:${ids[1]}`, areaStyle: { color: MODEL_COLORS[model], opacity },
      data: known.map(([day, low, high]) => [day, low === null || high === null ? '-' : high - low]),
    },
  ]
}

const interval: Bounds = (r) => [r.lower_bound, r.upper_bound]
const quantiles: Bounds = (r) => [r.p10, r.p90]

/** The marker of a line's values: none for days, a dot for weekly and monthly totals. */
const marker = (points: boolean) => (points ? { symbol: 'circle', symbolSize: 7 } : { symbol: 'none' })

function modelSeries(model: ModelType, rows: ForecastRow[], highlighted: ModelType | null, points = false): object[] {
  const name = seriesName(model, highlighted)
  const strong = model === highlighted
  const line = {
    type: 'line', id: `${model}:line`, name, ...marker(points), z: strong ? 5 : 3,
    color: MODEL_COLORS[model],
    lineStyle: { width: strong ? 3.5 : 1.5, type: model === 'ensemble' || model === 'naive' ? 'dashed' : 'solid' },
    data: rows.map((r) => [r.forecast_date, r.forecast_value]),
  }
  // The highlighted forecast: its wide interval and, darker inside it, its 10-90% band. The others: a faint interval.
  const bands = bandSeries(model, rows, name, ['lower', 'band'], interval, strong ? 0.12 : 0.05)
  const inner = strong && rows.some((r) => r.p10 != null && r.p90 != null)
    ? bandSeries(model, rows, name, ['p10', 'quantiles'], quantiles, 0.28) : []
  const whiskers = strong && points ? [whiskerSeries(model, rows, name, 'whisker', interval, 2), whiskerSeries(model, rows, name, 'whisker80', quantiles, 6)] : []
  return [...bands, ...inner, ...whiskers, line]
}

/** Each total's interval as a vertical bar at its period: a band needs two periods, a month's forecast may be one. */
function whiskerSeries(model: ModelType, rows: ForecastRow[], name: string, id: string, bounds: Bounds, width: number): object {
  const data = rows.flatMap((r): [string, number | string][] => {
    const [low, high] = bounds(r)
    return low == null || high == null ? [] : [[r.forecast_date, low], [r.forecast_date, high], [r.forecast_date, '-']]
  })
  return {
    type: 'line', id: `${model}:${id}`, name, symbol: 'none', silent: true, z: 4, color: MODEL_COLORS[model],
    lineStyle: { width, opacity: 0.45, cap: 'butt' }, data,
  }
}

function historySeries(history: HistoryPoint[], theme: ChartTheme, points = false): object {
  const last = history[history.length - 1]
  return {
    type: 'line', id: 'history', name: HISTORY_LABEL, ...marker(points), z: 2, color: theme.history,
    lineStyle: { width: 1.2 }, data: history.map((p) => [p.date, p.sales]),
    markLine: last ? {
      silent: true, symbol: 'none', label: { formatter: 'forecast →', color: theme.muted, position: 'insideEndTop' },
      lineStyle: { color: theme.muted, type: 'dotted' }, data: [{ xAxis: last.date }],
    } : undefined,
  }
}

/** The window the chart opens on: the last `days` of history and the whole forecast. */
export function initialWindow(history: HistoryPoint[], forecasts: ForecastRow[], days: number): [number, number] | null {
  const dates = [...history.map((p) => p.date), ...forecasts.map((r) => r.forecast_date)].map((d) => Date.parse(d))
  if (dates.length === 0) return null
  const end = Math.max(...dates)
  const lastHistory = history.length ? Date.parse(history[history.length - 1]!.date) : end
  return [Math.max(Math.min(...dates), lastHistory - days * DAY_MS), end]
}

/** Room either side of totals: a twentieth of the span (at least a day). */
const margin = (min: number, max: number) => Math.max((max - min) / 20, DAY_MS)

/** The axis end `side` (-1 the start, 1 the end) moved out by the margin. */
const padded = (side: -1 | 1) => (extent: { min: number; max: number }) =>
  (side < 0 ? extent.min : extent.max) + side * margin(extent.min, extent.max)

/** The opening window, with the margin either side when the chart shows totals. */
function widened(window: [number, number] | null, points: boolean): [number, number] | null {
  if (!window || !points) return window
  const room = margin(window[0], window[1])
  return [window[0] - room, window[1] + room]
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
const formatNumber = (value: number) => value.toLocaleString(undefined, { maximumFractionDigits: 1 })

/** The tooltip of one day: the history value, each model's value with its interval (and 10-90% when it has one). */
export function tooltipHtml(day: string, history: HistoryPoint[], forecasts: ForecastRow[], highlighted: ModelType | null): string {
  const lines = [`<strong>${escapeHtml(day)}</strong>`]
  const actual = history.find((p) => p.date === day)
  if (actual) lines.push(`${HISTORY_LABEL}: ${formatNumber(actual.sales)}`)
  for (const row of forecasts.filter((r) => r.forecast_date === day)) {
    const band = row.lower_bound !== null && row.upper_bound !== null
      ? ` <span style="opacity:.7">[${formatNumber(row.lower_bound)} – ${formatNumber(row.upper_bound)}]</span>` : ''
    const inner = row.p10 != null && row.p90 != null
      ? ` <span style="opacity:.7">10–90%: ${formatNumber(row.p10)} – ${formatNumber(row.p90)}</span>` : ''
    const swatch = `<span style="display:inline-block;width:8px;height:8px;border-radius:50%;background:${MODEL_COLORS[row.model_type]}"></span>`
    const name = escapeHtml(seriesName(row.model_type, highlighted))
    const text = `${name}: ${formatNumber(row.forecast_value)}${band}${inner}`
    lines.push(`${swatch} ${row.model_type === highlighted ? `<strong>${text}</strong>` : text}`)
  }
  return lines.join('<br>')
}

function axisDay(params: unknown): string {
  const first = (Array.isArray(params) ? params[0] : params) as { axisValue?: number | string } | undefined
  const value = first?.axisValue
  return value === undefined ? '' : new Date(typeof value === 'number' ? value : Date.parse(value)).toISOString().slice(0, 10)
}

/** The whole chart option: history, bands + a line per model (the highlighted one on top), zoom, themed axes. */
export function buildChartOption(input: ChartInput): Record<string, unknown> {
  const { history, forecasts, highlighted, theme } = input
  const models = byModel(forecasts)
  const window = widened(initialWindow(history, forecasts, input.initialHistoryDays ?? 90), Boolean(input.points))
  const axis = { axisLine: { lineStyle: { color: theme.grid } }, axisLabel: { color: theme.muted, hideOverlap: true }, splitLine: { lineStyle: { color: theme.grid } } }
  return {
    animation: false,
    backgroundColor: 'transparent',
    textStyle: { color: theme.text },
    grid: { left: 56, right: 20, top: 24, bottom: 72, containLabel: false },
    legend: { show: false, data: [HISTORY_LABEL, ...models.map(([m]) => seriesName(m, highlighted))] },
    tooltip: {
      trigger: 'axis', backgroundColor: theme.tooltipBackground, borderColor: theme.grid, textStyle: { color: theme.text },
      formatter: (params: unknown) => tooltipHtml(axisDay(params), history, forecasts, highlighted),
    },
    // Totals are few: a little room either side, so that the first and last periods are not on the chart's edge.
    xAxis: { type: 'time', ...axis, splitLine: { show: false }, ...(input.points ? { min: padded(-1), max: padded(1) } : {}) },
    yAxis: { type: 'value', scale: false, ...axis },
    dataZoom: [
      { type: 'inside', xAxisIndex: 0, filterMode: 'none', ...(window ? { startValue: window[0], endValue: window[1] } : {}) },
      {
        type: 'slider', xAxisIndex: 0, filterMode: 'none', height: 28, bottom: 12, textStyle: { color: theme.muted },
        borderColor: theme.grid, ...(window ? { startValue: window[0], endValue: window[1] } : {}),
      },
    ],
    series: [historySeries(history, theme, input.points), ...models.flatMap(([model, rows]) => modelSeries(model, rows, highlighted, input.points))],
  }
}
