import { describe, expect, it } from 'vitest'
import {
  buildMapping, decodeStart, DEFAULT_FORM, fileKind, formFromMapping, guessForm, isDefaultMapping, mappingProblems,
  needsMapping, parseHeader, sameMapping,
} from '../src/mapping'
import { parseSample, readSample, splitRecords } from '../src/sample'

describe('reading a header line', () => {
  it('finds the delimiter as the API does', () => {
    expect(parseHeader('Date,product_id,category,sales\n2023-01-01,a,b,1\n')).toEqual(['Date', 'product_id', 'category', 'sales'])
    expect(parseHeader('datum;M01AB;N02BA\r\n1/2/2014;0;1\r\n')).toEqual(['datum', 'M01AB', 'N02BA'])
    expect(parseHeader('day\tsku\tqty\n')).toEqual(['day', 'sku', 'qty'])
    expect(parseHeader('a|b|c')).toEqual(['a', 'b', 'c'])
  })

  it('honours quotes, a BOM and surrounding spaces', () => {
    expect(parseHeader('\uFEFF"Invoice, Date" , "Unit ""Price""",Qty\n')).toEqual(['Invoice, Date', 'Unit "Price"', 'Qty'])
    expect(parseHeader('"multi\nline",b\n1,2')).toEqual(['multi\nline', 'b'])
    expect(splitRecords('a,"b,c",d', ',')).toEqual([['a', 'b,c', 'd']])
  })

  it('answers no columns for an empty file', () => {
    expect(parseHeader('')).toEqual([])
    expect(parseHeader('\n\n')).toEqual([])
  })

  it('decodes UTF-16 with a BOM, else UTF-8', () => {
    const utf16 = new Uint8Array([0xff, 0xfe, ...Array.from('a,b').flatMap((c) => [c.charCodeAt(0), 0])])
    expect(parseHeader(decodeStart(utf16))).toEqual(['a', 'b'])
    expect(decodeStart(new TextEncoder().encode('Größe,x'))).toBe('Größe,x')
  })

  it('reads a CSV file header from its first bytes, and refuses a broken workbook', async () => {
    const csv = new File(['InvoiceDate,StockCode,Quantity\n2010-12-01,85123A,6\n'], 'retail.csv')
    expect((await readSample(csv))?.columns).toEqual(['InvoiceDate', 'StockCode', 'Quantity'])
    await expect(readSample(new File(['PK'], 'book.xlsx'))).rejects.toThrow('not a ZIP file')
    expect(await readSample(new File(['x'], 'notes.txt'))).toBeNull()
  })

  it('reads the start of a .csv.gz through gzip, and stops there', async () => {
    const { gzipSync } = await import('node:zlib')
    const rows = Array.from({ length: 20_000 }, (_, i) => `2020-01-01,${i},x,1`).join('\n')
    const gz = new File([gzipSync(`Date;Calls;Emails\n2020-01-01;1,5;2\n`)], 'centre.csv.gz')
    expect(await readSample(gz)).toEqual({ delimiter: ';', columns: ['Date', 'Calls', 'Emails'], rows: [['2020-01-01', '1,5', '2']] })
    const large = await readSample(new File([gzipSync(`Date,product_id,category,sales\n${rows}\n`)], 'big.csv.gz'))
    expect(large?.columns).toEqual(['Date', 'product_id', 'category', 'sales'])
    expect(large?.rows).toHaveLength(200)
    await expect(readSample(new File(['not gzip'], 'broken.csv.gz'))).rejects.toThrow()  // the page then types names
  })

  it('knows the kinds of file castflow takes', () => {
    expect([fileKind('a.CSV'), fileKind('a.csv.gz'), fileKind('a.xlsx'), fileKind('a.xls'), fileKind('a.txt')])
      .toEqual(['csv', 'csv.gz', 'xlsx', null, null])
  })
})

