// The first observations of a file as castflow will store them, built in the browser from the sampled rows.
import { buildMapping, type MappingForm } from './mapping'
import { isMissing, parseDate, parseNumber, type Sample } from './sample'

/** One observation of the preview: its file line, the stored key and value, and what happens to it. */
export interface PreviewRow {
  line: number
  date: string
  category: string
  product: string
  /** The value as stored (2 decimals), '' when missing. */
  sales: string
  /** Empty for a row stored as it is; else why it is filled, set aside or rejected. */
  note: string
  rejected: boolean
}

/** How many observations the preview shows. */
export const PREVIEW_ROWS = 8

/** The columns whose cells are observations in the 'columns' layout, in the file's order. */
export function observedColumns(form: MappingForm, columns: string[]): string[] {
  const mapping = buildMapping(form).category_columns
  if (!mapping) return []
  if (Array.isArray(mapping)) return columns.filter((c) => mapping.includes(c))
  return columns.filter((c) => c && !mapping.all_except.includes(c))
}

function observation(line: number, form: MappingForm, dateCell: string, key: { category: string; product: string },
  value: number | null, valueCell: string): PreviewRow {
  const date = parseDate(dateCell, form.dateFormat.trim())
  const row = { line, date: date ?? dateCell, ...key, sales: value === null ? '' : value.toFixed(2), note: '', rejected: false }
  if (date === null) return { ...row, rejected: true, note: `rejected: "${dateCell}" is not a ${form.dateFormat.trim() || 'YYYY-MM-DD'} date` }
  if (value === null && isMissing(valueCell)) return { ...row, note: 'missing: filled forward' }
  if (value === null || !Number.isFinite(value)) return { ...row, rejected: true, note: `rejected: "${valueCell}" is not a number` }
  if (value < 0) return form.dropNegativeSales ? { ...row, note: 'negative: set aside' } : { ...row, rejected: true, note: 'rejected: negative' }
  return row
}

function cellOf(sample: Sample, row: string[], column: string): string {
  const index = sample.columns.findIndex((c) => c.toLowerCase() === column.trim().toLowerCase())
  return index < 0 ? '' : (row[index] ?? '').trim()
}

function longRow(form: MappingForm, sample: Sample, row: string[], line: number): PreviewRow {
  const cell = (column: string) => cellOf(sample, row, column)
  const category = form.categoryMode === 'const' ? form.categoryConst.trim() : cell(form.category)
  const a = cell(form.sales)
  const b = form.salesMode === 'product' ? cell(form.salesFactor) : '1'
  const x = parseNumber(a, form.decimal)
  const y = parseNumber(b, form.decimal)
  const value = x === null || y === null ? null : x * y
  const product = form.productMode === 'const' ? form.productConst.trim() : cell(form.productId)
  return observation(line, form, cell(form.date), { category, product }, value, x === null ? a : b)
}

/** The first observations the form makes of the sampled rows (null: nothing to show, as for .xlsx). */
export function buildPreview(form: MappingForm, sample: Sample | null, limit = PREVIEW_ROWS): PreviewRow[] | null {
  if (!sample || !sample.columns.length || (form.layout === 'sheets' && !sample.sheets?.length)) return null
  const observed = form.layout === 'columns' ? observedColumns(form, sample.columns) : []
  const preview: PreviewRow[] = []
  for (const [index, row] of sample.rows.entries()) {
    // Line numbers as the API counts them: the header is line 1 (a quoted field spanning lines is rare here).
    const line = index + 2
    if (form.layout === 'rows') {
      preview.push(longRow(form, sample, row, line))
    } else if (form.layout === 'sheets') {
      // The first sheet's rows: its name is their category.
      const cell = cellOf(sample, row, form.sales)
      const key = { category: sample.sheets![0]!, product: form.productConst.trim() }
      preview.push(observation(line, form, cellOf(sample, row, form.date), key, parseNumber(cell, form.decimal), cell))
    } else {
      for (const column of observed) {
        const key = form.columnsAre === 'categories'
          ? { category: column, product: form.productConst.trim() } : { category: form.categoryConst.trim(), product: column }
        const cell = cellOf(sample, row, column)
        preview.push(observation(line, form, cellOf(sample, row, form.date), key, parseNumber(cell, form.decimal), cell))
      }
    }
    if (preview.length >= limit) break
  }
  return preview.slice(0, limit)
}
