import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import type { InventoryRow } from '../src/types'

const api = vi.hoisted(() => ({ inventory: vi.fn(), uploadStock: vi.fn(), download: vi.fn() }))
vi.mock('../src/client', () => ({ api, keys: { get: () => null, set: () => {} } }))

const { default: InventoryView } = await import('../src/components/InventoryView.vue')
const { ApiError } = await import('../src/api')

const ROW: InventoryRow = {
  category: 'north', product_id: 'p1', on_hand: 30, order_now: true, order_quantity: 92, reorder_point: 61.48, safety_stock: 11.48,
  lead_time_demand: 50, days_of_inventory: 3, stockout_date: '2023-04-04', mean_daily_demand: 10, eoq: null, lead_time_days: 5,
  service_level: 0.95, run_id: 7, note: null,
}
const page = (rows: InventoryRow[]) => ({ data: rows, pagination: { page: 1, limit: 50, total_items: rows.length, total_pages: 1 } })

function chooseFile(input: HTMLInputElement, file: File): void {
  Object.defineProperty(input, 'files', { value: [file], configurable: true })
  input.dispatchEvent(new Event('change'))
}

describe('InventoryView', () => {
  it('shows the products to order with their quantity and reorder point', async () => {
    api.inventory.mockResolvedValue(page([ROW, { ...ROW, product_id: 'p2', order_now: false, order_quantity: 0 }]))
    const wrapper = mount(InventoryView)
    await flushPromises()
    expect(api.inventory).toHaveBeenCalledWith(null, 1, 50)
    const first = wrapper.get('tr[data-product="p1"]')
    expect(first.classes()).toContain('order')
    expect(first.get('.order-now').text()).toBe('Order now')
    expect(first.text()).toContain('92')
    expect(wrapper.get('tr[data-product="p2"] .order-now').text()).toBe('—')
  })

  it('filters by category', async () => {
    api.inventory.mockResolvedValue(page([]))
    const wrapper = mount(InventoryView)
    await flushPromises()
    await wrapper.get('#inventory-category').setValue('north')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(api.inventory).toHaveBeenLastCalledWith('north', 1, 50)
    expect(wrapper.get('.empty-stock').text()).toContain('in this category')
  })

  it('lists the rows a refused stock file got wrong', async () => {
    api.inventory.mockResolvedValue(page([]))
    api.uploadStock.mockRejectedValue(new ApiError(400, '1 problem(s) in the stock rows, nothing was stored', {
      problems: [{ line: 3, column: 'on_hand', value: '-2', reason: 'must not be negative' }],
    }))
    const wrapper = mount(InventoryView)
    await flushPromises()
    chooseFile(wrapper.get('#stock-file').element as HTMLInputElement, new File(['x'], 'stock.csv'))
    await flushPromises()
    expect(wrapper.get('.problems').text()).toBe('Line 3, on_hand “-2”: must not be negative')
  })

  it('reloads the table after a stock file is stored', async () => {
    api.inventory.mockResolvedValueOnce(page([])).mockResolvedValue(page([ROW]))
    api.uploadStock.mockResolvedValue({ rows: 1, inserted: 1, updated: 0 })
    const wrapper = mount(InventoryView)
    await flushPromises()
    chooseFile(wrapper.get('#stock-file').element as HTMLInputElement, new File(['x'], 'stock.csv'))
    await flushPromises()
    expect(wrapper.text()).toContain('1 products stored (1 new, 0 updated).')
    expect(wrapper.find('tr[data-product="p1"]').exists()).toBe(true)
  })
})
