// A component's actions that call the API: a busy flag, and a message saying how the last one went.
import { ref } from 'vue'
import { ApiError } from './api'

export interface ActionMessage {
  kind: 'ok' | 'error'
  text: string
}

/** An error in the API's words (or the exception's own text when the API did not answer). */
export function errorText(exc: unknown): string {
  return exc instanceof ApiError ? exc.message : String(exc)
}

/** `run(work)` clears the message, is busy while `work` runs, then shows the text it returns or its error. */
export function useAction() {
  const busy = ref(false)
  const message = ref<ActionMessage | null>(null)
  async function run(work: () => Promise<string>): Promise<void> {
    busy.value = true
    message.value = null
    try {
      message.value = { kind: 'ok', text: await work() }
    } catch (exc) {
      message.value = { kind: 'error', text: errorText(exc) }
    } finally {
      busy.value = false
    }
  }
  return { busy, message, run }
}
