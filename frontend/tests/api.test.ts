import { describe, expect, it, vi } from 'vitest'
import { Api, ApiError, attachmentName, categoryPath, errorMessage, exportPath, query, type KeyStore } from '../src/api'

function memoryKeys(initial: string | null = null): KeyStore & { value: string | null } {
  const store = { value: initial, get: () => store.value, set: (key: string | null) => { store.value = key } }
  return store
}

function jsonResponse(status: number, body: unknown, statusText = ''): Response {
  return new Response(body === undefined ? '' : JSON.stringify(body), { status, statusText, headers: { 'Content-Type': 'application/json' } })
}

describe('errorMessage', () => {
  it('uses the API error text when there is one', () => {
    expect(errorMessage(400, 'Bad Request', { error: 'missing column(s): sales' })).toBe('missing column(s): sales')
  })

  it('says the HTTP status in words when the body is not the API error shape', () => {
    expect(errorMessage(502, 'Bad Gateway', null)).toBe('The server answered HTTP 502 Bad Gateway.')
    expect(errorMessage(0, '', null)).toMatch(/cannot be reached/)
  })
})

describe('Api.json', () => {
  it('returns the decoded body of a 2xx answer', async () => {
    const fetch = vi.fn(async () => jsonResponse(200, [{ batch_num: 1 }]))
    const api = new Api({ keys: memoryKeys(), fetch })
    await expect(api.json('metadata')).resolves.toEqual([{ batch_num: 1 }])
    expect(fetch).toHaveBeenCalledWith('metadata', expect.anything())
  })

  it('throws an ApiError with the status and the API message for a 4xx', async () => {
    const api = new Api({ keys: memoryKeys(), fetch: async () => jsonResponse(404, { error: 'batch 9 not found' }) })
    const error = await api.batch(9).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ status: 404, message: 'batch 9 not found' })
  })

  it('turns a non-JSON error page into words', async () => {
    const fetch = async () => new Response('<html>oops</html>', { status: 500, statusText: 'Internal Server Error' })
    const api = new Api({ keys: memoryKeys(), fetch })
    await expect(api.categories()).rejects.toMatchObject({ status: 500, message: 'The server answered HTTP 500 Internal Server Error.' })
  })

  it('turns a network failure into an ApiError with status 0', async () => {
    const api = new Api({ keys: memoryKeys(), fetch: async () => { throw new TypeError('Failed to fetch') } })
    await expect(api.categories()).rejects.toMatchObject({ status: 0 })
  })

  it('sends the stored key as X-API-Key', async () => {
    const fetch = vi.fn(async (_url: RequestInfo | URL, _init?: RequestInit) => jsonResponse(200, []))
    await new Api({ keys: memoryKeys('s3cret'), fetch }).categories()
    expect(new Headers(fetch.mock.calls[0]![1]!.headers).get('X-API-Key')).toBe('s3cret')
  })

  it('asks for a key on 401, keeps it and repeats the call with it', async () => {
    const keys = memoryKeys()
    const fetch = vi.fn(async (_url: RequestInfo | URL, init?: RequestInit) => (new Headers(init?.headers).get('X-API-Key') === 'right'
      ? jsonResponse(200, []) : jsonResponse(401, { error: 'missing or wrong X-API-Key header' })))
    const askForKey = vi.fn(async () => 'right')
    await expect(new Api({ keys, fetch, askForKey }).categories()).resolves.toEqual([])
    expect(askForKey).toHaveBeenCalledWith('missing')
    expect(keys.value).toBe('right')
    expect(fetch).toHaveBeenCalledTimes(2)
  })

  it('says the key was wrong when the one sent is refused, and gives up when none is given', async () => {
    const fetch = async () => jsonResponse(401, { error: 'missing or wrong X-API-Key header' })
    const askForKey = vi.fn(async () => null)
    const error = await new Api({ keys: memoryKeys('old'), fetch, askForKey }).categories().catch((e: unknown) => e)
    expect(askForKey).toHaveBeenCalledWith('wrong')
    expect(error).toMatchObject({ status: 401, message: 'missing or wrong X-API-Key header' })
  })

  it('pages through forecast rows until a short page', async () => {
    const full = Array.from({ length: 10_000 }, (_, i) => ({ id: i }))
    const fetch = vi.fn(async (url: RequestInfo | URL) => jsonResponse(200, String(url).includes('offset=0') ? full : [{ id: -1 }]))
    const rows = await new Api({ keys: memoryKeys(), fetch }).forecasts({ category: 'a', modelType: null, startDate: null, endDate: null })
    expect(rows).toHaveLength(10_001)
    expect(fetch.mock.calls[1]![0]).toContain('offset=10000')
  })
})

