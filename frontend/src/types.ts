// The shapes the castflow HTTP API answers (see the README's "Use it with curl").
import type { Drift } from './accuracy'

export type BatchStatus = 'uploaded' | 'processing' | 'completed' | 'failed'
/** A run's status; a batch's roll-up may also be 'partial' (some runs completed, some failed). */
export type ForecastStatus = 'pending' | 'running' | 'completed' | 'partial' | 'failed'

/** GET /batches/<id>: the batch's forecast runs counted by status. */
export interface ForecastRunCounts {
  total: number
  completed: number
  failed: number
  running: number
  pending: number
}

/** The forecasts a run publishes: `recommended` first (the one castflow stands behind), then each model. */
export const MODEL_TYPES = [
  'recommended', 'holt_winters', 'sarimax', 'prophet', 'auto_ets', 'auto_theta', 'mstl', 'naive', 'ensemble',
] as const
export type ModelType = (typeof MODEL_TYPES)[number]
export const RECOMMENDED: ModelType = 'recommended'

/** A column mapping as the API takes it (keys left out keep the original column names). */
export interface Mapping {
  date?: string
  product_id?: string | { const: string }
  category?: string | { const: string }
  sales?: string
  drop_negative_sales?: boolean
  date_format?: string | null
  /** A wide file: these columns (or all but these) are categories, each cell one observation. */
  category_columns?: string[] | { all_except: string[] }
  /** The decimal mark: ',' reads `1.234,5` in ;, tab or | separated files. */
  decimal?: '.' | ','
  /** An Excel workbook with one sheet per category, each with the date and `sales` columns. */
  sheets_as_categories?: boolean
}

export interface MappingProfile {
  name: string
  mapping: Mapping
  created_at: string
  updated_at: string
}

/** The row counts every batch carries. */
export interface BatchCounts {
  num_total_rows: number
  num_missing_rows: number
  num_imputed_rows: number
  num_inserted_rows: number
  num_updated_rows: number
  num_unchanged_rows: number
  num_rejected_rows: number
  num_filtered_rows: number
}

interface BatchCommon extends BatchCounts {
  batch_num: number
  original_filename: string
  status: BatchStatus
  progress: number
  forecast_status: ForecastStatus | null
  error_log: string | null
  file_size: number
  attempts: number
  uploaded_at: string
  started_at: string | null
  finished_at: string | null
}

/** GET /batches/<id>: the mapping decoded, and its forecast runs counted. */
export interface Batch extends BatchCommon {
  mapping: Mapping | null
  forecast_runs: ForecastRunCounts
  /** The sheets or columns of a wide file that became categories; absent or null for a long file. */
  categories_from?: CategoriesFrom | null
  /** Runs that failed because their category's grain could not be told, with the problem in words. */
  forecast_problems?: { run_id: number; category: string; problem: string }[]
  /** Runs that forecast their category's products (or say why not): progress and reconciliation. */
  product_runs?: ProductRun[]
}

/** How far a run's products got (GET /batches/<id> product_runs). */
export interface ProductRun {
  run_id: number
  category: string
  product_status: 'queued' | 'running' | 'completed' | 'failed' | null
  products_total: number | null
  products_done: number | null
  products_skipped: number | null
  reconciliation: string | null
  product_note: string | null
}

/** Which sheets or columns of a file became categories (a wide or one-sheet-per-category upload). */
export type CategoriesFrom = { kind?: 'columns' | 'sheets'; columns?: string[]; sheets?: string[] } | string[]

/** A row of GET /metadata: every upload_metadata column (the mapping as stored JSON text). */
export interface BatchRow extends BatchCommon {
  mapping: string | null
  file_hash: string
  stored_filename: string
}

/** A rejected row of GET /batches/<id>/errors. */
export interface RejectedRow {
  line: number
  column: string | null
  value: string | null
  reason: string
}

export interface Category {
  category: string
  product_count: number
  first_date: string
  last_date: string
  row_count: number
  best_model: ModelType | null
  holiday_country: string | null
  holiday_country_overridden: boolean
  last_run_id: number | null
  forecast_status: ForecastStatus | null
  /** How the latest completed run built its recommended forecast; null before one or for an older run. */
  recommended_method?: string | null
  /** The grain the category is forecast at, its anchor (weekday, start/end), where it comes from, or why none. */
  grain?: Grain | null
  grain_anchor?: string | null
  grain_source?: 'detected' | 'setting'
  grain_problem?: string | null
  /** True while the current forecast's realised error is past its drift threshold; the numbers and reason. */
  drifting?: boolean
  drift?: Drift | null
}

export interface HistoryPoint {
  date: string
  sales: number
  /** With a grain: the period's days the sum holds, and its length. */
  days?: number
  days_in_period?: number
}

/** How the forecast view sums: per day (the rows as stored), per Monday week, per month. */
export const VIEW_GRAINS = ['day', 'week', 'month'] as const satisfies readonly Grain[]

