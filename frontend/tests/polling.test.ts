import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPoller } from '../src/polling'

let hidden = false

beforeEach(() => {
  vi.useFakeTimers()
  hidden = false
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden })
})

afterEach(() => {
  vi.useRealTimers()
})

function setHidden(value: boolean): void {
  hidden = value
  document.dispatchEvent(new Event('visibilitychange'))
}

describe('createPoller', () => {
  it('ticks at once and then every interval', async () => {
    const tick = vi.fn(async () => true)
    createPoller(tick, 1000).start()
    await vi.advanceTimersByTimeAsync(3050)
    expect(tick).toHaveBeenCalledTimes(4)
  })

  it('stops when a tick answers false', async () => {
    let n = 0
    const poller = createPoller(async () => ++n < 2, 1000)
    poller.start()
    await vi.advanceTimersByTimeAsync(5000)
    expect(n).toBe(2)
    expect(poller.running).toBe(false)
  })

  it('pauses while the tab is hidden and ticks again when it shows', async () => {
    const tick = vi.fn(async () => true)
    const poller = createPoller(tick, 1000)
    poller.start()
    await vi.advanceTimersByTimeAsync(10)
    setHidden(true)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(tick).toHaveBeenCalledTimes(1)
    setHidden(false)
    await vi.advanceTimersByTimeAsync(10)
    expect(tick).toHaveBeenCalledTimes(2)
    poller.stop()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(tick).toHaveBeenCalledTimes(2)
  })

  it('keeps polling when started again during a tick that then answers false', async () => {
    let release: (value: boolean) => void = () => {}
    const tick = vi.fn(() => new Promise<boolean>((resolve) => { release = resolve }))
    const poller = createPoller(tick, 1000)
    poller.start()
    poller.start()
    release(false)
    await vi.advanceTimersByTimeAsync(1010)
    expect(poller.running).toBe(true)
    expect(tick).toHaveBeenCalledTimes(2)
  })
})