describe('paths and queries', () => {
  it('leaves out empty values', () => {
    expect(query({ a: '1', b: null, c: '', d: undefined, e: 0 })).toBe('?a=1&e=0')
    expect(query({})).toBe('')
  })

  it('builds the export link from the same filters as the data', () => {
    const filters = { category: 'store 1/a', modelType: 'prophet' as const, startDate: '2018-01-01', endDate: null }
    expect(exportPath(filters, 'csv')).toBe('forecast-data/export?category=store+1%2Fa&model_type=prophet&start_date=2018-01-01&format=csv')
    expect(exportPath({ ...filters, modelType: null, startDate: null }, 'xlsx')).toBe('forecast-data/export?category=store+1%2Fa&format=xlsx')
    expect(exportPath({ ...filters, modelType: 'all', startDate: null }, 'csv')).toBe('forecast-data/export?category=store+1%2Fa&model_type=all&format=csv')
  })

  it('adds product_id to the data and export filters only when a product is chosen', () => {
    const filters = { category: 'north', modelType: null, startDate: null, endDate: null }
    expect(exportPath({ ...filters, productId: 'p 1' }, 'csv')).toBe('forecast-data/export?category=north&product_id=p+1&format=csv')
    expect(exportPath({ ...filters, productId: null }, 'csv')).toBe('forecast-data/export?category=north&format=csv')
  })

  it('asks for products by volume descending or by error ascending', async () => {
    const fetch = vi.fn(async (_url: RequestInfo | URL, _init?: RequestInit) => jsonResponse(200, { data: [] }))
    const api = new Api({ keys: memoryKeys(), fetch })
    await api.products('a/b', { search: ' p1 ', sort: 'volume', page: 2, limit: 20 })
    await api.products('a/b', { search: '', sort: 'mase', page: 1, limit: 20 })
    expect(fetch.mock.calls.map((call) => call[0])).toEqual([
      'categories/a%2Fb/products?search=p1&sort=volume&order=desc&page=2&limit=20',
      'categories/a%2Fb/products?sort=mase&order=asc&page=1&limit=20',
    ])
  })

  it('encodes a category name with a slash into one path segment', () => {
    expect(categoryPath('a/b c', 'history')).toBe('categories/a%2Fb%20c/history')
  })

  it('reads the file name of a Content-Disposition header', () => {
    expect(attachmentName('attachment; filename="forecasts.csv"', 'x')).toBe('forecasts.csv')
    expect(attachmentName(null, 'fallback.csv')).toBe('fallback.csv')
  })
})

/** A stand-in XMLHttpRequest that answers with `status` and `body` after reporting upload progress. */
class FakeXhr {
  static answers: { status: number; body: unknown }[] = []
  static sent: { headers: Record<string, string>; form: FormData }[] = []
  status = 0
  statusText = ''
  responseText = ''
  headers: Record<string, string> = {}
  upload: { onprogress: ((e: { loaded: number; total: number; lengthComputable: boolean }) => void) | null } = { onprogress: null }
  onload: (() => void) | null = null
  onerror: (() => void) | null = null
  onabort: (() => void) | null = null
  open(): void {}
  setRequestHeader(name: string, value: string): void { this.headers[name] = value }
  abort(): void { this.onabort?.() }
  send(form: FormData): void {
    FakeXhr.sent.push({ headers: this.headers, form })
    const answer = FakeXhr.answers.shift()!
    this.upload.onprogress?.({ loaded: 5, total: 10, lengthComputable: true })
    this.upload.onprogress?.({ loaded: 10, total: 10, lengthComputable: true })
    this.status = answer.status
    this.responseText = JSON.stringify(answer.body)
    queueMicrotask(() => this.onload?.())
  }
}

