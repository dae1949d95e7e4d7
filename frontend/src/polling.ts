// Polling that pauses while the tab is hidden and stops once the watched thing is finished.
import { onBeforeUnmount, ref } from 'vue'

export interface Poller {
  /** Run now and then every interval (again after a stop). */
  start(): void
  stop(): void
  readonly running: boolean
}

/** Call `tick` every `intervalMs` while the document is visible; `tick` answering false ends the polling. */
export function createPoller(tick: () => Promise<boolean | void>, intervalMs: number, doc: Document = document): Poller {
  let timer: ReturnType<typeof setTimeout> | null = null
  // A ref, so that a page showing whether it is still polling updates when it stops.
  const active = ref(false)
  let inFlight = false
  // start() during a tick that then answers false must win: the tick saw the old state.
  let starts = 0

  const schedule = () => {
    if (timer !== null) clearTimeout(timer)
    timer = active.value && !doc.hidden ? setTimeout(run, intervalMs) : null
  }
  const run = async () => {
    timer = null
    if (!active.value || doc.hidden || inFlight) return
    inFlight = true
    const startsBefore = starts
    let more: boolean | void = true
    try {
      more = await tick()
    } finally {
      inFlight = false
    }
    if (more === false && starts === startsBefore) {
      active.value = false
      doc.removeEventListener('visibilitychange', onVisibility)
    }
    schedule()
  }
  const onVisibility = () => {
    if (active.value && !doc.hidden) void run()
    else schedule()
  }
  return {
    start() {
      if (!active.value) doc.addEventListener('visibilitychange', onVisibility)
      active.value = true
      starts++
      void run()
    },
    stop() {
      active.value = false
      doc.removeEventListener('visibilitychange', onVisibility)
      schedule()
    },
    get running() {
      return active.value
    },
  }
}

/** createPoller tied to the calling component: stopped when it unmounts. */
export function usePoller(tick: () => Promise<boolean | void>, intervalMs: number): Poller {
  const poller = createPoller(tick, intervalMs)
  onBeforeUnmount(() => poller.stop())
  return poller
}
