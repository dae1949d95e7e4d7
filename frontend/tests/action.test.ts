import { describe, expect, it } from 'vitest'
import { errorText, useAction } from '../src/action'
import { ApiError } from '../src/api'

describe('useAction', () => {
  it('is busy while the work runs, then shows the text it returned', async () => {
    const { busy, message, run } = useAction()
    let release: (text: string) => void = () => {}
    const pending = run(() => new Promise<string>((resolve) => { release = resolve }))
    expect(busy.value).toBe(true)
    release('Saved.')
    await pending
    expect(busy.value).toBe(false)
    expect(message.value).toEqual({ kind: 'ok', text: 'Saved.' })
  })

  it("shows a failure in the API's words and is no longer busy", async () => {
    const { busy, message, run } = useAction()
    await run(async () => { throw new ApiError(400, 'event 1: end is before start') })
    expect(busy.value).toBe(false)
    expect(message.value).toEqual({ kind: 'error', text: 'event 1: end is before start' })
  })

  it('says what an error that is not the API\'s was', () => {
    expect(errorText(new TypeError('Failed to fetch'))).toBe('TypeError: Failed to fetch')
  })
})
