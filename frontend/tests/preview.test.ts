import { describe, expect, it } from 'vitest'
import { DEFAULT_FORM, guessForm, type MappingForm } from '../src/mapping'
import { buildPreview } from '../src/preview'
import { parseSample } from '../src/sample'

const WIDE = parseSample('date;Calls;Emails;total\n1/13/2014;1,5;;1,5\n1/14/2014;2;-1;1\n')

function wideForm(changes: Partial<MappingForm> = {}): MappingForm {
  return { ...guessForm(WIDE.columns, WIDE), decimal: ',', ...changes }
}

describe('the preview of a wide file', () => {
  it('makes one observation per ticked cell, as stored', () => {
    const rows = buildPreview(wideForm(), WIDE)!
    expect(rows.map((r) => [r.line, r.date, r.category, r.product, r.sales])).toEqual([
      [2, '2014-01-13', 'Calls', 'all', '1.50'],
      [2, '2014-01-13', 'Emails', 'all', ''],
      [3, '2014-01-14', 'Calls', 'all', '2.00'],
      [3, '2014-01-14', 'Emails', 'all', '-1.00'],
    ])
    expect(rows[1]!.note).toBe('missing: filled forward')
    expect(rows[3]).toMatchObject({ rejected: true, note: 'rejected: negative' })
  })

  it('makes the columns products of one category when asked', () => {
    const rows = buildPreview(wideForm({ columnsAre: 'products', categoryConst: 'centre' }), WIDE, 1)!
    expect(rows).toEqual([expect.objectContaining({ category: 'centre', product: 'Calls' })])
  })

  it('takes every column but the unticked with "all except"', () => {
    const rows = buildPreview(wideForm({ allExcept: true, exceptColumns: ['Emails'] }), WIDE, 2)!
    expect(rows.map((r) => r.category)).toEqual(['Calls', 'total'])
  })

  it('shows a value read with the wrong decimal mark as rejected', () => {
    const rows = buildPreview(wideForm({ decimal: '.' }), WIDE, 1)!
    expect(rows[0]).toMatchObject({ rejected: true, note: 'rejected: "1,5" is not a number' })
  })

  it('shows a date in the wrong layout as rejected', () => {
    const rows = buildPreview(wideForm({ dateFormat: '%d/%m/%Y' }), WIDE, 1)!
    expect(rows[0]).toMatchObject({ rejected: true, date: '1/13/2014' })
  })
})

describe('the preview of a long file', () => {
  it('multiplies A × B and reads the columns', () => {
    const sample = parseSample('day,sku,qty,price\n2017-12-01,A-1,3,1.5\n')
    const form = { ...DEFAULT_FORM, date: 'day', productId: 'sku', categoryMode: 'const' as const, categoryConst: 'shop',
      salesMode: 'product' as const, sales: 'qty', salesFactor: 'price' }
    expect(buildPreview(form, sample)).toEqual([
      { line: 2, date: '2017-12-01', category: 'shop', product: 'A-1', sales: '4.50', note: '', rejected: false },
    ])
  })

  it('shows nothing without sampled rows, nor sheets for a file without sheets', () => {
    expect(buildPreview({ ...DEFAULT_FORM, layout: 'sheets' }, parseSample('a,b\n1,2\n'))).toBeNull()
    expect(buildPreview(DEFAULT_FORM, null)).toBeNull()
  })
})

describe('the preview of a workbook with one sheet per category', () => {
  it('shows the first sheet with its name as the category', () => {
    const sample = { delimiter: '', columns: ['Day', 'Units'], rows: [['2014-01-02', '2.5']], sheets: ['Calls', 'Emails'] }
    const form = guessForm(sample.columns, sample)
    expect(form).toMatchObject({ layout: 'sheets', date: 'Day', sales: 'Units' })
    expect(buildPreview(form, sample)).toEqual([
      { line: 2, date: '2014-01-02', category: 'Calls', product: 'all', sales: '2.50', note: '', rejected: false },
    ])
  })
})
