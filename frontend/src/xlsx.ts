// The start of an .xlsx workbook read in the browser: its sheet names, and the first sheet's header and first
// rows as a Sample (dates as ISO, numbers as text), so wide workbooks get the same column checkboxes as CSVs.
// A workbook is a ZIP of XML files: only the central directory and the few entries needed are read.
import type { Sample } from './sample'

/** Bytes of a sheet decompressed at most: the header and the first rows are at its start. */
const SHEET_BYTES = 256 * 1024
/** Bytes of the shared strings decompressed at most (the header's names come first in most writers). */
const STRINGS_BYTES = 2 * 1024 * 1024
const ROWS = 200

interface Entry { method: number; size: number; offset: number }

/** A workbook's sheet names (in order) and its first sheet's sample. */
export interface WorkbookStart {
  sheets: string[]
  sample: Sample
}

async function bytesOf(file: Blob, start: number, end: number): Promise<Uint8Array> {
  return new Uint8Array(await file.slice(start, end).arrayBuffer())
}

/** The ZIP's entries by name, from its central directory (the end of the file). */
export async function zipEntries(file: Blob): Promise<Map<string, Entry>> {
  const tailStart = Math.max(0, file.size - 65_557)
  const tail = await bytesOf(file, tailStart, file.size)
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength)
  let eocd = -1
  for (let i = tail.length - 22; i >= 0; i--) if (view.getUint32(i, true) === 0x06054b50) { eocd = i; break }
  if (eocd < 0) throw new Error('not a ZIP file')
  const count = view.getUint16(eocd + 10, true)
  const dirSize = view.getUint32(eocd + 12, true)
  const dirOffset = view.getUint32(eocd + 16, true)
  const dir = await bytesOf(file, dirOffset, dirOffset + dirSize)
  const dv = new DataView(dir.buffer, dir.byteOffset, dir.byteLength)
  const entries = new Map<string, Entry>()
  for (let i = 0, at = 0; i < count && dv.getUint32(at, true) === 0x02014b50; i++) {
    const nameLength = dv.getUint16(at + 28, true)
    const name = new TextDecoder().decode(dir.subarray(at + 46, at + 46 + nameLength))
    entries.set(name, { method: dv.getUint16(at + 10, true), size: dv.getUint32(at + 20, true), offset: dv.getUint32(at + 42, true) })
    at += 46 + nameLength + dv.getUint16(at + 30, true) + dv.getUint16(at + 32, true)
  }
  return entries
}

/** The first `limit` bytes of an entry, as text (deflated entries through the browser's DecompressionStream). */
async function entryText(file: Blob, entry: Entry, limit: number): Promise<string> {
  const local = new DataView((await bytesOf(file, entry.offset, entry.offset + 30)).buffer)
  const start = entry.offset + 30 + local.getUint16(26, true) + local.getUint16(28, true)
  const data = file.slice(start, start + entry.size)
  if (entry.method === 0) return new TextDecoder().decode(await bytesOf(data, 0, limit))
  const reader = data.stream().pipeThrough(new DecompressionStream('deflate-raw')).getReader()
  const parts: Uint8Array[] = []
  let size = 0
  while (size < limit) {
    const part = await reader.read()
    if (part.done) break
    parts.push(part.value)
    size += part.value.length
  }
  if (size >= limit) await reader.cancel()
  const bytes = new Uint8Array(size)
  parts.reduce((at, part) => { bytes.set(part, at); return at + part.length }, 0)
  return new TextDecoder().decode(bytes.subarray(0, limit))
}

function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|quot|apos|amp|#\d+|#x[0-9a-fA-F]+);/g, (_, code: string) => {
    if (code[0] === '#') return String.fromCodePoint(code[1] === 'x' ? parseInt(code.slice(2), 16) : Number(code.slice(1)))
    return { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' }[code] ?? ''
  })
}

/** The text of every <t> inside an element (rich text has several runs). */
function texts(xml: string): string {
  return [...xml.matchAll(/<t(?:\s[^>]*)?>([\s\S]*?)<\/t>/g)].map((m) => unescapeXml(m[1]!)).join('')
}

/** The shared strings, in order (those cut off by the read limit are missing). */
export function sharedStrings(xml: string): string[] {
  return [...xml.matchAll(/<si>([\s\S]*?)<\/si>/g)].map((m) => texts(m[1]!))
}

