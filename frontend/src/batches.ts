// What a batch's statuses mean for the pages that watch it.
import type { Batch } from './types'

/** True once nothing about the batch will change: it failed, or it loaded and its forecasts ended. */
export function batchFinished(batch: Pick<Batch, 'status' | 'forecast_status'>): boolean {
  if (batch.status === 'failed') return true
  return batch.status === 'completed' && (batch.forecast_status === 'completed' || batch.forecast_status === 'failed')
}
