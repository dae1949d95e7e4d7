// The one place that talks to the castflow API: fetch + errors + the API key, typed answers.
import type {
  Batch, BatchRow, Category, CategoryEvent, CategorySettings, EventsAnswer, ForecastFilters, ForecastMetric, ForecastPeriod, ForecastRow,
  Grain, HistoryPoint, InventoryPage, Mapping, MappingProfile, ProductQuery, ProductsPage, RefreshAnswer, StockAnswer, RejectedRow, SettingsChange, Targets, UndoAnswer, UploadOutcome,
} from './types'
import type { Backtests } from './backtest'
import type { Seasonality } from './seasonality'
import type { Accuracy } from './accuracy'

/** An answer that is not a success, with the API's own words ({"error": ...}) as the message. */
export class ApiError extends Error {
  readonly status: number
  readonly body: unknown

  constructor(status: number, message: string, body: unknown = null) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.body = body
  }
}

/** Where the API key lives between calls. */
export interface KeyStore {
  get(): string | null
  set(key: string | null): void
}

/** Asks the person for a key after a 401 ('missing': none was sent, 'wrong': the one sent was refused). */
export type AskForKey = (reason: 'missing' | 'wrong') => Promise<string | null>

export interface ApiOptions {
  keys: KeyStore
  askForKey?: AskForKey
  /** Prefix of every path; '' keeps them relative to the page (castflow serves the app at its root). */
  base?: string
  fetch?: typeof fetch
  xhr?: () => XMLHttpRequest
}

export interface UploadRequest {
  file: File
  mapping?: Mapping | null
  mappingName?: string | null
  onProgress?: (sent: number, total: number) => void
  /** Aborting it stops the upload (the promise then rejects with an ApiError 'cancelled'). */
  signal?: AbortSignal
}

const PAGE = 10_000

/** The message of a failed answer: its JSON error, else the HTTP status in words. */
export function errorMessage(status: number, statusText: string, body: unknown): string {
  if (body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string') {
    return (body as { error: string }).error
  }
  if (status === 0) return 'The castflow API cannot be reached: check your connection and that the server is running.'
  if (status === 401) return 'This castflow needs an API key (X-API-Key); none or a wrong one was given.'
  if (status === 413) return 'The file is larger than this castflow accepts.'
  return `The server answered HTTP ${status}${statusText ? ` ${statusText}` : ''}.`
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null
  } catch {
    return null
  }
}

/** A query string from the given values (nulls and empty strings left out), with its leading '?'. */
export function query(values: Record<string, string | number | null | undefined>): string {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(values)) {
    if (value !== null && value !== undefined && value !== '') params.set(name, String(value))
  }
  const text = params.toString()
  return text ? `?${text}` : ''
}

/** The /forecast-data (and export) query parameters of the forecast view's filters. */
export function forecastParams(filters: ForecastFilters): Record<string, string | null> {
  return {
    category: filters.category, model_type: filters.modelType,
    start_date: filters.startDate, end_date: filters.endDate, product_id: filters.productId ?? null,
  }
}

/** The download path of what the forecast view shows, in `format`, built from the same filters. */
export function exportPath(filters: ForecastFilters, format: 'csv' | 'xlsx'): string {
  return `forecast-data/export${query({ ...forecastParams(filters), format })}`
}

/** The path of a category's resource (the name may hold '/' or any other character). */
export function categoryPath(name: string, tail: string): string {
  return `categories/${encodeURIComponent(name)}/${tail}`
}

/** The file name a Content-Disposition header gives, else `fallback`. */
export function attachmentName(header: string | null, fallback: string): string {
  const match = header?.match(/filename\*?=(?:UTF-8'')?"?([^";]+)"?/i)
  return match?.[1] ? decodeURIComponent(match[1]) : fallback
}

export class Api {
  private readonly options: Required<Pick<ApiOptions, 'base'>> & ApiOptions

  constructor(options: ApiOptions) {
    this.options = { base: '', ...options }
  }

  /** Send a request with the key; on 401 ask for a key and try again until one works or none is given. */
  async send(path: string, init: RequestInit = {}): Promise<Response> {
    const doFetch = this.options.fetch ?? globalThis.fetch.bind(globalThis)
    for (;;) {
      const key = this.options.keys.get()
      const headers = new Headers(init.headers)
      if (key) headers.set('X-API-Key', key)
      let response: Response
      try {
        response = await doFetch(this.options.base + path, { ...init, headers })
      } catch {
        throw new ApiError(0, errorMessage(0, '', null))
      }
      if (response.status !== 401 || !(await this.newKey(key))) return response
    }
  }

