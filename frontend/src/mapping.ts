// Column mappings in the browser: read a CSV's header line, build the mapping JSON the upload sends.
import {
  columnValues, guessDateFormat, looksLikeDecimalComma, parseSample, type Sample, suggestCategoryColumns,
} from './sample'
import type { Mapping } from './types'

export { decodeStart } from './sample'

/** How a file lays out its observations: one per row, one per cell of the category columns, one sheet per category. */
export type Layout = 'rows' | 'columns' | 'sheets'

/** The mapping form's state: which column gives each field, or a constant category / product of two columns. */
export interface MappingForm {
  layout: Layout
  date: string
  productId: string
  /** 'rows' layout: the product is a column, or one constant (productConst) for every row. */
  productMode: 'column' | 'const'
  categoryMode: 'column' | 'const'
  category: string
  categoryConst: string
  salesMode: 'column' | 'product'
  sales: string
  salesFactor: string
  dropNegativeSales: boolean
  /** A strftime format such as %d/%m/%Y; empty for ISO dates (YYYY-MM-DD). */
  dateFormat: string
  /** 'columns' layout: the ticked columns, or (allExcept) every column but `exceptColumns`. */
  categoryColumns: string[]
  allExcept: boolean
  exceptColumns: string[]
  /** 'columns' layout: each column is a category (one constant product), or a product of one constant category. */
  columnsAre: 'categories' | 'products'
  /** The product of every observation in the 'columns' (as categories) and 'sheets' layouts. */
  productConst: string
  /** The decimal mark of the numbers: ',' only for ;, tab or | separated files. */
  decimal: '.' | ','
}

/** What an upload sends: a mapping, a saved profile's name, or neither (the original columns). */
export interface MappingChoice {
  mapping: Mapping | null
  mappingName: string | null
  /** Why the form cannot be sent yet (empty when it can). */
  problems: string[]
}

export const DEFAULT_FORM: Readonly<MappingForm> = Object.freeze({
  layout: 'rows', date: 'Date', productId: 'product_id', productMode: 'column', categoryMode: 'column', category: 'category', categoryConst: '',
  salesMode: 'column', sales: 'sales', salesFactor: '', dropNegativeSales: false, dateFormat: '',
  categoryColumns: [], allExcept: false, exceptColumns: [], columnsAre: 'categories', productConst: 'all', decimal: '.',
} as MappingForm)

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

/** The upload kinds castflow takes, from the file name (null: not one of them). */
export function fileKind(name: string): 'csv' | 'csv.gz' | 'xlsx' | null {
  const lower = name.toLowerCase()
  if (lower.endsWith('.csv.gz')) return 'csv.gz'
  if (lower.endsWith('.csv')) return 'csv'
  if (lower.endsWith('.xlsx')) return 'xlsx'
  return null
}

/** The column names of a CSV's header (delimiter found as the API does: , ; tab or |), trimmed. */
export function parseHeader(text: string): string[] {
  return parseSample(text, true, 0).columns
}

function pick(columns: string[], aliases: string[], fallback: string): string {
  const exact = columns.find((c) => aliases.includes(c.trim().toLowerCase()))
  return exact ?? fallback
}

/** A first guess of the form for these columns (and sampled rows, when read): fields on the columns named
 *  like them; a file with no product, category or sales column but several numeric ones is wide. */
