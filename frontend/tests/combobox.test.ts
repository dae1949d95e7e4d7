import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import CategoryCombobox from '../src/components/CategoryCombobox.vue'
import { filterOptions, moveActive } from '../src/combobox'
import type { Category } from '../src/types'

const names = ['store-10', 'store-2', 'Store-1', 'north', 'South east', 'east']

describe('filterOptions', () => {
  it('matches case-insensitively, prefixes first, then in natural order', () => {
    expect(filterOptions(names, 'st').shown).toEqual(['Store-1', 'store-2', 'store-10', 'east', 'South east'])
    expect(filterOptions(names, 'east').shown).toEqual(['east', 'South east'])
  })

  it('wants every word of the text', () => {
    expect(filterOptions(names, 'south e').shown).toEqual(['South east'])
    expect(filterOptions(names, 'north e').total).toBe(0)
  })

  it('lists everything for empty text, cut at the limit with the full count', () => {
    const many = Array.from({ length: 300 }, (_, i) => `cat-${i}`)
    const result = filterOptions(many, '  ', 50)
    expect(result.shown).toHaveLength(50)
    expect(result.total).toBe(300)
    expect(result.shown[0]).toBe('cat-0')
  })
})

describe('moveActive', () => {
  it('moves with the arrows and wraps at the ends', () => {
    expect(moveActive(-1, 3, 'ArrowDown')).toBe(0)
    expect(moveActive(2, 3, 'ArrowDown')).toBe(0)
    expect(moveActive(0, 3, 'ArrowUp')).toBe(2)
    expect(moveActive(1, 3, 'End')).toBe(2)
    expect(moveActive(1, 0, 'ArrowDown')).toBe(-1)
  })
})

function category(name: string, products = 2): Category {
  return { category: name, product_count: products, first_date: '2017-01-01', last_date: '2017-12-31', row_count: 10, best_model: 'prophet',
    holiday_country: 'US', holiday_country_overridden: false, last_run_id: 1, forecast_status: 'completed' }
}

describe('CategoryCombobox', () => {
  const mountIt = () => mount(CategoryCombobox, { props: { categories: names.map((n) => category(n)), selected: null }, attachTo: document.body })

  it('filters the listbox as the person types', async () => {
    const wrapper = mountIt()
    const input = wrapper.get('input[role="combobox"]')
    await input.setValue('sto')
    expect(input.attributes('aria-expanded')).toBe('true')
    expect(wrapper.findAll('[role="option"] .name').map((o) => o.text())).toEqual(['Store-1', 'store-2', 'store-10'])
    wrapper.unmount()
  })

  it('picks the option moved to with the arrows on Enter', async () => {
    const wrapper = mountIt()
    const input = wrapper.get('input')
    await input.setValue('store')
    await input.trigger('keydown', { key: 'ArrowDown' })
    expect(input.attributes('aria-activedescendant')).toBe('category-option-1')
    expect(wrapper.get('#category-option-1').attributes('aria-selected')).toBe('true')
    await input.trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('select')).toEqual([['store-2']])
    expect(input.attributes('aria-expanded')).toBe('false')
    wrapper.unmount()
  })

  it('closes on Escape and says when nothing matches', async () => {
    const wrapper = mountIt()
    const input = wrapper.get('input')
    await input.setValue('zzz')
    expect(wrapper.text()).toContain('No category matches “zzz”.')
    await input.trigger('keydown', { key: 'Escape' })
    expect(input.attributes('aria-expanded')).toBe('false')
    expect(wrapper.emitted('select')).toBeUndefined()
    wrapper.unmount()
  })
})
