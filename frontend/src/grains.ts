// A category's grain and horizon settings: the choices, their limits and what a save says.
import type { Category, CategorySettings, Grain, SettingsChange } from './types'

/** The grains a category can be forecast at, finest first, with the default horizon and the largest. */
export const GRAINS: { value: Grain; label: string; unit: string; horizon: number; max: number }[] = [
  { value: 'day', label: 'Days', unit: 'days', horizon: 30, max: 366 },
  { value: 'week', label: 'Weeks', unit: 'weeks', horizon: 13, max: 104 },
  { value: 'month', label: 'Months', unit: 'months', horizon: 12, max: 36 },
  { value: 'quarter', label: 'Quarters', unit: 'quarters', horizon: 8, max: 12 },
]

/** The horizon field's hint: its unit, default and range for a grain ('' : the detected grain's). */
export function horizonHint(grain: Grain | ''): string {
  const found = GRAINS.find((g) => g.value === grain)
  if (!found) return 'Periods of the detected grain; blank for its default (30 days, 13 weeks, 12 months).'
  return `In ${found.unit}, 1 to ${found.max}; blank for ${found.horizon}.`
}

/** The body that saves the grain form: null for "as detected" and for a blank horizon. */
export function grainChange(grain: Grain | '', horizon: string | number): SettingsChange {
  const text = String(horizon).trim()
  return { grain: grain || null, horizon: text === '' ? null : Number(text) }
}

/** Whether the grain form differs from the saved settings. */
export function grainChanged(saved: CategorySettings | null, grain: Grain | '', horizon: string | number): boolean {
  if (saved === null) return false
  const change = grainChange(grain, horizon)
  return (saved.grain ?? null) !== change.grain || (saved.horizon ?? null) !== change.horizon
}

/** What the page says after a grain save: the refresh the server queued, or why none was. */
export function grainSavedText(answer: CategorySettings): string {
  if (answer.refresh_queued === undefined) return 'Saved; nothing changed, so no refresh was needed.'
  const runs = (answer.runs ?? []).map((r) => `#${r}`).join(', ')
  return answer.refresh_queued
    ? `Saved. A forecast refresh was queued (run ${runs}); the chart updates when it ends.`
    : `Saved. ${answer.message ?? 'The refresh will be queued when the queue is back.'}`
}

const ADJECTIVES: Record<Grain, string> = { day: 'daily', week: 'weekly', month: 'monthly', quarter: 'quarterly' }

/** A category's grain as the picker shows it: "weekly (Monday)", "monthly", "grain unclear"; '' before one. */
export function grainLabel(category: Category | undefined): string {
  if (!category) return ''
  if (category.grain_problem) return 'grain unclear'
  if (!category.grain) return ''
  const anchor = category.grain === 'week' && category.grain_anchor ? ` (${category.grain_anchor})` : ''
  return ADJECTIVES[category.grain] + anchor
}
