import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { grainChange, grainChanged, grainLabel, grainSavedText, horizonHint } from '../src/grains'
import type { Category, CategorySettings } from '../src/types'

const api = vi.hoisted(() => ({
  categorySettings: vi.fn(), saveCategorySettings: vi.fn(), refreshForecasts: vi.fn(), categoryEvents: vi.fn(),
  saveCategoryEvents: vi.fn(),
}))
vi.mock('../src/client', () => ({ api, keys: { get: () => null, set: () => {} } }))

const { default: CategorySettingsView } = await import('../src/components/CategorySettings.vue')

const SAVED: CategorySettings = {
  category: 'north', holiday_country: 'US', holiday_country_overridden: false, default_holiday_country: 'US',
  updated_at: null, grain: null, horizon: null,
}

describe('grain settings logic', () => {
  it('sends null for the detected grain and a blank horizon, a number otherwise', () => {
    expect(grainChange('', '')).toEqual({ grain: null, horizon: null })
    expect(grainChange('week', ' 26 ')).toEqual({ grain: 'week', horizon: 26 })
    expect(grainChange('month', 6)).toEqual({ grain: 'month', horizon: 6 })
  })

  it('tells a changed form from the saved settings', () => {
    expect(grainChanged(SAVED, '', '')).toBe(false)
    expect(grainChanged(SAVED, 'week', '')).toBe(true)
    expect(grainChanged({ ...SAVED, grain: 'week', horizon: 8 }, 'week', 8)).toBe(false)
  })

  it('states the horizon unit and range of the chosen grain', () => {
    expect(horizonHint('week')).toBe('In weeks, 1 to 104; blank for 13.')
    expect(horizonHint('')).toMatch(/^Periods of the detected grain/)
  })

  it('labels a category by its grain for the picker', () => {
    const base: Category = { category: 'a', product_count: 1, first_date: '2017-01-02', last_date: '2017-12-25', row_count: 52,
      best_model: null, holiday_country: null, holiday_country_overridden: false, last_run_id: 1, forecast_status: 'completed' }
    expect(grainLabel({ ...base, grain: 'week', grain_anchor: 'Monday' })).toBe('weekly (Monday)')
    expect(grainLabel({ ...base, grain: 'month', grain_anchor: 'start' })).toBe('monthly')
    expect(grainLabel({ ...base, grain: null, grain_problem: 'the dates mix grains' })).toBe('grain unclear')
    expect(grainLabel(base)).toBe('')
  })

  it('says whether a refresh was queued', () => {
    expect(grainSavedText({ ...SAVED, refresh_queued: true, runs: [7] }))
      .toBe('Saved. A forecast refresh was queued (run #7); the chart updates when it ends.')
    expect(grainSavedText(SAVED)).toBe('Saved; nothing changed, so no refresh was needed.')
  })
})

describe('CategorySettings grain form', () => {
  beforeEach(() => {
    for (const fn of Object.values(api)) fn.mockReset()
    api.categoryEvents.mockResolvedValue([])
  })

  it('saves grain week with a horizon and shows the queued refresh', async () => {
    api.categorySettings.mockResolvedValue(SAVED)
    api.saveCategorySettings.mockImplementation(async (_c: string, change: object) => ({ ...SAVED, ...change, refresh_queued: true, runs: [9] }))
    const wrapper = mount(CategorySettingsView, { props: { category: 'north' } })
    await flushPromises()
    await wrapper.get('select#grain').setValue('week')
    await wrapper.get('input#horizon').setValue('26')
    expect(wrapper.get('#horizon + .hint').text()).toBe('In weeks, 1 to 104; blank for 13.')
    const button = wrapper.findAll('button').find((b) => b.text() === 'Save grain')!
    await button.trigger('click')
    await flushPromises()
    expect(api.saveCategorySettings).toHaveBeenCalledWith('north', { grain: 'week', horizon: 26 })
    expect(wrapper.get('[role="status"]').text()).toBe('Saved. A forecast refresh was queued (run #9); the chart updates when it ends.')
    expect(wrapper.emitted('refreshed')).toHaveLength(1)
    wrapper.unmount()
  })

  it("shows the server's 400 when the grain is finer than the data", async () => {
    api.categorySettings.mockResolvedValue({ ...SAVED, grain: 'month' })
    const { ApiError } = await import('../src/api')
    api.saveCategorySettings.mockRejectedValue(new ApiError(400, 'grain: the category\'s grain is set to day but its data are monthly'))
    const wrapper = mount(CategorySettingsView, { props: { category: 'north' } })
    await flushPromises()
    await wrapper.get('select#grain').setValue('day')
    await wrapper.findAll('button').find((b) => b.text() === 'Save grain')!.trigger('click')
    await flushPromises()
    expect(wrapper.get('[role="status"]').text()).toMatch(/^grain: the category's grain is set to day/)
    wrapper.unmount()
  })
})
