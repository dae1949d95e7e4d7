import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { ApiError } from '../src/api'
import { batchFinished, categorySources, forecastRunsText, productProgress, productRunText, undoneText } from '../src/batches'

const api = vi.hoisted(() => ({ batch: vi.fn(), batchErrors: vi.fn(async () => []), listBatches: vi.fn(), undoBatch: vi.fn() }))
vi.mock('../src/client', () => ({ api, keys: { get: () => null, set: () => {} } }))

const { default: BatchView } = await import('../src/components/BatchView.vue')
const { default: BatchesView } = await import('../src/components/BatchesView.vue')

const PARTIAL_RUNS = { total: 38, completed: 34, failed: 4, running: 0, pending: 0 }
const BATCH = {
  batch_num: 5, original_filename: 'retail.xlsx', status: 'completed', progress: 1, forecast_status: 'partial',
  error_log: null, mapping: null, file_size: 100, attempts: 1, uploaded_at: '2024-01-01T10:00:00',
  started_at: null, finished_at: null, num_total_rows: 1, num_missing_rows: 0, num_imputed_rows: 0,
  num_inserted_rows: 1, num_updated_rows: 0, num_unchanged_rows: 0, num_rejected_rows: 0, num_filtered_rows: 0,
  forecast_runs: PARTIAL_RUNS,
}

describe('forecast runs in words', () => {
  it('counts the forecast, failed and waiting runs', () => {
    expect(forecastRunsText(PARTIAL_RUNS)).toBe('34 of 38 forecast, 4 failed')
    expect(forecastRunsText({ total: 5, completed: 2, failed: 0, running: 1, pending: 2 })).toBe('2 of 5 forecast, 3 to go')
    expect(forecastRunsText({ total: 0, completed: 0, failed: 0, running: 0, pending: 0 })).toBe('')
    expect(forecastRunsText(undefined)).toBe('')
  })

  it('treats a partial batch as finished', () => {
    expect(batchFinished({ status: 'completed', forecast_status: 'partial' })).toBe(true)
    expect(batchFinished({ status: 'completed', forecast_status: 'running' })).toBe(false)
  })
})

describe('a partial batch', () => {
  it('reads "34 of 38 forecast, 4 failed" on its page, with a partial badge', async () => {
    api.batch.mockResolvedValue(BATCH)
    const wrapper = mount(BatchView, { props: { id: 5 } })
    await flushPromises()
    expect(wrapper.get('.forecast-status .badge').classes()).toContain('partial')
    expect(wrapper.get('.forecast-status').text()).toBe('Forecast: partial')
    expect(wrapper.get('.forecast-runs').text()).toBe('34 of 38 forecast, 4 failed')
    wrapper.unmount()
  })

  it('lists the runs that failed for their grain, with the problem in words', async () => {
    const problem = 'the dates mix grains: 19 steps of a week or less beside 29 monthly steps'
    api.batch.mockResolvedValue({ ...BATCH, forecast_problems: [{ run_id: 7, category: 'mixed', problem }] })
    const wrapper = mount(BatchView, { props: { id: 5 } })
    await flushPromises()
    expect(wrapper.get('ul[aria-label="Forecast problems"]').text()).toBe(`mixed: ${problem}`)
    wrapper.unmount()
  })

  it('shows its counts in the batch list too', async () => {
    const { forecast_runs: _runs, ...row } = BATCH
    api.listBatches.mockResolvedValue([{ ...row, mapping: null, file_hash: 'x', stored_filename: 'x' }])
    api.batch.mockResolvedValue(BATCH)
    const wrapper = mount(BatchesView)
    await flushPromises()
    const cells = wrapper.get('tr[data-batch="5"] .statuses')
    expect(cells.text()).toContain('Forecast: partial')
    expect(cells.get('.forecast-runs').text()).toBe('34 of 38 forecast, 4 failed')
    expect(cells.findAll('.badge').at(1)?.classes()).toContain('partial')
    wrapper.unmount()
  })
})

describe('a wide batch', () => {
  it('names the columns or sheets its categories came from', () => {
    expect(categorySources({ categories_from: { columns: ['Calls', 'Emails'] }, mapping: null })).toEqual({ kind: 'columns', names: ['Calls', 'Emails'] })
    expect(categorySources({ categories_from: { sheets: ['Calls'] }, mapping: null })).toEqual({ kind: 'sheets', names: ['Calls'] })
    expect(categorySources({ categories_from: null, mapping: null })).toBeNull()
    expect(categorySources({ mapping: null })).toBeNull()
  })

  it('lists them on its page, and counts cells rather than lines', async () => {
    api.batch.mockResolvedValue({
      ...BATCH, categories_from: { columns: ['NYPD', 'DOB'] },
      mapping: { date: 'date', category: { const: '311' }, category_columns: { all_except: ['date', 'total'] } },
    })
    const wrapper = mount(BatchView, { props: { id: 5 } })
    await flushPromises()
    expect(wrapper.get('.categories-from p').text()).toBe('2 columns loaded, each as a product:')
    expect(wrapper.findAll('ul.sources li').map((li) => li.text())).toEqual(['NYPD', 'DOB'])
    expect(wrapper.get('[data-count="num_total_rows"] dt').text()).toBe('Cells read')
    wrapper.unmount()
  })

  it('shows nothing of the kind for a long file', async () => {
    api.batch.mockResolvedValue(BATCH)
    const wrapper = mount(BatchView, { props: { id: 5 } })
    await flushPromises()
    expect(wrapper.find('.categories-from').exists()).toBe(false)
    expect(wrapper.get('[data-count="num_total_rows"] dt').text()).toBe('Rows read')
    wrapper.unmount()
  })
})

