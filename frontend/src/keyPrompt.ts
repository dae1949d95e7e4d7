// The API-key question: the client asks (after a 401), the dialog answers. One question at a time.
import { reactive } from 'vue'

export interface KeyPrompt {
  open: boolean
  reason: 'missing' | 'wrong' | 'asked'
  remember: boolean
  /** The person closed the dialog without a key: polling must not reopen it until they ask for it. */
  declined: boolean
}

export const keyPrompt = reactive<KeyPrompt>({ open: false, reason: 'missing', remember: false, declined: false })

let pending: Promise<string | null> | null = null
let answer: ((key: string | null) => void) | null = null

/** Ask for a key after a 401; callers that ask while the dialog is open share its answer. */
export function askForKey(reason: 'missing' | 'wrong'): Promise<string | null> {
  if (keyPrompt.declined) return Promise.resolve(null)
  return openKeyDialog(reason)
}

/** Open the dialog (also from the header's key button), whatever was answered before. */
export function openKeyDialog(reason: KeyPrompt['reason'] = 'asked'): Promise<string | null> {
  if (pending) return pending
  keyPrompt.reason = reason
  keyPrompt.declined = false
  keyPrompt.open = true
  pending = new Promise((resolve) => {
    answer = resolve
  })
  return pending
}

/** The dialog's answer: a key, or null when the person cancelled. */
export function answerKey(key: string | null): void {
  const resolve = answer
  const given = key && key.trim() ? key.trim() : null
  pending = null
  answer = null
  keyPrompt.open = false
  keyPrompt.declined = given === null
  resolve?.(given)
}