export function guessForm(columns: string[], sample: Sample | null = null): MappingForm {
  const first = columns[0] ?? ''
  const has = (aliases: string[]) => columns.some((c) => aliases.includes(c.trim().toLowerCase()))
  const form: MappingForm = {
    ...DEFAULT_FORM,
    date: pick(columns, ALIASES.date, first),
    productId: pick(columns, ALIASES.productId, ''),
    productMode: has(ALIASES.productId) ? 'column' : 'const',
    category: pick(columns, ALIASES.category, ''),
    categoryMode: has(ALIASES.category) ? 'column' : 'const',
    sales: pick(columns, ALIASES.sales, ''),
  }
  if (!sample) return form
  form.dateFormat = guessDateFormat(columnValues(sample, form.date), DATE_FORMATS.map((f) => f.value)) ?? ''
  const numeric = suggestCategoryColumns(sample, form.date, looksLikeDecimalComma(sample) ? ',' : '.')
  if (has(ALIASES.productId) || has(ALIASES.category)) return form
  // A workbook of several sheets, each a date and one value column: one sheet per category.
  if ((sample.sheets?.length ?? 0) >= 2 && numeric.length === 1) return { ...form, layout: 'sheets', sales: numeric[0]! }
  if (!has(ALIASES.sales) && numeric.length >= 2) return { ...form, layout: 'columns', categoryColumns: numeric }
  return form
}

/** The category columns the form sends: the ticked list, or every column but the date and the unticked. */
function categoryColumns(form: MappingForm): string[] | { all_except: string[] } {
  if (!form.allExcept) return form.categoryColumns.map((c) => c.trim())
  return { all_except: [...new Set([form.date.trim(), ...form.exceptColumns.map((c) => c.trim())])] }
}

/** The options every layout shares; decimal is only sent when it is a comma (older servers know no such key). */
function options(form: MappingForm): Mapping {
  return {
    drop_negative_sales: form.dropNegativeSales,
    date_format: form.dateFormat.trim() || null,
    ...(form.decimal === ',' ? { decimal: ',' as const } : {}),
  }
}

/** The mapping the form describes, in the API's canonical shape. */
export function buildMapping(form: MappingForm): Mapping {
  const date = form.date.trim()
  if (form.layout === 'columns') {
    const constant = form.columnsAre === 'categories'
      ? { product_id: { const: form.productConst.trim() } } : { category: { const: form.categoryConst.trim() } }
    return { date, category_columns: categoryColumns(form), ...constant, ...options(form) }
  }
  if (form.layout === 'sheets') {
    return { date, product_id: { const: form.productConst.trim() }, sales: form.sales.trim(), sheets_as_categories: true, ...options(form) }
  }
  const sales = form.salesMode === 'product' ? `${form.sales.trim()} * ${form.salesFactor.trim()}` : form.sales.trim()
  return {
    date,
    product_id: form.productMode === 'const' ? { const: form.productConst.trim() } : form.productId.trim(),
    category: form.categoryMode === 'const' ? { const: form.categoryConst.trim() } : form.category.trim(),
    sales,
    ...options(form),
  }
}

