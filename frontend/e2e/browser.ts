// Which Chromium the end-to-end tests drive: Debian's (test tools cannot download browsers here).
import { accessSync, constants } from 'node:fs'

export const BROWSER_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking']

/** CASTFLOW_CHROMIUM, else /usr/bin/chromium; null when it is not there. */
export function browserPath(): string | null {
  const path = process.env.CASTFLOW_CHROMIUM || '/usr/bin/chromium'
  try {
    accessSync(path, constants.X_OK)
    return path
  } catch {
    return null
  }
}
