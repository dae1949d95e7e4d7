import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError } from '../src/api'
import type { MappingChoice } from '../src/mapping'
import type { ForecastMetric } from '../src/types'

const api = vi.hoisted(() => ({
  upload: vi.fn(),
  mappings: vi.fn(async () => []),
  listBatches: vi.fn(),
}))
vi.mock('../src/client', () => ({ api, keys: { get: () => null, set: () => {} } }))

const { default: UploadView } = await import('../src/components/UploadView.vue')
const { default: MetricsTable } = await import('../src/components/MetricsTable.vue')
const { default: BatchesView } = await import('../src/components/BatchesView.vue')

async function dropFile(wrapper: ReturnType<typeof mount>, file: File): Promise<void> {
  await wrapper.get('.dropzone').trigger('drop', { dataTransfer: { files: [file] } })
  await flushPromises()
}

const csv = () => new File(['Date,product_id,category,sales\n2023-01-01,a,b,1\n'], 'sales.csv', { type: 'text/csv' })

beforeEach(() => {
  api.upload.mockReset()
})

describe('UploadView', () => {
  it('shows a duplicate as "already uploaded as batch X" with a link to it', async () => {
    api.upload.mockResolvedValue({ kind: 'duplicate', batchNum: 7 })
    const wrapper = mount(UploadView)
    await dropFile(wrapper, csv())
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('.duplicate').text()).toContain('already uploaded as batch 7')
    expect(wrapper.get('.duplicate a').attributes('href')).toBe('#/batches/7')
  })

  it('shows the API error in words', async () => {
    api.upload.mockRejectedValue(new ApiError(400, 'the file has no data rows (header only)'))
    const wrapper = mount(UploadView)
    await dropFile(wrapper, csv())
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('.upload-error').text()).toBe('the file has no data rows (header only)')
  })

  it('refuses a file type castflow cannot read before sending it', async () => {
    const wrapper = mount(UploadView)
    await dropFile(wrapper, new File(['x'], 'notes.txt'))
    expect(wrapper.text()).toContain('castflow reads .csv, .csv.gz and .xlsx files')
    expect(wrapper.get('button[type="submit"]').attributes('disabled')).toBeDefined()
  })

  it('opens the column mapping for a header without the original columns and sends the mapping', async () => {
    api.upload.mockResolvedValue({ kind: 'duplicate', batchNum: 1 })
    const wrapper = mount(UploadView)
    await dropFile(wrapper, new File(['InvoiceDate,StockCode,Quantity,UnitPrice,Country\n'], 'retail.csv'))
    expect(wrapper.text()).toContain("This file's header lacks castflow's own columns")
    await wrapper.get('input[value="product"]').setValue(true)
    await wrapper.get('#map-sales-b').setValue('UnitPrice')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(api.upload.mock.calls[0]![0].mapping).toEqual({
      date: 'InvoiceDate', product_id: 'StockCode', category: 'Country', sales: 'Quantity * UnitPrice',
      drop_negative_sales: false, date_format: null,
    })
  })
})

describe('UploadView with a wide file', () => {
  const PHARMACY = 'datum;M01AB;N02BA;total;Year;Weekday Name\n1/2/2014;0;3.4;3.4;2014;Thursday\n1/13/2014;8;4;12;2014;Monday\n'

  it('offers one column per category with the numeric columns ticked, a preview, and sends category_columns', async () => {
    api.upload.mockResolvedValue({ kind: 'duplicate', batchNum: 1 })
    const wrapper = mount(UploadView)
    await dropFile(wrapper, new File([PHARMACY], 'pharmacy.csv'))
    expect((wrapper.get('input[type="radio"][value="columns"]').element as HTMLInputElement).checked).toBe(true)
    const ticked = wrapper.findAll('.column-choice input').filter((box) => (box.element as HTMLInputElement).checked)
    expect(ticked.map((box) => box.attributes('value'))).toEqual(['M01AB', 'N02BA'])
    expect(wrapper.findAll('.column-choice').map((label) => `${label.get('.mono').text()}: ${label.get('.tag').text()}`)).toEqual([
      'M01AB: numbers', 'N02BA: numbers', 'total: total', 'Year: calendar', 'Weekday Name: calendar',
    ])
    const cells = wrapper.findAll('table.mapping-preview tbody tr').map((tr) => tr.findAll('td').slice(1, 5).map((td) => td.text()))
    expect(cells).toEqual([
      ['2014-01-02', 'M01AB', 'all', '0.00'], ['2014-01-02', 'N02BA', 'all', '3.40'],
      ['2014-01-13', 'M01AB', 'all', '8.00'], ['2014-01-13', 'N02BA', 'all', '4.00'],
    ])
    expect(wrapper.find('.decimal-offer').exists()).toBe(false)
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(api.upload.mock.calls[0]![0].mapping).toEqual({
      date: 'datum', category_columns: ['M01AB', 'N02BA'], product_id: { const: 'all' }, drop_negative_sales: false,
      date_format: '%m/%d/%Y',
    })
  })

  it('offers decimal commas for a ; file that writes them, and reads the preview with them once taken', async () => {
    const wrapper = mount(UploadView)
    await dropFile(wrapper, new File(['Datum;Anrufe;Mails\n2014-01-02;1,5;2\n'], 'centre.csv'))
    expect(wrapper.get('.decimal-offer').text()).toContain('decimals with a comma')
    expect(wrapper.get('table.mapping-preview tbody tr').text()).toContain('not a number')
    await wrapper.get('.decimal-offer button').trigger('click')
    expect(wrapper.find('.decimal-offer').exists()).toBe(false)
    expect(wrapper.get('table.mapping-preview tbody tr td[data-label="Sales"]').text()).toBe('1.50')
  })

  it('never offers decimal commas for a , file', async () => {
    const wrapper = mount(UploadView)
    await dropFile(wrapper, new File(['date,Calls,Mails\n2014-01-02,"1,5",2\n'], 'centre.csv'))
    expect(wrapper.find('.decimal-offer').exists()).toBe(false)
    expect(wrapper.text()).not.toContain('Numbers use a decimal comma')
  })
})

