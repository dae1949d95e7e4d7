// Column mappings in the browser: read a CSV's header line, build the mapping JSON the upload sends.
import type { Mapping } from './types'

/** The mapping form's state: which column gives each field, or a constant category / product of two columns. */
export interface MappingForm {
  date: string
  productId: string
  categoryMode: 'column' | 'const'
  category: string
  categoryConst: string
  salesMode: 'column' | 'product'
  sales: string
  salesFactor: string
  dropNegativeSales: boolean
  /** A strftime format such as %d/%m/%Y; empty for ISO dates (YYYY-MM-DD). */
  dateFormat: string
}

/** What an upload sends: a mapping, a saved profile's name, or neither (the original columns). */
export interface MappingChoice {
  mapping: Mapping | null
  mappingName: string | null
  /** Why the form cannot be sent yet (empty when it can). */
  problems: string[]
}

export const DEFAULT_FORM: Readonly<MappingForm> = Object.freeze({
  date: 'Date', productId: 'product_id', categoryMode: 'column', category: 'category', categoryConst: '',
  salesMode: 'column', sales: 'sales', salesFactor: '', dropNegativeSales: false, dateFormat: '',
})

/** Common date layouts offered by the form (the API takes any strftime format with a day, month and year). */
export const DATE_FORMATS: readonly { value: string; label: string }[] = [
  { value: '', label: 'YYYY-MM-DD (ISO, the default)' },
  { value: '%d/%m/%Y', label: '31/12/2024 (%d/%m/%Y)' },
  { value: '%m/%d/%Y', label: '12/31/2024 (%m/%d/%Y)' },
  { value: '%d.%m.%Y', label: '31.12.2024 (%d.%m.%Y)' },
  { value: '%d-%m-%Y', label: '31-12-2024 (%d-%m-%Y)' },
  { value: '%Y/%m/%d', label: '2024/12/31 (%Y/%m/%d)' },
  { value: '%d/%m/%y', label: '31/12/24 (%d/%m/%y)' },
  { value: '%m/%d/%y', label: '12/31/24 (%m/%d/%y)' },
]

/** Names the API recognises for a field when the file has exactly one of them (besides the mapping). */
const ALIASES: Record<'date' | 'productId' | 'category' | 'sales', string[]> = {
  date: ['date', 'ds', 'day', 'invoicedate', 'order_date', 'orderdate'],
  productId: ['product_id', 'product', 'item', 'sku', 'stockcode', 'item_id', 'productid'],
  category: ['category', 'store', 'country', 'region', 'segment'],
  sales: ['sales', 'qty', 'quantity', 'value', 'y', 'amount', 'units'],
}

/** Names the API itself takes for each field without a mapping (the first is the original column). */
const API_NAMES: string[][] = [
  ['date', 'ds', 'day'], ['product_id'], ['category'], ['sales', 'qty', 'quantity', 'value', 'y'],
]

const DELIMITERS = [',', ';', '\t', '|']
const HEADER_BYTES = 64 * 1024

/** The upload kinds castflow takes, from the file name (null: not one of them). */
export function fileKind(name: string): 'csv' | 'csv.gz' | 'xlsx' | null {
  const lower = name.toLowerCase()
  if (lower.endsWith('.csv.gz')) return 'csv.gz'
  if (lower.endsWith('.csv')) return 'csv'
  if (lower.endsWith('.xlsx')) return 'xlsx'
  return null
}

/** Split one CSV line on `delimiter`, honouring double quotes ("" inside quotes is a quote). */
export function splitCsvLine(line: string, delimiter: string): string[] {
  const cells: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const char = line[i]
    if (quoted && char === '"' && line[i + 1] === '"') {
      cell += '"'
      i++
    } else if (char === '"') {
      quoted = !quoted
    } else if (char === delimiter && !quoted) {
      cells.push(cell)
      cell = ''
    } else {
      cell += char
    }
  }
  cells.push(cell)
  return cells
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

/** The column names of a CSV's header (delimiter found as the API does: , ; tab or |), trimmed. */
export function parseHeader(text: string): string[] {
  const line = firstLine(text.replace(/^\uFEFF/, ''))
  if (!line.trim()) return []
  const counts = DELIMITERS.map((d) => splitCsvLine(line, d).length)
  const delimiter = DELIMITERS[counts.indexOf(Math.max(...counts))] ?? ','
  return splitCsvLine(line, delimiter).map((name) => name.trim())
}

/** Decode the first bytes of a file: UTF-16 when it starts with a UTF-16 BOM, else UTF-8. */
export function decodeStart(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes)
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes)
  return new TextDecoder('utf-8').decode(bytes)
}