describe('Api.upload', () => {
  const file = new File(['Date,product_id,category,sales\n'], 'sales.csv', { type: 'text/csv' })
  const api = (keys = memoryKeys(), askForKey?: () => Promise<string | null>) =>
    new Api({ keys, askForKey, xhr: () => new FakeXhr() as unknown as XMLHttpRequest })

  it('reports bytes sent and answers the new batch for 202', async () => {
    FakeXhr.answers = [{ status: 202, body: { message: 'file accepted', batch_num: 4 } }]
    const progress: number[] = []
    const outcome = await api().upload({ file, onProgress: (sent) => progress.push(sent) })
    expect(outcome).toEqual({ kind: 'accepted', batchNum: 4 })
    expect(progress).toEqual([5, 10])
  })

  it('answers the original batch for a 409 duplicate', async () => {
    FakeXhr.answers = [{ status: 409, body: { error: 'duplicate file', batch_num: 2 } }]
    await expect(api().upload({ file })).resolves.toEqual({ kind: 'duplicate', batchNum: 2 })
  })

  it('throws the API words for any other 4xx', async () => {
    FakeXhr.answers = [{ status: 415, body: { error: 'unsupported file type: upload a .csv, .csv.gz or .xlsx file' } }]
    await expect(api().upload({ file })).rejects.toMatchObject({ status: 415, message: expect.stringMatching(/unsupported file type/) })
  })

  it('sends the mapping as JSON, or the profile name instead', async () => {
    FakeXhr.answers = [{ status: 202, body: { batch_num: 1 } }, { status: 202, body: { batch_num: 2 } }]
    FakeXhr.sent = []
    await api().upload({ file, mapping: { sales: 'Quantity * UnitPrice' } })
    await api().upload({ file, mapping: { sales: 'x' }, mappingName: 'retail' })
    expect(FakeXhr.sent[0]!.form.get('mapping')).toBe('{"sales":"Quantity * UnitPrice"}')
    expect(FakeXhr.sent[1]!.form.get('mapping')).toBeNull()
    expect(FakeXhr.sent[1]!.form.get('mapping_name')).toBe('retail')
    expect((FakeXhr.sent[1]!.form.get('file') as File).name).toBe('sales.csv')
  })

  it('asks for a key after 401 and sends the file again with it', async () => {
    FakeXhr.answers = [{ status: 401, body: { error: 'missing or wrong X-API-Key header' } }, { status: 202, body: { batch_num: 3 } }]
    FakeXhr.sent = []
    const keys = memoryKeys()
    await expect(api(keys, async () => 'k1').upload({ file })).resolves.toEqual({ kind: 'accepted', batchNum: 3 })
    expect(FakeXhr.sent[1]!.headers['X-API-Key']).toBe('k1')
    expect(keys.value).toBe('k1')
  })

  it('says the upload was cut off when the connection fails', async () => {
    const xhr = new FakeXhr()
    xhr.send = () => { queueMicrotask(() => xhr.onerror?.()) }
    const client = new Api({ keys: memoryKeys(), xhr: () => xhr as unknown as XMLHttpRequest })
    await expect(client.upload({ file })).rejects.toMatchObject({ status: 0, message: expect.stringMatching(/cut off/) })
  })

  it('rejects with "cancelled" when aborted', async () => {
    const controller = new AbortController()
    const xhr = new FakeXhr()
    xhr.send = () => { controller.abort() }
    const client = new Api({ keys: memoryKeys(), xhr: () => xhr as unknown as XMLHttpRequest })
    await expect(client.upload({ file, signal: controller.signal })).rejects.toMatchObject({ message: expect.stringMatching(/cancelled/) })
  })
})

describe('Api.download', () => {
  it('fetches with the key and saves the blob under the given name, else the server name', async () => {
    const clicks: string[] = []
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) { clicks.push(this.download) })
    URL.createObjectURL = vi.fn(() => 'blob:x')
    URL.revokeObjectURL = vi.fn()
    const fetch = vi.fn(async (_url: RequestInfo | URL, _init?: RequestInit) => new Response('a,b\r\n', { headers: { 'Content-Disposition': 'attachment; filename="forecasts.csv"' } }))
    const api = new Api({ keys: memoryKeys('k'), fetch })
    expect(await api.download('forecast-data/export?format=csv', 'forecasts-store-1.csv')).toBe('forecasts-store-1.csv')
    expect(await api.download('forecast-data/export?format=csv')).toBe('forecasts.csv')
    expect(clicks).toEqual(['forecasts-store-1.csv', 'forecasts.csv'])
    expect(new Headers(fetch.mock.calls[0]![1]!.headers).get('X-API-Key')).toBe('k')
    click.mockRestore()
  })

  it('throws the API error instead of saving an error page', async () => {
    const api = new Api({ keys: memoryKeys(), fetch: async () => jsonResponse(400, { error: 'the export would hold too many rows' }) })
    await expect(api.download('forecast-data/export')).rejects.toMatchObject({ status: 400, message: 'the export would hold too many rows' })
  })
})
