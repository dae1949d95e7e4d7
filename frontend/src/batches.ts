// What a batch's statuses mean for the pages that watch it.
import type { Batch, ForecastRunCounts, ForecastStatus, UndoAnswer } from './types'

/** Forecast roll-ups that no longer change. */
export const FORECASTS_ENDED: readonly ForecastStatus[] = ['completed', 'partial', 'failed']

/** True once nothing about the batch will change: it failed, or it loaded and its forecasts ended. */
export function batchFinished(batch: Pick<Batch, 'status' | 'forecast_status'>): boolean {
  if (batch.status === 'failed') return true
  return batch.status === 'completed' && batch.forecast_status !== null && FORECASTS_ENDED.includes(batch.forecast_status)
}

/** The runs in words: '34 of 38 forecast, 4 failed' (and how many are still to go); '' without runs. */
export function forecastRunsText(runs: ForecastRunCounts | null | undefined): string {
  if (!runs || runs.total === 0) return ''
  const parts = [`${runs.completed} of ${runs.total} forecast`]
  if (runs.failed) parts.push(`${runs.failed} failed`)
  const waiting = runs.running + runs.pending
  if (waiting) parts.push(`${waiting} to go`)
  return parts.join(', ')
}

/** Which sheets or columns of a wide or one-sheet-per-category file became categories; null for a long file. */
export function categorySources(batch: Pick<Batch, 'categories_from' | 'mapping'>): { kind: 'columns' | 'sheets'; names: string[] } | null {
  const from = batch.categories_from
  if (!from) return null
  const fallback = batch.mapping?.sheets_as_categories ? 'sheets' : 'columns'
  if (Array.isArray(from)) return from.length ? { kind: fallback, names: from } : null
  const names = from.sheets ?? from.columns ?? []
  const kind = from.kind ?? (from.sheets ? 'sheets' : from.columns ? 'columns' : fallback)
  return names.length ? { kind, names } : null
}

/** The question asked before an undo: what it changes, and that it cannot itself be taken back. */
export function undoQuestion(id: number): string {
  return `Undo batch ${id}? The rows it added are removed and the values it replaced come back; its categories ` +
    'are forecast again. The batch itself is deleted.'
}

/** An undo in words: 'Batch 7 undone: 1 row removed, 2 restored; 1 category forecast again.' */
export function undoneText(answer: UndoAnswer): string {
  const runs = answer.forecast_run_ids.length
  return `Batch ${answer.batch_num} undone: ${answer.removed_rows} ${answer.removed_rows === 1 ? 'row' : 'rows'} ` +
    `removed, ${answer.restored_rows} restored; ${runs} ${runs === 1 ? 'category' : 'categories'} forecast again.`
}
