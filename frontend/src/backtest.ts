// The backtest chart: what each model forecast for the held-back windows of history, against what happened.
import { type ChartTheme, MODEL_COLORS, MODEL_LABELS, seriesName } from './chart'
import { MODEL_TYPES, type ModelType } from './types'

export interface BacktestForecast { forecast_date: string; forecast_value: number; lower_bound: number; upper_bound: number }
export interface BacktestModel {
  model_type: ModelType
  mae: number | null
  rmse: number | null
  smape: number | null
  coverage: number | null
  forecasts: BacktestForecast[]
}
export interface BacktestWindow {
  /** The last day the models were trained on. */
  origin: string
  start: string
  end: string
  actuals: { date: string; actual: number | null }[]
  models: BacktestModel[]
}

/** GET /forecast-backtests. */
export interface Backtests {
  category: string
  run_id: number | null
  note: string | null
  windows: BacktestWindow[]
}

export const ACTUAL_LABEL = 'Actual'

/** Every model with a backtest, in the fixed model order (recommended first). */
export function backtestModels(backtests: Backtests): ModelType[] {
  const present = new Set(backtests.windows.flatMap((w) => w.models.map((m) => m.model_type)))
  return MODEL_TYPES.filter((m) => present.has(m))
}

/** The x axis: each window's days in turn, with an empty slot between windows so that no line joins two. */
export function axisDays(windows: BacktestWindow[]): string[] {
  return windows.flatMap((w, i) => [...(i ? [''] : []), ...w.actuals.map((a) => a.date)])
}

type Cell = number | '-'

/** Values along the axis, window by window: `pick` gives a window's values by day ('-' where it has none). */
function along(windows: BacktestWindow[], pick: (w: BacktestWindow) => Map<string, number | null>): Cell[] {
  return windows.flatMap((w, i) => {
    const values = pick(w)
    return [...(i ? ['-' as const] : []), ...w.actuals.map((a) => values.get(a.date) ?? '-')]
  })
}

function modelValues(model: ModelType): (w: BacktestWindow) => Map<string, number | null> {
  return (w) => new Map((w.models.find((m) => m.model_type === model)?.forecasts ?? []).map((f) => [f.forecast_date, f.forecast_value]))
}

/** A window's label: where its models' training ended and how the highlighted one did there. */
export function windowLabel(window: BacktestWindow, highlighted: ModelType | null): string {
  const model = window.models.find((m) => m.model_type === highlighted)
  const score = model?.mae != null ? ` · ${MODEL_LABELS[model.model_type]} MAE ${model.mae.toLocaleString(undefined, { maximumFractionDigits: 1 })}` : ''
  return `trained to ${window.origin}${score}`
}

export interface BacktestInput {
  backtests: Backtests
  highlighted: ModelType | null
  /** Series names switched off in the legend. */
  hidden: Set<string>
  theme: ChartTheme
}

/** The chart option: the actuals, then a line per shown model (the highlighted one thick), each window shaded. */
export function buildBacktestOption(input: BacktestInput): Record<string, unknown> {
  const { backtests, highlighted, hidden, theme } = input
  const windows = backtests.windows
  const days = axisDays(windows)
  let offset = 0
  const areas = windows.map((w, i) => {
    const first = offset + (i ? 1 : 0)
    offset = first + w.actuals.length
    return [{ xAxis: first, name: windowLabel(w, highlighted) }, { xAxis: offset - 1 }]
  })
  const actual = {
    type: 'line', id: 'actual', name: ACTUAL_LABEL, symbol: 'circle', symbolSize: 4, z: 4, color: theme.history,
    lineStyle: { width: 1.5 }, data: along(windows, (w) => new Map(w.actuals.map((a) => [a.date, a.actual]))),
    markArea: {
      silent: true, itemStyle: { color: theme.grid, opacity: 0.35 },
      label: { color: theme.muted, position: 'insideTop', fontSize: 11 }, data: areas,
    },
  }
  const models = backtestModels(backtests).filter((m) => !hidden.has(seriesName(m, highlighted))).map((model) => ({
    type: 'line', id: model, name: seriesName(model, highlighted), symbol: 'none', z: model === highlighted ? 5 : 3,
    color: MODEL_COLORS[model], lineStyle: { width: model === highlighted ? 3 : 1.5, type: model === 'ensemble' || model === 'naive' ? 'dashed' : 'solid' },
    data: along(windows, modelValues(model)),
  }))
  const axis = { axisLine: { lineStyle: { color: theme.grid } }, axisLabel: { color: theme.muted, hideOverlap: true }, splitLine: { lineStyle: { color: theme.grid } } }
  return {
    animation: false,
    backgroundColor: 'transparent',
    textStyle: { color: theme.text },
    grid: { left: 56, right: 20, top: 28, bottom: 40 },
    tooltip: { trigger: 'axis', backgroundColor: theme.tooltipBackground, borderColor: theme.grid, textStyle: { color: theme.text } },
    xAxis: { type: 'category', data: days, boundaryGap: false, ...axis, splitLine: { show: false } },
    yAxis: { type: 'value', ...axis },
    series: hidden.has(ACTUAL_LABEL) ? [{ ...actual, data: actual.data.map(() => '-'), lineStyle: { opacity: 0 }, symbol: 'none' }, ...models]
      : [actual, ...models],
  }
}

/** The chart in words, for its accessible label. */
export function backtestSummary(backtests: Backtests, highlighted: ModelType | null): string {
  const days = backtests.windows.reduce((n, w) => n + w.actuals.length, 0)
  const models = backtestModels(backtests).map((m) => seriesName(m, highlighted)).join(', ')
  return `Backtest of ${models} on ${backtests.windows.length} held-back window(s), ${days} days of actuals.`
}