describe('building a mapping', () => {
  it('builds the canonical JSON for columns, a constant category, a product and options', () => {
    const form = { ...DEFAULT_FORM, date: 'InvoiceDate', productId: 'StockCode', categoryMode: 'const' as const, categoryConst: ' all ',
      salesMode: 'product' as const, sales: 'Quantity', salesFactor: 'UnitPrice', dropNegativeSales: true, dateFormat: '%d/%m/%Y' }
    expect(buildMapping(form)).toEqual({
      date: 'InvoiceDate', product_id: 'StockCode', category: { const: 'all' }, sales: 'Quantity * UnitPrice',
      drop_negative_sales: true, date_format: '%d/%m/%Y',
    })
  })

  it('sends null for ISO dates and a column name for a category column', () => {
    const mapping = buildMapping({ ...DEFAULT_FORM, category: ' Country ' })
    expect(mapping.date_format).toBeNull()
    expect(mapping.category).toBe('Country')
  })

  it('round-trips a saved profile through the form', () => {
    const saved = { date: 'd', product_id: 'p', category: { const: 'x' }, sales: 'a * b', drop_negative_sales: false, date_format: null }
    expect(buildMapping(formFromMapping(saved))).toEqual(saved)
    expect(sameMapping(saved, { ...saved, sales: 'a*b' })).toBe(true)
    expect(sameMapping(saved, { ...saved, sales: 'a' })).toBe(false)
  })

  it('treats the original columns without options as no mapping at all', () => {
    expect(isDefaultMapping(buildMapping(DEFAULT_FORM))).toBe(true)
    expect(isDefaultMapping({})).toBe(true)
    expect(isDefaultMapping({ drop_negative_sales: true })).toBe(false)
  })

  it('guesses the fields from the column names', () => {
    const form = guessForm(['InvoiceNo', 'StockCode', 'Quantity', 'InvoiceDate', 'UnitPrice', 'Country'])
    expect(form).toMatchObject({ date: 'InvoiceDate', productId: 'StockCode', category: 'Country', categoryMode: 'column', sales: 'Quantity' })
    expect(guessForm(['day', 'sku', 'units'])).toMatchObject({ date: 'day', categoryMode: 'const' })
  })
})

describe('what is wrong with a mapping', () => {
  it('accepts a complete form', () => {
    expect(mappingProblems(DEFAULT_FORM, ['Date', 'product_id', 'category', 'sales'])).toEqual([])
  })

  it('names each missing or unknown column', () => {
    const problems = mappingProblems({ ...DEFAULT_FORM, productId: '', sales: 'Revenue' }, ['date', 'category', 'sales'])
    expect(problems).toEqual(['Choose the column that gives product_id.', 'The file has no column "Revenue" (sales).'])
  })

  it('needs a constant category and a second factor when those modes are chosen', () => {
    const problems = mappingProblems({ ...DEFAULT_FORM, categoryMode: 'const', salesMode: 'product' }, null)
    expect(problems).toContain('Type the category every row belongs to.')
    expect(problems).toContain('Choose the column that gives sales (second factor).')
  })

  it('wants a day, a month and a year in a date format', () => {
    expect(mappingProblems({ ...DEFAULT_FORM, dateFormat: '%Y-%m' }, null)).toEqual([
      'A date format needs a day (%d), a month (%m) and a year (%Y or %y).',
    ])
    expect(mappingProblems({ ...DEFAULT_FORM, dateFormat: '%d.%m.%y' }, null)).toEqual([])
  })

  it('says a header needs a mapping only when the API could not read it as it is', () => {
    expect(needsMapping(['Date', 'product_id', 'category', 'sales'])).toBe(false)
    expect(needsMapping([' DATE ', 'Product_ID', 'category', 'qty'])).toBe(false)
    expect(needsMapping(['ds', 'product_id', 'category', 'qty', 'value'])).toBe(true)
    expect(needsMapping(['InvoiceDate', 'StockCode', 'Quantity', 'Country'])).toBe(true)
  })
})