describe('MappingPanel without a readable header', () => {
  it('takes the category columns typed in, as a list or as all but these', async () => {
    const { default: MappingPanel } = await import('../src/components/MappingPanel.vue')
    const wrapper = mount(MappingPanel, { props: { columns: null, needed: false, modelValue: { mapping: null, mappingName: null, problems: [] } } })
    await wrapper.get('input[type="checkbox"]').setValue(true)
    await wrapper.get('input[type="radio"][value="columns"]').setValue(true)
    await wrapper.get('#map-date').setValue('date')
    const names = wrapper.get('input[aria-label="Category column names"]')
    await names.setValue(' Calls, Emails ,')
    await names.trigger('change')
    const sent = () => wrapper.emitted('update:modelValue')!.at(-1)![0] as MappingChoice
    expect(sent().mapping?.category_columns).toEqual(['Calls', 'Emails'])
    expect(sent().problems).toEqual([])
    await wrapper.findAll('.category-columns input[type="radio"]')[1]!.setValue(true)
    await names.setValue('total')
    await names.trigger('change')
    expect(sent().mapping?.category_columns).toEqual({ all_except: ['date', 'total'] })
  })
})

describe('MetricsTable', () => {
  const metric = (model: ForecastMetric['model_type'], mase: number, best: boolean): ForecastMetric => ({
    category: 'c', model_type: model, run_id: 1, mae: 1.5, rmse: 2, smape: 12.345, mase, coverage: 0.93, is_best: best,
    error: null, fit_seconds: 0.4,
  })

  it('lists the recommended forecast first, with its 80% coverage and wQL', () => {
    const rows = [metric('holt_winters', 1.1, false), metric('prophet', 0.9, true),
      { ...metric('recommended', 0.7, false), coverage80: 0.79, wql: 0.0734, method: 'mean of prophet' }]
    const wrapper = mount(MetricsTable, { props: { metrics: rows } })
    expect(wrapper.findAll('tbody tr').map((tr) => tr.attributes('data-model'))).toEqual(['recommended', 'holt_winters', 'prophet'])
    const first = wrapper.get('tr.recommended')
    expect(first.get('td[data-label="80% coverage"]').text()).toBe('79%')
    expect(first.get('td[data-label="wQL"]').text()).toBe('0.073')
    expect(wrapper.get('tr[data-model="prophet"] td[data-label="wQL"]').text()).toBe('—')
    expect(wrapper.findAll('thead th').map((th) => th.text())).toContain('80% coverage')
  })

  it('marks the best model and formats each metric', () => {
    const wrapper = mount(MetricsTable, { props: { metrics: [metric('sarimax', 1.2, false), metric('prophet', 0.9, true)] } })
    const best = wrapper.get('tr.best')
    expect(best.attributes('data-model')).toBe('prophet')
    expect(best.text()).toContain('★ best')
    expect(best.text()).toContain('12.3%')
    expect(best.text()).toContain('93%')
    expect(wrapper.findAll('tr.best')).toHaveLength(1)
  })
})

describe('BatchesView', () => {
  it('lists each batch with its statuses and row counts', async () => {
    api.listBatches.mockResolvedValue([{
      batch_num: 3, original_filename: 'sales.csv', status: 'completed', progress: 1, forecast_status: 'running',
      num_total_rows: 1200, num_inserted_rows: 1000, num_updated_rows: 150, num_unchanged_rows: 40, num_imputed_rows: 5,
      num_rejected_rows: 10, num_filtered_rows: 0, num_missing_rows: 5, uploaded_at: '2024-01-01T10:00:00',
    }])
    const wrapper = mount(BatchesView)
    await flushPromises()
    const row = wrapper.get('tr[data-batch="3"]')
    expect(row.get('a').attributes('href')).toBe('#/batches/3')
    expect(row.text()).toContain('Load: completed')
    expect(row.text()).toContain('Forecast: running')
    expect(row.findAll('td.num').map((td) => td.text())).toEqual(['1,200', '1,000', '150', '40', '5', '10', '0'])
    wrapper.unmount()
  })
})

describe('recommendedMethod', () => {
  it('takes the method of the recommended metrics row, else the category\'s, else none', async () => {
    const { recommendedMethod } = await import('../src/metrics')
    const row = (model: ForecastMetric['model_type'], method: string | null): ForecastMetric => ({
      category: 'c', model_type: model, run_id: 1, mae: null, rmse: null, smape: null, mase: null, coverage: null,
      is_best: false, error: null, fit_seconds: null, method,
    })
    expect(recommendedMethod([row('prophet', null), row('recommended', 'weighted mean of a, b')], 'older')).toBe('weighted mean of a, b')
    expect(recommendedMethod([row('prophet', null)], 'from the category')).toBe('from the category')
    expect(recommendedMethod([], null)).toBeNull()
  })
})
