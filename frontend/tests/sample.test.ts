import { describe, expect, it } from 'vitest'
import { DATE_FORMATS } from '../src/mapping'
import {
  guessDateFormat, isCalendarColumn, isNumericColumn, isTotalColumn, looksLikeDecimalComma, parseDate, parseNumber, parseSample,
  suggestCategoryColumns,
} from '../src/sample'

// The first lines of the real files of the issue: the pharmacy's daily sales (as found, ;) and the Sandy 311 calls.
const PHARMACY = [
  'datum;M01AB;M01AE;N02BA;N02BE;N05B;N05C;R03;R06;Year;Month;Hour;Weekday Name',
  '1/2/2014;0;3.67;3.4;32.4;7;0;0;2;2014;1;248;Thursday',
  '1/3/2014;8;4;4.4;50.6;16;0;20;4;2014;1;276;Friday',
  '1/13/2014;7;2;4;33.3;9;0;8;1;2014;1;276;Monday',
].join('\n')
const SANDY = [
  'date,NYC-3-1-1,ACS,BPSI,DOB,total',
  '10/22/12,0,0,0,1,1',
  '10/30/12,40,0,2,3,45',
].join('\r\n')
const FORMATS = DATE_FORMATS.map((f) => f.value)

describe('sampling the start of a CSV', () => {
  it('reads the delimiter, the columns and the rows', () => {
    const sample = parseSample(PHARMACY)
    expect(sample.delimiter).toBe(';')
    expect(sample.columns.at(-1)).toBe('Weekday Name')
    expect(sample.rows).toHaveLength(3)
    expect(sample.rows[0]![2]).toBe('3.67')
  })

  it('drops a last row the 64 KB cut may have truncated, and blank lines', () => {
    expect(parseSample('a,b\n1,2\n\n3,4\n5,', false).rows).toEqual([['1', '2'], ['3', '4']])
    expect(parseSample('a,b\n"x\ny",2\n').rows).toEqual([['x\ny', '2']])
  })
})

describe('numbers and decimal commas', () => {
  it('reads dot and comma decimals, and nothing else', () => {
    expect(parseNumber('1.5', '.')).toBe(1.5)
    expect(parseNumber('1,5', '.')).toBeNull()
    expect(parseNumber('1,5', ',')).toBe(1.5)
    expect(parseNumber('1.234,5', ',')).toBe(1234.5)
    expect(parseNumber('-12', ',')).toBe(-12)
    expect(parseNumber('1.23', ',')).toBeNull()
    expect(parseNumber('abc', '.')).toBeNull()
  })

  it('offers decimal commas for a ; file that writes 1,5 or 1.234,5', () => {
    expect(looksLikeDecimalComma(parseSample('Datum;Anrufe;E-Mails\n02.01.2014;1,5;3\n03.01.2014;1.234,5;0\n'))).toBe(true)
    expect(looksLikeDecimalComma(parseSample('d\tcalls\n2014-01-02\t2,25\n'))).toBe(true)
  })

  it('never offers them for a , file, nor for a ; file with dot decimals or integers only', () => {
    expect(looksLikeDecimalComma(parseSample('d,a,b\n2014-01-02,"1,5",2\n'))).toBe(false)
    expect(looksLikeDecimalComma(parseSample(PHARMACY))).toBe(false)
    expect(looksLikeDecimalComma(parseSample('d;a\n2014-01-02;3\n'))).toBe(false)
  })
})

describe('classifying the columns of a wide file', () => {
  it('pre-ticks the pharmacy classes, not the date, Year, Month, Hour or Weekday Name', () => {
    expect(suggestCategoryColumns(parseSample(PHARMACY), 'datum', '.'))
      .toEqual(['M01AB', 'M01AE', 'N02BA', 'N02BE', 'N05B', 'N05C', 'R03', 'R06'])
  })

  it('pre-ticks the 311 agencies, not their total', () => {
    expect(suggestCategoryColumns(parseSample(SANDY), 'date', '.')).toEqual(['NYC-3-1-1', 'ACS', 'BPSI', 'DOB'])
  })

  it('knows totals and calendar columns by name', () => {
    expect(['total', 'Sum', ' ALL '].every(isTotalColumn)).toBe(true)
    expect(['Year', 'Month', 'Hour', 'Weekday Name', 'weekday', 'day', 'Day of week'].every(isCalendarColumn)).toBe(true)
    expect(isCalendarColumn('Calls') || isTotalColumn('Totally')).toBe(false)
  })

  it('calls a column numeric only when every sampled cell is a number or missing', () => {
    expect(isNumericColumn(['1', '', 'NA', '2.5'], '.')).toBe(true)
    expect(isNumericColumn(['1', 'x'], '.')).toBe(false)
    expect(isNumericColumn(['', 'NA'], '.')).toBe(false)
    expect(isNumericColumn(['1,5', '2'], ',')).toBe(true)
  })
})

describe('dates', () => {
  it('reads a date in a strftime layout as ISO, as Python does', () => {
    expect(parseDate('1/13/2014', '%m/%d/%Y')).toBe('2014-01-13')
    expect(parseDate('10/22/12', '%m/%d/%y')).toBe('2012-10-22')
    expect(parseDate('2017-12-01 08:26:00', '')).toBe('2017-12-01')
    expect(parseDate('31.12.2024', '%d.%m.%Y')).toBe('2024-12-31')
  })

  it('refuses impossible and misshapen dates', () => {
    expect(parseDate('2023-02-30', '')).toBeNull()
    expect(parseDate('13/13/2014', '%m/%d/%Y')).toBeNull()
    expect(parseDate('1/2/2014', '%d/%m/%y')).toBeNull()
  })

  it('guesses a layout only when exactly one reads every sampled date', () => {
    expect(guessDateFormat(['1/2/2014', '1/13/2014'], FORMATS)).toBe('%m/%d/%Y')
    expect(guessDateFormat(['10/22/12', '10/23/12'], FORMATS)).toBe('%m/%d/%y')
    expect(guessDateFormat(['2014-01-02'], FORMATS)).toBe('')
    expect(guessDateFormat(['1/2/2014', '2/3/2014'], FORMATS)).toBeNull()  // day or month first: not guessed
  })
})