/** A plain CSV's column names, read from its first bytes (null for .csv.gz and .xlsx: type them in). */
export async function readHeader(file: File): Promise<string[] | null> {
  if (fileKind(file.name) !== 'csv') return null
  const buffer = await file.slice(0, HEADER_BYTES).arrayBuffer()
  return parseHeader(decodeStart(new Uint8Array(buffer)))
}

function pick(columns: string[], aliases: string[], fallback: string): string {
  const exact = columns.find((c) => aliases.includes(c.trim().toLowerCase()))
  return exact ?? fallback
}

/** A first guess of the form for these columns: each field on the column named like it, if any. */
export function guessForm(columns: string[]): MappingForm {
  const first = columns[0] ?? ''
  return {
    ...DEFAULT_FORM,
    date: pick(columns, ALIASES.date, first),
    productId: pick(columns, ALIASES.productId, ''),
    category: pick(columns, ALIASES.category, ''),
    categoryMode: columns.some((c) => ALIASES.category.includes(c.trim().toLowerCase())) ? 'column' : 'const',
    sales: pick(columns, ALIASES.sales, ''),
  }
}

/** The mapping the form describes, in the API's canonical shape. */
export function buildMapping(form: MappingForm): Mapping {
  const sales = form.salesMode === 'product' ? `${form.sales.trim()} * ${form.salesFactor.trim()}` : form.sales.trim()
  return {
    date: form.date.trim(),
    product_id: form.productId.trim(),
    category: form.categoryMode === 'const' ? { const: form.categoryConst.trim() } : form.category.trim(),
    sales,
    drop_negative_sales: form.dropNegativeSales,
    date_format: form.dateFormat.trim() || null,
  }
}

/** The form showing a saved mapping (keys it leaves out keep the original column names). */
export function formFromMapping(mapping: Mapping): MappingForm {
  const [sales = 'sales', factor = ''] = (mapping.sales ?? 'sales').split('*').map((part) => part.trim())
  const category = mapping.category ?? 'category'
  return {
    date: mapping.date ?? 'Date',
    productId: mapping.product_id ?? 'product_id',
    categoryMode: typeof category === 'string' ? 'column' : 'const',
    category: typeof category === 'string' ? category : '',
    categoryConst: typeof category === 'string' ? '' : category.const,
    salesMode: factor ? 'product' : 'column',
    sales,
    salesFactor: factor,
    dropNegativeSales: mapping.drop_negative_sales ?? false,
    dateFormat: mapping.date_format ?? '',
  }
}

/** True when two mappings say the same thing (saved profiles come back in canonical form). */
export function sameMapping(a: Mapping, b: Mapping): boolean {
  return JSON.stringify(buildMapping(formFromMapping(a))) === JSON.stringify(buildMapping(formFromMapping(b)))
}

/** True for the original columns with no options: such an upload needs no mapping at all. */
export function isDefaultMapping(mapping: Mapping): boolean {
  return sameMapping(mapping, buildMapping(DEFAULT_FORM))
}

function namedColumns(form: MappingForm): [string, string][] {
  const named: [string, string][] = [['date', form.date], ['product_id', form.productId], ['sales', form.sales]]
  if (form.categoryMode === 'column') named.push(['category', form.category])
  if (form.salesMode === 'product') named.push(['sales (second factor)', form.salesFactor])
  return named
}

/** What is wrong with the form, in words (empty when it can be sent); `columns`: the file's, when known. */
export function mappingProblems(form: MappingForm, columns: string[] | null): string[] {
  const problems: string[] = []
  const known = columns ? new Set(columns.map((c) => c.trim().toLowerCase())) : null
  for (const [field, column] of namedColumns(form)) {
    if (!column.trim()) problems.push(`Choose the column that gives ${field}.`)
    else if (column.includes('*')) problems.push(`The ${field} column name cannot hold "*".`)
    else if (known && !known.has(column.trim().toLowerCase())) problems.push(`The file has no column "${column}" (${field}).`)
  }
  if (form.categoryMode === 'const' && !form.categoryConst.trim()) problems.push('Type the category every row belongs to.')
  if (form.categoryConst.trim().length > 100) problems.push('A category holds at most 100 characters.')
  const format = form.dateFormat.trim()
  if (format && !(format.includes('%d') && format.includes('%m') && /%[Yy]/.test(format))) {
    problems.push('A date format needs a day (%d), a month (%m) and a year (%Y or %y).')
  }
  return problems
}

/** True when a header lacks a column the API needs without a mapping (an alias counts when it is the only one). */
export function needsMapping(columns: string[]): boolean {
  const names = columns.map((c) => c.trim().toLowerCase())
  return API_NAMES.some(([original, ...aliases]) =>
    !names.includes(original!) && names.filter((n) => aliases.includes(n)).length !== 1)
}
