import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readSample } from '../src/sample'
import { dateStyles, serialDate, sharedStrings, sheetRows } from '../src/xlsx'

const FIXTURES = join(__dirname, '..', 'e2e', 'fixtures')

describe('reading the start of a workbook', () => {
  it('reads the sheet names and the first sheet of a real workbook (written by openpyxl)', async () => {
    const file = new File([readFileSync(join(FIXTURES, 'pharmacy-sheets.xlsx'))], 'pharmacy-sheets.xlsx')
    const sample = await readSample(file)
    expect(sample?.sheets).toEqual(['M01AB', 'N02BE', 'R06'])
    expect(sample?.columns).toEqual(['Day', 'Units'])
    expect(sample?.rows).toHaveLength(40)
    expect(sample?.rows[0]).toEqual(['2014-01-02', '0'])
    expect(sample?.rows[39]).toEqual(['2014-02-10', '5'])
  })

  it('resolves shared, inline and rich-text strings, sparse cells and date styles', () => {
    const strings = sharedStrings('<sst><si><t>Date</t></si><si><r><t>Cal</t></r><r><t xml:space="preserve">ls</t></r></si><si><t>A&amp;B</t></si></sst>')
    expect(strings).toEqual(['Date', 'Calls', 'A&B'])
    const styles = dateStyles('<numFmts><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/><numFmt numFmtId="165" formatCode="0.00&quot;d&quot;"/></numFmts>'
      + '<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="165"/></cellXfs>')
    expect([...styles]).toEqual([1, 2])
    const xml = '<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c></row>'
      + '<row r="2"><c r="A2" s="2"><v>41641.5</v></c><c r="B2" t="inlineStr"><is><t>x</t></is></c><c r="C2" s="3"><v>2.25</v></c></row></sheetData>'
    expect(sheetRows(xml, strings, styles)).toEqual([['Date', '', 'Calls'], ['2014-01-02', 'x', '2.25']])
  })

  it('turns Excel serial days into dates', () => {
    expect(serialDate(43831)).toBe('2020-01-01')
    expect(serialDate(41641.99)).toBe('2014-01-02')
  })
})
