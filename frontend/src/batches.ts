// What a batch's statuses mean for the pages that watch it.
import type { Batch, ForecastRunCounts, ForecastStatus, ProductRun, UndoAnswer } from './types'

/** Forecast roll-ups that no longer change. */
export const FORECASTS_ENDED: readonly ForecastStatus[] = ['completed', 'partial', 'failed']

/** True once nothing about the batch will change: it failed, or it loaded and its forecasts and products ended. */
export function batchFinished(batch: Pick<Batch, 'status' | 'forecast_status'> & Pick<Partial<Batch>, 'product_runs'>): boolean {
  if (batch.status === 'failed') return true
  const productsBusy = (batch.product_runs ?? []).some((r) => r.product_status === 'queued' || r.product_status === 'running')
  return batch.status === 'completed' && batch.forecast_status !== null && FORECASTS_ENDED.includes(batch.forecast_status) &&
    !productsBusy
}

/** A run's products in words: '350 of 500 products, 3 skipped', then how they were reconciled, or its note. */
export function productRunText(run: ProductRun): string {
  if (run.product_status === null) return run.product_note ?? 'category only'
  const parts = [`${run.products_done ?? 0} of ${run.products_total ?? 0} products`]
  if (run.products_skipped) parts.push(`${run.products_skipped} skipped`)
  if (run.product_status === 'completed' && run.reconciliation) parts.push(`reconciled by ${run.reconciliation}`)
  if (run.product_status === 'queued') parts.push('queued')
  if (run.product_status === 'failed') parts.push(`failed${run.product_note ? `: ${run.product_note}` : ''}`)
  return parts.join(', ')
}

/** A run's product progress from 0 to 1 (1 for a run without product jobs). */
export function productProgress(run: ProductRun): number {
  return run.products_total ? (run.products_done ?? 0) / run.products_total : 1
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
