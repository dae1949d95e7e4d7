// The first rows of a CSV read in the browser: delimiter, columns, sampled cells, and what they suggest
// (which columns are categories of a wide file, decimal commas, the date layout). Pure, except readSample.
import { readWorkbookStart } from './xlsx'

/** The start of a CSV: its delimiter, trimmed column names and the data rows read (cells untrimmed). */
export interface Sample {
  /** The CSV's delimiter; '' for a workbook. */
  delimiter: string
  columns: string[]
  rows: string[][]
  /** A workbook's sheet names (the sample is its first sheet's). */
  sheets?: string[]
}

const DELIMITERS = [',', ';', '\t', '|']
const SAMPLE_BYTES = 64 * 1024
/** Rows kept from the sample: enough to see a day above 12 in M/D dates and a column's numbers. */
export const SAMPLE_ROWS = 200

/** Cells the API reads as a missing value. */
const MISSING = new Set(['', 'na', 'nan', 'null', 'n/a', 'none'])

/** Names of columns that add up the others: never ticked as categories (they would count everything twice). */
const TOTAL_NAMES = new Set(['total', 'totals', 'sum', 'all', 'grand total', 'grand_total', 'overall', 'gesamt', 'summe'])
/** Names of calendar columns (parts of the date, not observations). */
const CALENDAR_NAMES = new Set([
  'year', 'month', 'day', 'hour', 'minute', 'week', 'weekday', 'weekday name', 'weekday_name', 'weekdayname',
  'day of week', 'day_of_week', 'dayofweek', 'dow', 'quarter', 'day name', 'day_name', 'month name', 'month_name',
  'date', 'time', 'datetime', 'timestamp', 'week number', 'weeknumber', 'week_number', 'day of year', 'dayofyear',
  'is_weekend', 'weekend', 'holiday', 'yearmonth', 'year_month',
])

/** Split CSV text into records of cells (quotes honoured, "" is a quote); a record may span lines. */
export function splitRecords(text: string, delimiter: string): string[][] {
  const records: string[][] = []
  let cells: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const char = text[i]
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') { cell += '"'; i++ } else if (char === '"') quoted = false
      else cell += char
    } else if (char === '"') {
      quoted = true
    } else if (char === delimiter) {
      cells.push(cell)
      cell = ''
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i++
      cells.push(cell)
      records.push(cells)
      cells = []
      cell = ''
    } else {
      cell += char
    }
  }
  if (cell || cells.length) records.push([...cells, cell])
  return records
}

/** The first line of `text` (a quoted field may hold a newline), without its line ending. */
function firstLine(text: string): string {
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const char = text[i]
    if (char === '"') quoted = !quoted
    else if ((char === '\n' || char === '\r') && !quoted) return text.slice(0, i)
  }
  return text
}

/** The delimiter of a header line, found as the API does: the one of , ; tab | that splits it most. */
export function findDelimiter(headerLine: string): string {
  const counts = DELIMITERS.map((d) => splitRecords(headerLine, d)[0]?.length ?? 0)
  return DELIMITERS[counts.indexOf(Math.max(...counts))] ?? ','
}

/** Parse the start of a CSV; `complete` false drops the last record, which the cut may have truncated. */
export function parseSample(text: string, complete = true, maxRows = SAMPLE_ROWS): Sample {
  const body = text.replace(/^\uFEFF/, '')
  const delimiter = findDelimiter(firstLine(body))
  const records = splitRecords(body, delimiter)
  if (!complete && records.length > 1) records.pop()
  const [header = [], ...rest] = records
  const columns = header.length === 1 && !header[0]!.trim() ? [] : header.map((name) => name.trim())
  const rows = rest.filter((row) => row.some((cell) => cell.trim())).slice(0, maxRows)
  return { delimiter, columns, rows }
}

/** Decode the first bytes of a file: UTF-16 when it starts with a UTF-16 BOM, else UTF-8. */
export function decodeStart(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes)
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes)
  return new TextDecoder('utf-8').decode(bytes)
}

/** The first `limit` bytes a gzip file decompresses to, and whether that was all of it (null without DecompressionStream). */
async function gunzipStart(file: Blob, limit: number): Promise<{ bytes: Uint8Array; complete: boolean } | null> {
  if (typeof DecompressionStream === 'undefined') return null
  const reader = file.stream().pipeThrough(new DecompressionStream('gzip')).getReader()
  const bytes = new Uint8Array(limit)
  let size = 0
  let done = false
  while (size < limit) {
    const part = await reader.read()
    if (part.done) { done = true; break }
    bytes.set(part.value.subarray(0, limit - size), size)
    size += Math.min(part.value.length, limit - size)
  }
  // Stop decompressing: only the start is wanted, however large the file.
  if (!done) await reader.cancel()
  return { bytes: bytes.subarray(0, size), complete: done }
}

