import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { FakeResizeObserver, lastSeries } from './fakeCharts'
import type { ForecastRow, ProductsPage } from '../src/types'

const api = vi.hoisted(() => ({ products: vi.fn(), productHistory: vi.fn(), forecasts: vi.fn() }))
vi.mock('../src/client', () => ({ api, keys: { get: () => null, set: () => {} } }))
vi.mock('../src/echarts', () => import('./fakeCharts'))
vi.stubGlobal('ResizeObserver', FakeResizeObserver)

const { default: ProductsPanel } = await import('../src/components/ProductsPanel.vue')
const { ApiError } = await import('../src/api')

const PAGE: ProductsPage = {
  category: 'north', run_id: 7, reconciliation: 'mint_shrink', products_total: 3, products_skipped: 1, product_note: null,
  data: [
    { product_id: 'p1', status: 'forecast', method: 'auto_ets', mase: 0.7, mae: 2, volume: 300, selling_days: 60, note: null },
    { product_id: 'rare', status: 'skipped', method: null, mase: null, mae: null, volume: 1, selling_days: 1, note: 'too little history' },
  ],
  pagination: { page: 1, limit: 20, total_items: 2, total_pages: 1 },
}
const P1_DAY: ForecastRow = {
  id: 1, forecast_date: '2023-04-01', category: 'north', model_type: 'recommended', forecast_value: 10, lower_bound: 2,
  upper_bound: 18, batch_num: null, run_id: 7, p10: 6, p50: 10, p90: 14,
}

describe('ProductsPanel', () => {
  it('lists the products with the run and its reconciliation, skipped ones without a link', async () => {
    api.products.mockResolvedValue(PAGE)
    const wrapper = mount(ProductsPanel, { props: { category: 'north', version: '7:completed' } })
    await flushPromises()
    expect(api.products).toHaveBeenCalledWith('north', { search: '', sort: 'volume', page: 1, limit: 20 })
    expect(wrapper.text()).toContain('mint_shrink')
    expect(wrapper.find('tr[data-product="p1"] button').exists()).toBe(true)
    expect(wrapper.find('tr[data-product="rare"] button').exists()).toBe(false)
    expect(wrapper.get('tr[data-product="rare"]').text()).toContain('skipped: too little history')
  })

  it('asks again sorted by error, and with the search text', async () => {
    vi.useFakeTimers()
    api.products.mockResolvedValue(PAGE)
    const wrapper = mount(ProductsPanel, { props: { category: 'north', version: '7:completed' } })
    await flushPromises()
    await wrapper.get('#product-sort').setValue('mase')
    await flushPromises()
    expect(api.products).toHaveBeenLastCalledWith('north', expect.objectContaining({ sort: 'mase', page: 1 }))
    await wrapper.get('#product-search').setValue('p1')
    await vi.advanceTimersByTimeAsync(300)
    expect(api.products).toHaveBeenLastCalledWith('north', expect.objectContaining({ search: 'p1', sort: 'mase' }))
    vi.useRealTimers()
  })

  it('draws the chosen product forecast and its own sales', async () => {
    api.products.mockResolvedValue(PAGE)
    api.productHistory.mockResolvedValue([{ date: '2023-03-31', sales: 9 }])
    api.forecasts.mockResolvedValue([P1_DAY])
    const wrapper = mount(ProductsPanel, { props: { category: 'north', version: '7:completed' } })
    await flushPromises()
    await wrapper.get('tr[data-product="p1"] button').trigger('click')
    await flushPromises()
    expect(api.forecasts).toHaveBeenCalledWith(expect.objectContaining({ category: 'north', productId: 'p1', modelType: null }))
    expect(wrapper.get('#product-chart-title').text()).toBe('Product p1')
    expect(lastSeries('history')).toEqual([['2023-03-31', 9]])
    expect(lastSeries('recommended:line')).toEqual([['2023-04-01', 10]])
  })

  it('says so, without an error, when the category has no product forecast', async () => {
    api.products.mockRejectedValue(new ApiError(404, "category 'north' has no completed product forecast"))
    const wrapper = mount(ProductsPanel, { props: { category: 'north', version: '7:completed' } })
    await flushPromises()
    expect(wrapper.get('.no-products').text()).toContain('no completed product forecast')
    expect(wrapper.find('[role="alert"]').exists()).toBe(false)
  })
})
