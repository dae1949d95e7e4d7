// A category's events in the editor: rows being edited, the body sent, and what a save answered in words.
import type { CategoryEvent, EventKind, EventsAnswer } from './types'

/** An editable row; `key` keeps Vue's rows apart while names and days change. */
export interface EventDraft extends CategoryEvent {
  key: number
}

let nextKey = 1

/** The stored events as editable rows. */
export function toDrafts(events: CategoryEvent[]): EventDraft[] {
  return events.map((event) => ({ ...event, key: nextKey++ }))
}

/** A new row: a one-day event on the day after the last row's end (empty days when there is no row). */
export function blankEvent(rows: EventDraft[], kind: EventKind = 'event'): EventDraft {
  const last = rows.at(-1)?.end
  const day = last ? nextDay(last) : ''
  return { key: nextKey++, name: '', start: day, end: day, kind }
}

/** The ISO day after `day` (YYYY-MM-DD), or '' when `day` is not one. */
export function nextDay(day: string): string {
  const parsed = new Date(`${day}T00:00:00Z`)
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(parsed.getTime())) return ''
  parsed.setUTCDate(parsed.getUTCDate() + 1)
  return parsed.toISOString().slice(0, 10)
}

/** The PUT body: each row as {name, start, end, kind}, names trimmed (the API checks the rest and says what is wrong). */
export function eventsBody(rows: EventDraft[]): CategoryEvent[] {
  return rows.map(({ name, start, end, kind }) => ({ name: name.trim(), start, end, kind }))
}

/** True when the rows differ from the stored list (order aside: the API keeps events ordered by start). */
export function eventsChanged(saved: CategoryEvent[], rows: EventDraft[]): boolean {
  const text = (events: CategoryEvent[]) => events.map((e) => JSON.stringify([e.start, e.name, e.end, e.kind])).sort().join('\n')
  return text(saved) !== text(eventsBody(rows))
}

/** What a save came to, in words: how many events are stored and whether a forecast refresh was queued. */
export function savedText(answer: EventsAnswer): string {
  const n = answer.events.length
  const stored = n === 0 ? 'Saved: no events.' : `Saved ${n} event${n === 1 ? '' : 's'}.`
  if (answer.refresh_queued) {
    const runs = answer.runs.map((id) => `#${id}`).join(', ')
    return `${stored} A forecast refresh was queued (run ${runs}) so they take effect; the chart updates when it ends.`
  }
  return answer.message ? `${stored} ${capitalised(answer.message)}.` : stored
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}
