import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError } from '../src/api'
import { blankEvent, eventsBody, eventsChanged, nextDay, savedText, toDrafts } from '../src/events'
import type { CategoryEvent } from '../src/types'

const api = vi.hoisted(() => ({ categoryEvents: vi.fn(), saveCategoryEvents: vi.fn() }))
vi.mock('../src/client', () => ({ api, keys: { get: () => null, set: () => {} } }))

const { default: CategoryEvents } = await import('../src/components/CategoryEvents.vue')

const SALE: CategoryEvent = { name: 'Spring sale', start: '2023-03-04', end: '2023-03-06', kind: 'event' }
const SHUT: CategoryEvent = { name: 'Stocktaking', start: '2023-03-20', end: '2023-03-20', kind: 'closure' }

describe('events logic', () => {
  it('proposes a one-day event the day after the last row', () => {
    const row = blankEvent(toDrafts([SALE]))
    expect([row.name, row.start, row.end, row.kind]).toEqual(['', '2023-03-07', '2023-03-07', 'event'])
    expect(blankEvent([]).start).toBe('')
  })

  it('steps over month and year ends, and refuses what is not a day', () => {
    expect(nextDay('2023-02-28')).toBe('2023-03-01')
    expect(nextDay('2023-12-31')).toBe('2024-01-01')
    expect(nextDay('')).toBe('')
    expect(nextDay('03/04/2023')).toBe('')
  })

  it('sends each row as {name, start, end, kind} with the name trimmed', () => {
    const rows = toDrafts([{ ...SALE, name: '  Spring sale ' }])
    expect(eventsBody(rows)).toEqual([SALE])
  })

  it('tells a changed list from the saved one, order aside', () => {
    expect(eventsChanged([SALE, SHUT], toDrafts([SHUT, SALE]))).toBe(false)
    expect(eventsChanged([SALE], toDrafts([{ ...SALE, kind: 'closure' }]))).toBe(true)
    expect(eventsChanged([SALE], [])).toBe(true)
  })

  it('says a refresh was queued, or why not', () => {
    expect(savedText({ events: [SALE, SHUT], refresh_queued: true, runs: [12] }))
      .toBe('Saved 2 events. A forecast refresh was queued (run #12) so they take effect; the chart updates when it ends.')
    expect(savedText({ events: [SALE], refresh_queued: false, runs: [], message: 'the events did not change; no refresh was needed' }))
      .toBe('Saved 1 event. The events did not change; no refresh was needed.')
    expect(savedText({ events: [], refresh_queued: true, runs: [3] })).toMatch(/^Saved: no events\. A forecast refresh/)
  })
})

describe('CategoryEvents', () => {
  beforeEach(() => {
    api.categoryEvents.mockReset()
    api.saveCategoryEvents.mockReset()
  })

  it('lists the stored events and saves an added one, saying a refresh was queued', async () => {
    api.categoryEvents.mockResolvedValue([SALE])
    api.saveCategoryEvents.mockImplementation(async (_c: string, events: CategoryEvent[]) => ({ events, refresh_queued: true, runs: [4] }))
    const wrapper = mount(CategoryEvents, { props: { category: 'north' } })
    await flushPromises()
    expect((wrapper.get('input[aria-label="Event 1 name"]').element as HTMLInputElement).value).toBe('Spring sale')
    expect(wrapper.get('.save-events').attributes('disabled')).toBeDefined()
    await wrapper.get('.add-event').trigger('click')
    await wrapper.get('input[aria-label="Event 2 name"]').setValue('Stocktaking')
    await wrapper.get('input[aria-label="Event 2 start"]').setValue('2023-03-20')
    await wrapper.get('input[aria-label="Event 2 end"]').setValue('2023-03-20')
    await wrapper.get('select[aria-label="Event 2 kind"]').setValue('closure')
    await wrapper.get('.save-events').trigger('click')
    await flushPromises()
    expect(api.saveCategoryEvents).toHaveBeenCalledWith('north', [SALE, SHUT])
    expect(wrapper.get('.events-notice').text()).toContain('A forecast refresh was queued (run #4)')
    expect(wrapper.emitted('refreshed')).toHaveLength(1)
  })

  it('removes a row and shows the API error in its own words', async () => {
    api.categoryEvents.mockResolvedValue([SALE, SHUT])
    api.saveCategoryEvents.mockRejectedValue(new ApiError(400, "event 1 ('Spring sale'): end 2023-03-04 is before start 2023-03-06"))
    const wrapper = mount(CategoryEvents, { props: { category: 'north' } })
    await flushPromises()
    await wrapper.get('button[aria-label="Remove event 2"]').trigger('click')
    expect(wrapper.findAll('.event-row')).toHaveLength(1)
    await wrapper.get('.save-events').trigger('click')
    await flushPromises()
    expect(api.saveCategoryEvents).toHaveBeenCalledWith('north', [SALE])
    expect(wrapper.get('.events-notice.error').text()).toBe("event 1 ('Spring sale'): end 2023-03-04 is before start 2023-03-06")
    expect(wrapper.emitted('refreshed')).toBeUndefined()
  })

  it('says when a category has no events', async () => {
    api.categoryEvents.mockResolvedValue([])
    const wrapper = mount(CategoryEvents, { props: { category: 'north' } })
    await flushPromises()
    expect(wrapper.get('.no-events').text()).toBe('No events.')
  })
})