/** The start of a CSV (its first 64 KB, decompressed for .csv.gz), or of a workbook's first sheet; null otherwise. */
export async function readSample(file: File): Promise<Sample | null> {
  const name = file.name.toLowerCase()
  if (name.endsWith('.xlsx')) {
    if (typeof DecompressionStream === 'undefined') return null
    const start = await readWorkbookStart(file)
    return { ...start.sample, sheets: start.sheets }
  }
  if (name.endsWith('.csv.gz')) {
    const start = await gunzipStart(file, SAMPLE_BYTES)
    return start ? parseSample(decodeStart(start.bytes), start.complete) : null
  }
  if (!name.endsWith('.csv')) return null
  const buffer = await file.slice(0, SAMPLE_BYTES).arrayBuffer()
  return parseSample(decodeStart(new Uint8Array(buffer)), file.size <= SAMPLE_BYTES)
}

/** True for a cell the API reads as missing (blank, NA, NaN, null). */
export function isMissing(cell: string): boolean {
  return MISSING.has(cell.trim().toLowerCase())
}

const DOT_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/
const COMMA_NUMBER = /^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$/

/** A cell as a number with `decimal` as its decimal mark (`1.234,5` with ','); null when it is not one. */
export function parseNumber(cell: string, decimal: '.' | ','): number | null {
  const text = cell.trim()
  if (decimal === ',') return COMMA_NUMBER.test(text) ? Number(text.replace(/\./g, '').replace(',', '.')) : null
  return DOT_NUMBER.test(text) ? Number(text) : null
}

/** True when the sampled cells of a ;/tab/| file read as numbers only with a decimal comma (`1,5`, `1.234,5`). */
export function looksLikeDecimalComma(sample: Sample): boolean {
  if (sample.delimiter === ',') return false
  let commas = 0
  for (const row of sample.rows) {
    for (const cell of row) {
      const text = cell.trim()
      if (/^[+-]?\d+\.\d+$/.test(text) && !/^[+-]?\d{1,3}(\.\d{3})+$/.test(text)) return false  // a dot decimal: 1.5
      if (/^[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+$/.test(text)) commas++
    }
  }
  return commas > 0
}

/** The cells of one column in the sample. */
export function columnValues(sample: Sample, column: string): string[] {
  const index = sample.columns.indexOf(column)
  return index < 0 ? [] : sample.rows.map((row) => row[index] ?? '')
}

/** True when a column's sampled cells are all numbers or missing, and at least one is a number. */
export function isNumericColumn(values: string[], decimal: '.' | ','): boolean {
  const present = values.filter((cell) => !isMissing(cell))
  return present.length > 0 && present.every((cell) => parseNumber(cell, decimal) !== null)
}

/** True for a column that sums the others (total, sum, all). */
export function isTotalColumn(name: string): boolean {
  return TOTAL_NAMES.has(name.trim().toLowerCase())
}

/** True for a calendar column (Year, Month, Hour, Weekday Name, ...). */
export function isCalendarColumn(name: string): boolean {
  return CALENDAR_NAMES.has(name.trim().toLowerCase().replace(/\s+/g, ' '))
}

/** The columns to pre-tick as categories: numeric in the sample, not the date, not a total or calendar column. */
export function suggestCategoryColumns(sample: Sample, dateColumn: string, decimal: '.' | ','): string[] {
  return sample.columns.filter((column) => column && column !== dateColumn && !isTotalColumn(column)
    && !isCalendarColumn(column) && isNumericColumn(columnValues(sample, column), decimal))
}

const DIRECTIVES: Record<string, string> = { d: '(\\d{1,2})', m: '(\\d{1,2})', Y: '(\\d{4})', y: '(\\d{2})', H: '\\d{1,2}', M: '\\d{1,2}', S: '\\d{1,2}' }

/** A date cell as ISO YYYY-MM-DD read with a strftime `format` ('' for ISO; a time part is dropped); null if not. */
export function parseDate(cell: string, format: string): string | null {
  const text = cell.trim()
  let pattern = format ? '' : '(\\d{4})-(\\d{2})-(\\d{2})(?:[ T].*)?'
  const order: string[] = format ? [] : ['Y', 'm', 'd']
  for (let i = 0; format && i < format.length; i++) {
    const code = format[i + 1]
    if (format[i] === '%' && code && code in DIRECTIVES) {
      pattern += DIRECTIVES[code]
      if ('dmYy'.includes(code)) order.push(code)
      i++
    } else {
      pattern += format[i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    }
  }
  const match = new RegExp(`^${pattern}$`).exec(text)
  if (!match) return null
  const part = (code: string) => Number(match[order.indexOf(code) + 1])
  // As Python's %y: 69..99 are 1969..1999, 00..68 are 2000..2068.
  const year = order.includes('Y') ? part('Y') : part('y') + (part('y') < 69 ? 2000 : 1900)
  const month = part('m')
  const day = part('d')
  const date = new Date(Date.UTC(year, month - 1, day))
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`
}

/** The one of `formats` that reads every sampled date cell, or null when none or several do (never a guess). */
export function guessDateFormat(values: string[], formats: readonly string[]): string | null {
  const present = values.filter((cell) => !isMissing(cell))
  if (!present.length) return null
  const fits = formats.filter((format) => present.every((cell) => parseDate(cell, format) !== null))
  return fits.length === 1 ? fits[0]! : null
}