describe('wide files and decimal commas', () => {
  const PHARMACY = parseSample('datum;M01AB;N02BA;Year;Month;Hour;Weekday Name\n1/13/2014;0;3.4;2014;1;248;Monday\n')

  it('guesses one column per category for a file of a date and numeric columns', () => {
    const form = guessForm(PHARMACY.columns, PHARMACY)
    expect(form).toMatchObject({ layout: 'columns', date: 'datum', dateFormat: '%m/%d/%Y', categoryColumns: ['M01AB', 'N02BA'] })
    expect(guessForm(['InvoiceDate', 'StockCode', 'Quantity', 'UnitPrice'], parseSample('InvoiceDate,StockCode,Quantity,UnitPrice\n2010-12-01,A,6,2.5\n')).layout).toBe('rows')
  })

  it('sends the listed columns with a constant product, or all but some with a constant category', () => {
    const form = { ...guessForm(PHARMACY.columns, PHARMACY), productConst: 'all' }
    expect(buildMapping(form)).toEqual({
      date: 'datum', category_columns: ['M01AB', 'N02BA'], product_id: { const: 'all' },
      drop_negative_sales: false, date_format: '%m/%d/%Y',
    })
    const except = buildMapping({ ...form, allExcept: true, exceptColumns: ['Year', 'Month'], columnsAre: 'products', categoryConst: 'pharmacy' })
    expect(except).toMatchObject({ category_columns: { all_except: ['datum', 'Year', 'Month'] }, category: { const: 'pharmacy' } })
    expect(except).not.toHaveProperty('product_id')
  })

  it('sends decimal only when it is a comma, so older servers still take long mappings', () => {
    expect(buildMapping(DEFAULT_FORM)).not.toHaveProperty('decimal')
    expect(buildMapping({ ...DEFAULT_FORM, decimal: ',' }).decimal).toBe(',')
  })

  it('round-trips saved profiles with the new keys through the form', () => {
    const profiles = [
      { date: 'date', category_columns: ['Calls', 'Emails'], product_id: { const: 'all' }, drop_negative_sales: false, date_format: null, decimal: ',' as const },
      { date: 'date', category_columns: { all_except: ['date', 'total'] }, category: { const: '311' }, drop_negative_sales: false, date_format: '%m/%d/%y' },
      { date: 'Date', product_id: { const: 'all' }, sales: 'Calls', sheets_as_categories: true, drop_negative_sales: false, date_format: null },
    ]
    for (const saved of profiles) expect(buildMapping(formFromMapping(saved))).toEqual(saved)
    // The server's canonical form may spell out the defaults; it still says the same.
    expect(sameMapping(profiles[0]!, { ...profiles[0]!, sales: 'sales' })).toBe(true)
    expect(sameMapping(profiles[1]!, { ...profiles[1]!, decimal: '.' })).toBe(true)
    expect(sameMapping(profiles[0]!, { ...profiles[0]!, decimal: '.' })).toBe(false)
  })

  it('takes a constant product for a long file without a product column, and round-trips it', () => {
    const form = guessForm(['date', 'channel', 'calls'])
    expect(form).toMatchObject({ layout: 'rows', productMode: 'const', productConst: 'all' })
    const mapping = buildMapping({ ...form, categoryMode: 'column', category: 'channel', sales: 'calls' })
    expect(mapping).toMatchObject({ product_id: { const: 'all' }, category: 'channel', sales: 'calls' })
    expect(buildMapping(formFromMapping(mapping))).toEqual(mapping)
    expect(mappingProblems({ ...form, productConst: '' }, null)).toContain('Type the product every row belongs to.')
  })

  it('says what is wrong with a wide mapping', () => {
    const form = { ...guessForm(PHARMACY.columns, PHARMACY) }
    expect(mappingProblems(form, PHARMACY.columns, ';')).toEqual([])
    expect(mappingProblems({ ...form, categoryColumns: [] }, PHARMACY.columns, ';')).toEqual(['Tick at least one column whose cells are observations.'])
    expect(mappingProblems({ ...form, categoryColumns: ['datum', 'R99'] }, PHARMACY.columns, ';')).toEqual([
      'The date column "datum" cannot also be a category.', 'The file has no column "R99".',
    ])
    expect(mappingProblems({ ...form, productConst: ' ' }, PHARMACY.columns, ';')).toEqual(['Type the product every observation belongs to.'])
    expect(mappingProblems({ ...form, categoryColumns: ['a'] }, ['date', 'a', 'a'], ',')).toContain('The file has two columns named "a": rename one.')
  })

  it('refuses decimal commas for a , separated file', () => {
    expect(mappingProblems({ ...DEFAULT_FORM, decimal: ',' }, null, ',')).toEqual([
      'Decimal commas are read only in ;, tab or | separated files: in a , separated file the comma separates the fields.',
    ])
    expect(mappingProblems({ ...DEFAULT_FORM, decimal: ',' }, null, ';')).toEqual([])
  })
})
