// The app's one API client: keys in the browser's storage, a dialog when the API answers 401.
import { Api, browserKeyStore } from './api'
import { askForKey, keyPrompt } from './keyPrompt'

export const keys = browserKeyStore(() => keyPrompt.remember)

export const api = new Api({ keys, askForKey })