/** Which cell styles (the `s` index) show dates: built-in date formats and custom ones with d, m or y. */
export function dateStyles(xml: string): Set<number> {
  const custom = new Map<number, string>()
  for (const m of xml.matchAll(/<numFmt\s[^>]*numFmtId="(\d+)"[^>]*formatCode="([^"]*)"/g)) custom.set(Number(m[1]), unescapeXml(m[2]!))
  const isDate = (id: number) => (id >= 14 && id <= 22) || (id >= 45 && id <= 47)
    || /[dmy]/i.test((custom.get(id) ?? '').replace(/"[^"]*"|\[[^\]]*\]/g, ''))
  const xfs = /<cellXfs[^>]*>([\s\S]*?)<\/cellXfs>/.exec(xml)?.[1] ?? ''
  const styles = new Set<number>()
  ;[...xfs.matchAll(/<xf\s[^>]*?numFmtId="(\d+)"/g)].forEach((m, index) => { if (isDate(Number(m[1]))) styles.add(index) })
  return styles
}

/** An Excel serial day number as YYYY-MM-DD (the 1900 date system; the time of day is dropped). */
export function serialDate(serial: number): string {
  return new Date(Math.round((Math.floor(serial) - 25569) * 86_400_000)).toISOString().slice(0, 10)
}

function columnIndex(ref: string): number {
  const letters = /^[A-Z]+/.exec(ref)?.[0] ?? 'A'
  return [...letters].reduce((n, c) => n * 26 + c.charCodeAt(0) - 64, 0) - 1
}

/** The rows of the start of a sheet's XML (a row cut off by the read limit is left out), cells as text. */
export function sheetRows(xml: string, strings: string[], dates: Set<number>): string[][] {
  const rows: string[][] = []
  for (const row of xml.matchAll(/<row\b[^>]*?(?:\/>|>([\s\S]*?)<\/row>)/g)) {
    const cells: string[] = []
    for (const cell of (row[1] ?? '').matchAll(/<c\b([^>]*?)(?:\/>|>([\s\S]*?)<\/c>)/g)) {
      const attrs = cell[1]!
      const ref = /\br="([A-Z]+)\d+"/.exec(attrs)?.[1]
      const type = /\bt="(\w+)"/.exec(attrs)?.[1] ?? 'n'
      const style = Number(/\bs="(\d+)"/.exec(attrs)?.[1] ?? -1)
      const raw = unescapeXml(/<v>([\s\S]*?)<\/v>/.exec(cell[2] ?? '')?.[1] ?? '')
      let value = raw
      if (type === 's') value = strings[Number(raw)] ?? ''
      else if (type === 'inlineStr') value = texts(cell[2] ?? '')
      else if (type === 'n' && raw && dates.has(style)) value = serialDate(Number(raw))
      cells[ref ? columnIndex(ref) : cells.length] = value
    }
    rows.push(Array.from(cells, (c) => c ?? ''))
  }
  return rows
}

/** The workbook's sheet names and the path of each sheet's XML, in the workbook's order. */
function sheetPaths(workbook: string, rels: string): { name: string; path: string }[] {
  const targets = new Map([...rels.matchAll(/<Relationship\b[^>]*>/g)].map((m) => [
    /\bId="([^"]+)"/.exec(m[0])?.[1] ?? '', /\bTarget="([^"]+)"/.exec(m[0])?.[1] ?? '']))
  return [...workbook.matchAll(/<sheet\b[^>]*>/g)].map((m) => {
    const target = targets.get(/\br:id="([^"]+)"/.exec(m[0])?.[1] ?? '') ?? ''
    const path = target.startsWith('/') ? target.slice(1) : `xl/${target}`
    return { name: unescapeXml(/\bname="([^"]*)"/.exec(m[0])?.[1] ?? ''), path }
  })
}

/** The start of an .xlsx: its sheets, and its first sheet's header and first rows. */
export async function readWorkbookStart(file: Blob): Promise<WorkbookStart> {
  const entries = await zipEntries(file)
  const read = async (name: string, limit: number) => {
    const entry = entries.get(name)
    return entry ? entryText(file, entry, limit) : ''
  }
  const sheets = sheetPaths(await read('xl/workbook.xml', 1 << 20), await read('xl/_rels/workbook.xml.rels', 1 << 20))
  const first = sheets[0]
  if (!first) throw new Error('the workbook has no sheet')
  const strings = sharedStrings(await read('xl/sharedStrings.xml', STRINGS_BYTES))
  const dates = dateStyles(await read('xl/styles.xml', 1 << 20))
  const xml = await read(first.path, SHEET_BYTES)
  const [header = [], ...rows] = sheetRows(xml.slice(0, xml.lastIndexOf('</row>') + 6), strings, dates)
  return { sheets: sheets.map((s) => s.name), sample: { delimiter: '', columns: header.map((c) => c.trim()), rows: rows.slice(0, ROWS) } }
}