describe('undoing a batch', () => {
  const ANSWER = { batch_num: 5, removed_rows: 1, restored_rows: 2, categories: ['north'], forecast_run_ids: [9] }

  it('says what the undo did', () => {
    expect(undoneText(ANSWER)).toBe('Batch 5 undone: 1 row removed, 2 restored; 1 category forecast again.')
    expect(undoneText({ ...ANSWER, removed_rows: 3, forecast_run_ids: [] }))
      .toBe('Batch 5 undone: 3 rows removed, 2 restored; 0 categories forecast again.')
  })

  it('asks first, and sends nothing when the user says no', async () => {
    api.batch.mockResolvedValue(BATCH)
    api.undoBatch.mockReset()
    const confirm = vi.fn(() => false)
    vi.stubGlobal('confirm', confirm)
    const wrapper = mount(BatchView, { props: { id: 5 } })
    await flushPromises()
    await wrapper.get('button.undo').trigger('click')
    expect(confirm).toHaveBeenCalledOnce()
    expect(api.undoBatch).not.toHaveBeenCalled()
    vi.unstubAllGlobals()
    wrapper.unmount()
  })

  it('undoes after the confirmation and shows the result instead of the batch', async () => {
    api.batch.mockResolvedValue(BATCH)
    api.undoBatch.mockReset().mockResolvedValue(ANSWER)
    vi.stubGlobal('confirm', vi.fn(() => true))
    const wrapper = mount(BatchView, { props: { id: 5 } })
    await flushPromises()
    await wrapper.get('button.undo').trigger('click')
    await flushPromises()
    expect(api.undoBatch).toHaveBeenCalledWith(5)
    expect(wrapper.get('.undo-message').text()).toBe(undoneText(ANSWER))
    expect(wrapper.find('.counts').exists()).toBe(false)
    expect(wrapper.find('button.undo').exists()).toBe(false)
    vi.unstubAllGlobals()
    wrapper.unmount()
  })

  it("shows the API's reason when the undo is refused", async () => {
    api.batch.mockResolvedValue(BATCH)
    const reason = '1 of the keys batch 5 wrote were changed since by later batches (batch 6 first); undo those first'
    api.undoBatch.mockReset().mockRejectedValue(new ApiError(409, reason))
    vi.stubGlobal('confirm', vi.fn(() => true))
    const wrapper = mount(BatchView, { props: { id: 5 } })
    await flushPromises()
    await wrapper.get('button.undo').trigger('click')
    await flushPromises()
    expect(wrapper.get('.undo-message').classes()).toContain('error')
    expect(wrapper.get('.undo-message').text()).toBe(reason)
    expect(wrapper.find('.counts').exists()).toBe(true)
    vi.unstubAllGlobals()
    wrapper.unmount()
  })

  it('offers no undo for a batch that is not completed', async () => {
    api.batch.mockResolvedValue({ ...BATCH, status: 'processing', forecast_status: null })
    const wrapper = mount(BatchView, { props: { id: 5 } })
    await flushPromises()
    expect(wrapper.find('button.undo').exists()).toBe(false)
    wrapper.unmount()
  })
})

describe('product forecasts of a batch', () => {
  const RUN = { run_id: 3, category: 'store-01', product_status: 'running' as const, products_total: 500, products_done: 350,
    products_skipped: 3, reconciliation: null, product_note: null }

  it('says how far the products got and how they were reconciled', () => {
    expect(productRunText(RUN)).toBe('350 of 500 products, 3 skipped')
    expect(productRunText({ ...RUN, product_status: 'completed', products_done: 500, reconciliation: 'mint_shrink' }))
      .toBe('500 of 500 products, 3 skipped, reconciled by mint_shrink')
    expect(productRunText({ ...RUN, product_status: null, product_note: 'products are forecast at days only' }))
      .toBe('products are forecast at days only')
    expect(productProgress(RUN)).toBe(0.7)
  })

  it('keeps watching a batch whose products are still running', () => {
    expect(batchFinished({ status: 'completed', forecast_status: 'completed', product_runs: [RUN] })).toBe(false)
    expect(batchFinished({ status: 'completed', forecast_status: 'completed',
      product_runs: [{ ...RUN, product_status: 'completed' }] })).toBe(true)
  })

  it('shows each run\'s product progress on the batch page', async () => {
    api.batch.mockResolvedValue({ ...BATCH, forecast_status: 'completed', product_runs: [RUN] })
    const view = mount(BatchView, { props: { id: 5 } })
    await flushPromises()
    const item = view.find('.product-runs li')
    expect(item.text()).toContain('store-01')
    expect(item.text()).toContain('350 of 500 products, 3 skipped')
    expect(item.find('[role="progressbar"]').attributes('aria-valuenow')).toBe('70')
    view.unmount()
  })
})
