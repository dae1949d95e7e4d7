// How numbers, dates and sizes read on the page.

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 })

/** A count with thousands separators; an em dash for none. */
export function count(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : integer.format(value)
}

/** A metric with up to `digits` decimals; an em dash when it could not be computed. */
export function decimal(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—'
  return value.toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** A share 0..1 as a percentage. */
export function percent(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—'
  return `${(value * 100).toFixed(digits)}%`
}

/** Bytes as B, KB, MB or GB. */
export function bytes(value: number): string {
  const units = ['B', 'KB', 'MB', 'GB']
  let size = value
  let unit = 0
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024
    unit++
  }
  return `${unit === 0 ? size : size.toFixed(1)} ${units[unit]}`
}

/** An ISO timestamp from the API (UTC, no zone) as local date and time. */
export function timestamp(value: string | null | undefined): string {
  if (!value) return '—'
  const date = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(value) ? value : `${value}Z`)
  if (Number.isNaN(date.getTime())) return value
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}

/** How long from one ISO timestamp to another (or to now), as "12 s" or "3 min 4 s". */
export function duration(from: string | null, to: string | null): string {
  if (!from) return '—'
  const ms = (to ? Date.parse(`${to}Z`) : Date.now()) - Date.parse(`${from}Z`)
  if (!Number.isFinite(ms) || ms < 0) return '—'
  const seconds = Math.round(ms / 1000)
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`
}