  /** A JSON answer, or an ApiError carrying the API's message. */
  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const response = await this.send(path, init)
    const body = parseJson(await response.text())
    if (!response.ok) throw new ApiError(response.status, errorMessage(response.status, response.statusText, body), body)
    return body as T
  }

  private async newKey(sent: string | null): Promise<boolean> {
    const key = this.options.askForKey ? await this.options.askForKey(sent ? 'wrong' : 'missing') : null
    if (!key) return false
    this.options.keys.set(key)
    return true
  }

  private sendJson<T>(method: string, path: string, body: unknown): Promise<T> {
    return this.json<T>(path, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
  }

  listBatches(limit = 100): Promise<BatchRow[]> {
    return this.json(`metadata${query({ limit })}`)
  }

  batch(id: number): Promise<Batch> {
    return this.json(`batches/${id}`)
  }

  /** Take a completed batch back (needs the full key); the API refuses with the reason when it cannot. */
  undoBatch(id: number): Promise<UndoAnswer> {
    return this.json(`batches/${id}`, { method: 'DELETE' })
  }

  batchErrors(id: number): Promise<RejectedRow[]> {
    return this.json(`batches/${id}/errors`)
  }

  categories(): Promise<Category[]> {
    return this.json('categories')
  }

  /** The category's daily totals, or with a week or month grain its sums per period. */
  history(category: string, startDate: string | null, endDate: string | null, grain: Grain = 'day'): Promise<HistoryPoint[]> {
    const grainParam = grain === 'day' ? null : grain
    return this.json(categoryPath(category, `history${query({ start_date: startDate, end_date: endDate, grain: grainParam })}`))
  }

  /** Every forecast row the filters match (paged through, the API answers at most PAGE at a time). */
  forecasts(filters: ForecastFilters): Promise<ForecastRow[]> {
    return this.allPages<ForecastRow>(forecastParams(filters))
  }

  /** Every forecast the filters match, summed per week or month. */
  forecastPeriods(filters: ForecastFilters, grain: Exclude<Grain, 'day'>): Promise<ForecastPeriod[]> {
    return this.allPages<ForecastPeriod>({ ...forecastParams(filters), grain })
  }

  private async allPages<T>(params: Record<string, string | null>): Promise<T[]> {
    const rows: T[] = []
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.json<T[]>(`forecast-data${query({ ...params, limit: PAGE, offset })}`)
      rows.push(...page)
      if (page.length < PAGE) return rows
    }
  }

  /** A page of the category's products (its latest completed product run), searched and sorted. */
  products(category: string, ask: ProductQuery): Promise<ProductsPage> {
    const order = ask.sort === 'volume' ? 'desc' : 'asc'
    return this.json(categoryPath(category, `products${query({ search: ask.search.trim(), sort: ask.sort, order, page: ask.page, limit: ask.limit })}`))
  }

  /** A product's daily sales in a category, oldest first (the newest `limit` days). */
  async productHistory(category: string, productId: string, limit = 10000): Promise<HistoryPoint[]> {
    const answer = await this.json<{ data: { date: string; sales: number }[] }>(`invoice-data${query({ category, product_id: productId, limit })}`)
    return answer.data.map((row) => ({ date: row.date, sales: row.sales })).reverse()
  }

  /** A page of products' stock advice, order-now first. */
  inventory(category: string | null, page: number, limit = 50): Promise<InventoryPage> {
    return this.json(`inventory${query({ category, page, limit })}`)
  }

  /** Send a stock file (.csv, .csv.gz, .xlsx); all its rows are stored, or none (the error lists the bad rows). */
  uploadStock(file: File): Promise<StockAnswer> {
    const form = new FormData()
    form.append('file', file, file.name)
    return this.json('inventory/stock', { method: 'POST', body: form })
  }

  categoryTargets(category: string): Promise<Targets> {
    return this.json(categoryPath(category, 'targets'))
  }

  /** Replace the category's whole set of monthly targets ({} clears them). */
  saveCategoryTargets(category: string, targets: Record<string, number | string>): Promise<Targets> {
    return this.sendJson('PUT', categoryPath(category, 'targets'), targets)
  }

  metrics(category: string): Promise<ForecastMetric[]> {
    return this.json(`forecast-metrics${query({ category })}`)
  }

  /** The category's weekday profile and month factors (each null with a reason when its data cannot tell). */
  seasonality(category: string): Promise<Seasonality> {
    return this.json(categoryPath(category, 'seasonality'))
  }

  /** Realised accuracy of the category's past recommended forecasts, grouped by date or days ahead. */
  accuracy(category: string, groupBy: Accuracy['group_by']): Promise<Accuracy> {
    return this.json(`accuracy${query({ category, model_type: 'recommended', group_by: groupBy })}`)
  }

  /** Each model's forecasts on the held-back windows of the category's latest run, with the actuals. */
  backtests(category: string): Promise<Backtests> {
    return this.json(`forecast-backtests${query({ category })}`)
  }

  categorySettings(category: string): Promise<CategorySettings> {
    return this.json(categoryPath(category, 'settings'))
  }

  /** Change some of the category's settings (the server queues a refresh when the grain or horizon changed). */
  saveCategorySettings(category: string, change: SettingsChange): Promise<CategorySettings> {
    return this.sendJson('PUT', categoryPath(category, 'settings'), change)
  }

  categoryEvents(category: string): Promise<CategoryEvent[]> {
    return this.json(categoryPath(category, 'events'))
  }

  /** Replace the category's whole list of events (the server queues a forecast refresh when it changed). */
  saveCategoryEvents(category: string, events: CategoryEvent[]): Promise<EventsAnswer> {
    return this.sendJson('PUT', categoryPath(category, 'events'), events)
  }

  refreshForecasts(category: string): Promise<RefreshAnswer> {
    return this.sendJson('POST', 'forecasts/refresh', { category })
  }

  mappings(): Promise<MappingProfile[]> {
    return this.json('mappings')
  }

  saveMapping(name: string, mapping: Mapping): Promise<MappingProfile> {
    return this.sendJson('POST', 'mappings', { name, mapping })
  }

  /** Fetch a file with the key (a plain link cannot send it) and save it as `filename` (else the server's name). */
  async download(path: string, filename: string | null = null): Promise<string> {
    const response = await this.send(path)
    if (!response.ok) {
      const body = parseJson(await response.text())
      throw new ApiError(response.status, errorMessage(response.status, response.statusText, body), body)
    }
    const name = filename || attachmentName(response.headers.get('Content-Disposition'), 'download')
    saveBlob(await response.blob(), name)
    return name
  }

  /** POST /upload with real upload progress (XMLHttpRequest); 409 is an outcome, other failures throw. */
  async upload(request: UploadRequest): Promise<UploadOutcome> {
    for (;;) {
      const key = this.options.keys.get()
      const { status, statusText, body } = await this.postFile(request, key)
      if (status === -1) throw new ApiError(0, 'The upload was cancelled; nothing was stored.')
      if (status === 0) throw new ApiError(0, 'The upload was cut off or the castflow API cannot be reached: check the connection and that the file is within the size limit.')
      if (status === 401 && (await this.newKey(key))) continue
      const batchNum = (body as { batch_num?: unknown } | null)?.batch_num
      if (status === 202 || status === 201) return { kind: 'accepted', batchNum: Number(batchNum) }
      if (status === 409 && typeof batchNum === 'number') return { kind: 'duplicate', batchNum }
      throw new ApiError(status, errorMessage(status, statusText, body), body)
    }
  }

  private postFile(request: UploadRequest, key: string | null): Promise<{ status: number; statusText: string; body: unknown }> {
    const form = new FormData()
    if (request.mappingName) form.append('mapping_name', request.mappingName)
    else if (request.mapping) form.append('mapping', JSON.stringify(request.mapping))
    form.append('file', request.file, request.file.name)
    const xhr = this.options.xhr ? this.options.xhr() : new XMLHttpRequest()
    return new Promise((resolve) => {
      xhr.open('POST', `${this.options.base}upload`)
      if (key) xhr.setRequestHeader('X-API-Key', key)
      xhr.upload.onprogress = (event) => request.onProgress?.(event.loaded, event.lengthComputable ? event.total : request.file.size)
      xhr.onload = () => resolve({ status: xhr.status, statusText: xhr.statusText, body: parseJson(xhr.responseText) })
      xhr.onerror = () => resolve({ status: 0, statusText: '', body: null })
      xhr.onabort = () => resolve({ status: -1, statusText: '', body: null })
      request.signal?.addEventListener('abort', () => xhr.abort(), { once: true })
      xhr.send(form)
    })
  }
}

/** Save a blob under `name` through a temporary link (how a browser downloads data it already holds). */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob)
  const link = document.createElement('a')
  link.href = url
  link.download = name
  link.style.display = 'none'
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 30_000)
}

const STORAGE_KEY = 'castflow.apiKey'

/** The key in sessionStorage (this tab), or in localStorage when the person asked to be remembered. */
export function browserKeyStore(remember: () => boolean = () => false): KeyStore {
  return {
    get: () => sessionStorage.getItem(STORAGE_KEY) ?? localStorage.getItem(STORAGE_KEY),
    set: (key) => {
      sessionStorage.removeItem(STORAGE_KEY)
      localStorage.removeItem(STORAGE_KEY)
      if (key) (remember() ? localStorage : sessionStorage).setItem(STORAGE_KEY, key)
    },
  }
}
