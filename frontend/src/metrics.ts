// The backtest metrics as the page lists them.
import type { ForecastMetric } from './types'
import { RECOMMENDED } from './types'

/** The metric rows with the recommended forecast's first, the others in the API's order (by model type). */
export function orderMetrics(rows: ForecastMetric[]): ForecastMetric[] {
  return [...rows.filter((m) => m.model_type === RECOMMENDED), ...rows.filter((m) => m.model_type !== RECOMMENDED)]
}

/** How the run built its recommended forecast, from its metrics row, else from the category; null when unknown. */
export function recommendedMethod(rows: ForecastMetric[], fallback: string | null | undefined): string | null {
  return rows.find((m) => m.model_type === RECOMMENDED)?.method ?? fallback ?? null
}