/** A row of GET /forecast-data?grain=week|month: one series' forecast summed over a period. */
export interface ForecastPeriod {
  forecast_date: string
  period_end: string
  category: string
  model_type: ModelType
  run_id: number
  batch_num: number | null
  grain: Grain
  /** How many of the period's days the forecast holds, from forecast_start to forecast_end. */
  days: number
  days_in_period: number
  forecast_start: string
  forecast_end: string
  /** The forecast's sum over its days, and that sum's interval and quantiles. */
  forecast_value: number
  lower_bound: number
  upper_bound: number
  p10: number | null
  p50: number | null
  p90: number | null
  /** The stored sales of the period's days before the forecast (the period it starts in), else null. */
  actual: number | null
  actual_days: number
  /** actual + forecast_value: what the period is expected to come to. */
  total: number
  complete: boolean
  /** Month grain: the month's target, total minus target, and that over the target. */
  target?: number | null
  gap?: number | null
  gap_share?: number | null
}

/** A category's monthly targets: {"YYYY-MM": target}. */
export type Targets = Record<string, number>

export interface ForecastRow {
  id: number
  forecast_date: string
  category: string
  model_type: ModelType
  forecast_value: number
  lower_bound: number | null
  upper_bound: number | null
  batch_num: number | null
  run_id: number
  /** The 10th, 50th and 90th percentiles; null in rows made before quantiles. */
  p10?: number | null
  p50?: number | null
  p90?: number | null
}

export interface ForecastMetric {
  category: string
  model_type: ModelType
  run_id: number
  mae: number | null
  rmse: number | null
  smape: number | null
  mase: number | null
  coverage: number | null
  /** Share of held-out days inside p10..p90, and the weighted quantile loss of p10/p50/p90. */
  coverage80?: number | null
  wql?: number | null
  is_best: boolean
  error: string | null
  fit_seconds: number | null
  /** On the recommended row: how the run built it. */
  method?: string | null
}

/** How often a category's figures come; the grain it is forecast at. */
export type Grain = 'day' | 'week' | 'month' | 'quarter'

export interface CategorySettings {
  category: string
  holiday_country: string | null
  holiday_country_overridden: boolean
  default_holiday_country: string | null
  updated_at: string | null
  /** The grain setting; null: the grain the stored dates show. */
  grain?: Grain | null
  /** The horizon in periods of the grain; null: the grain's default. */
  horizon?: number | null
  /** In a save's answer when the grain or horizon changed: the refresh the server queued. */
  refresh_queued?: boolean
  runs?: number[]
  message?: string
}

/** A settings save: each key sent is changed, the others kept. */
export interface SettingsChange {
  holiday_country?: string | null
  grain?: Grain | null
  horizon?: number | null
}

export type EventKind = 'event' | 'closure'

/** A category's own event: a promotion, a closure or a one-off day, start to end inclusive (YYYY-MM-DD). */
export interface CategoryEvent {
  name: string
  start: string
  end: string
  kind: EventKind
}

/** PUT /categories/<name>/events: the list stored, and whether a forecast refresh was queued. */
export interface EventsAnswer {
  events: CategoryEvent[]
  refresh_queued: boolean
  runs: number[]
  message?: string
}

/** What DELETE /batches/<id> answers: the batch taken back. */
export interface UndoAnswer {
  batch_num: number
  removed_rows: number
  restored_rows: number
  categories: string[]
  forecast_run_ids: number[]
}

export interface RefreshAnswer {
  runs: { run_id: number; category: string; job_id: string }[]
  queued: boolean
  message?: string
}

/** What an upload came to: a new batch, or the batch that already holds the same file. */
export type UploadOutcome = { kind: 'accepted'; batchNum: number } | { kind: 'duplicate'; batchNum: number }

/** The filters of the forecast view, as the query API names them. */
export interface ForecastFilters {
  category: string
  /** One model, `all` of them, or null: the API's default, each run's recommended forecast. */
  modelType: ModelType | 'all' | null
  startDate: string | null
  endDate: string | null
  /** One product's reconciled forecast instead of the category's (absent or null: the category's). */
  productId?: string | null
}

export interface Pagination {
  page: number
  limit: number
  total_items: number
  total_pages: number
}

/** One product of a category's latest completed product run (GET /categories/<name>/products). */
export interface ProductSummary {
  product_id: string
  status: 'forecast' | 'skipped'
  method: string | null
  mase: number | null
  mae: number | null
  volume: number
  selling_days: number
  note: string | null
}

export interface ProductsPage {
  category: string
  run_id: number
  reconciliation: string | null
  products_total: number | null
  products_skipped: number | null
  product_note: string | null
  data: ProductSummary[]
  pagination: Pagination
}

export type ProductSort = 'volume' | 'mase'

export interface ProductQuery {
  search: string
  sort: ProductSort
  page: number
  limit: number
}

/** One product's stock advice (GET /inventory). */
export interface InventoryRow {
  category: string
  product_id: string
  on_hand: number
  order_now: boolean
  order_quantity: number
  reorder_point: number | null
  safety_stock: number | null
  lead_time_demand: number | null
  days_of_inventory: number | null
  stockout_date: string | null
  mean_daily_demand: number | null
  eoq: number | null
  lead_time_days: number
  service_level: number
  run_id: number | null
  note: string | null
}

export interface StockAnswer {
  rows: number
  inserted: number
  updated: number
}

/** A refused stock row, as the 400 answer of POST /inventory/stock lists them. */
export interface StockProblem {
  line: number
  column: string
  value: string
  reason: string
}

export interface InventoryPage {
  data: InventoryRow[]
  pagination: Pagination
}