/** The form showing a saved mapping (keys it leaves out keep the original column names). */
export function formFromMapping(mapping: Mapping): MappingForm {
  const [sales = 'sales', factor = ''] = (mapping.sales ?? 'sales').split('*').map((part) => part.trim())
  const category = mapping.category ?? 'category'
  const product = mapping.product_id ?? 'product_id'
  const wide = mapping.category_columns ?? null
  const layout: Layout = mapping.sheets_as_categories ? 'sheets' : wide ? 'columns' : 'rows'
  return {
    layout,
    date: mapping.date ?? 'Date',
    productId: typeof product === 'string' ? product : '',
    productMode: typeof product === 'string' ? 'column' : 'const',
    categoryMode: typeof category === 'string' ? 'column' : 'const',
    category: typeof category === 'string' ? category : '',
    categoryConst: typeof category === 'string' ? '' : category.const,
    salesMode: factor ? 'product' : 'column',
    sales,
    salesFactor: factor,
    dropNegativeSales: mapping.drop_negative_sales ?? false,
    dateFormat: mapping.date_format ?? '',
    categoryColumns: Array.isArray(wide) ? [...wide] : [],
    allExcept: wide !== null && !Array.isArray(wide),
    exceptColumns: wide !== null && !Array.isArray(wide) ? wide.all_except.filter((c) => c !== mapping.date) : [],
    columnsAre: layout === 'columns' && typeof category !== 'string' ? 'products' : 'categories',
    productConst: typeof product === 'string' ? DEFAULT_FORM.productConst : product.const,
    decimal: mapping.decimal === ',' ? ',' : '.',
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
  if (form.layout === 'columns') return [['date', form.date]]
  if (form.layout === 'sheets') return [['date', form.date], ['sales', form.sales]]
  const named: [string, string][] = [['date', form.date], ['sales', form.sales]]
  if (form.productMode === 'column') named.splice(1, 0, ['product_id', form.productId])
  if (form.categoryMode === 'column') named.push(['category', form.category])
  if (form.salesMode === 'product') named.push(['sales (second factor)', form.salesFactor])
  return named
}

/** What is wrong with the category columns of the 'columns' layout. */
function categoryColumnProblems(form: MappingForm, columns: string[] | null): string[] {
  const problems: string[] = []
  const listed = (form.allExcept ? form.exceptColumns : form.categoryColumns).map((c) => c.trim())
  if (!form.allExcept && !listed.length) problems.push('Tick at least one column whose cells are observations.')
  if (listed.some((c) => !c)) problems.push('A category column needs a name.')
  if (!form.allExcept && listed.includes(form.date.trim())) problems.push(`The date column "${form.date}" cannot also be a category.`)
  if (new Set(listed).size < listed.length) problems.push('A column is listed twice.')
  const repeated = (columns ?? []).filter((c, i, all) => c && all.indexOf(c) !== i && listed.includes(c))
  for (const column of new Set(repeated)) problems.push(`The file has two columns named "${column}": rename one.`)
  for (const column of listed) {
    if (columns && column && !columns.includes(column)) problems.push(`The file has no column "${column}".`)
  }
  if (form.columnsAre === 'categories' && !form.productConst.trim()) problems.push('Type the product every observation belongs to.')
  if (form.columnsAre === 'products' && !form.categoryConst.trim()) problems.push('Type the category every observation belongs to.')
  return problems
}

/** What is wrong with the form, in words (empty when it can be sent); `columns` and `delimiter`: the file's, when known. */
export function mappingProblems(form: MappingForm, columns: string[] | null, delimiter: string | null = null): string[] {
  const problems: string[] = []
  const known = columns ? new Set(columns.map((c) => c.trim().toLowerCase())) : null
  for (const [field, column] of namedColumns(form)) {
    if (!column.trim()) problems.push(`Choose the column that gives ${field}.`)
    else if (column.includes('*')) problems.push(`The ${field} column name cannot hold "*".`)
    else if (known && !known.has(column.trim().toLowerCase())) problems.push(`The file has no column "${column}" (${field}).`)
  }
  if (form.layout === 'columns') problems.push(...categoryColumnProblems(form, columns))
  if (form.layout === 'rows' && form.categoryMode === 'const' && !form.categoryConst.trim()) problems.push('Type the category every row belongs to.')
  if (form.layout === 'sheets' && !form.productConst.trim()) problems.push('Type the product every observation belongs to.')
  if (form.layout === 'rows' && form.productMode === 'const' && !form.productConst.trim()) problems.push('Type the product every row belongs to.')
  if (form.categoryConst.trim().length > 100 || form.productConst.trim().length > 100) problems.push('A category or product holds at most 100 characters.')
  const format = form.dateFormat.trim()
  if (format && !(format.includes('%d') && format.includes('%m') && /%[Yy]/.test(format))) {
    problems.push('A date format needs a day (%d), a month (%m) and a year (%Y or %y).')
  }
  if (form.decimal === ',' && delimiter === ',') {
    problems.push('Decimal commas are read only in ;, tab or | separated files: in a , separated file the comma separates the fields.')
  }
  return problems
}

/** True when a header lacks a column the API needs without a mapping (an alias counts when it is the only one). */
export function needsMapping(columns: string[]): boolean {
  const names = columns.map((c) => c.trim().toLowerCase())
  return API_NAMES.some(([original, ...aliases]) =>
    !names.includes(original!) && names.filter((n) => aliases.includes(n)).length !== 1)
}
