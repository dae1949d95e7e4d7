// Hash routes (#/batches/3): the server only ever serves / and /assets/, whatever the page shows.
import { readonly, ref } from 'vue'
import type { ModelType } from './types'
import { MODEL_TYPES } from './types'

export interface ForecastRouteFilters {
  model: ModelType | null
  start: string | null
  end: string | null
}

export type Route =
  | { name: 'upload' }
  | { name: 'batches' }
  | { name: 'batch'; id: number }
  | { name: 'forecasts'; category: string | null; filters: ForecastRouteFilters }
  | { name: 'inventory' }
  | { name: 'notFound'; path: string }

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/

function dateParam(params: URLSearchParams, name: string): string | null {
  const value = params.get(name)
  return value && ISO_DATE.test(value) ? value : null
}

function modelParam(params: URLSearchParams): ModelType | null {
  const value = params.get('model')
  return (MODEL_TYPES as readonly string[]).includes(value ?? '') ? (value as ModelType) : null
}

/** The route a location hash names ('' and '#/' are the upload page). */
export function parseRoute(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?', 2)
  const parts = path.split('/').filter(Boolean)
  const params = new URLSearchParams(search)
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'upload')) return { name: 'upload' }
  if (parts[0] === 'batches' && parts.length === 1) return { name: 'batches' }
  if (parts[0] === 'batches' && parts.length === 2 && /^\d+$/.test(parts[1]!)) return { name: 'batch', id: Number(parts[1]) }
  if (parts[0] === 'inventory' && parts.length === 1) return { name: 'inventory' }
  if (parts[0] === 'forecasts' && parts.length <= 2) {
    const category = parts[1] === undefined ? null : safeDecode(parts[1])
    const filters = { model: modelParam(params), start: dateParam(params, 'start'), end: dateParam(params, 'end') }
    return { name: 'forecasts', category, filters }
  }
  return { name: 'notFound', path }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** The hash link of a route. */
export function routeHref(route: Route): string {
  switch (route.name) {
    case 'upload':
      return '#/'
    case 'batches':
      return '#/batches'
    case 'batch':
      return `#/batches/${route.id}`
    case 'inventory':
      return '#/inventory'
    case 'forecasts': {
      if (route.category === null) return '#/forecasts'
      const params = new URLSearchParams()
      if (route.filters.model) params.set('model', route.filters.model)
      if (route.filters.start) params.set('start', route.filters.start)
      if (route.filters.end) params.set('end', route.filters.end)
      const search = params.toString()
      return `#/forecasts/${encodeURIComponent(route.category)}${search ? `?${search}` : ''}`
    }
    default:
      return `#/${route.path}`
  }
}

/** The link of a batch's page. */
export const batchHref = (id: number) => routeHref({ name: 'batch', id })

/** The link of a category's forecast page. */
export const categoryHref = (category: string) =>
  routeHref({ name: 'forecasts', category, filters: { model: null, start: null, end: null } })

const current = ref<Route>(parseRoute(typeof location === 'undefined' ? '' : location.hash))

/** The current route, following the location hash. */
export function useRoute() {
  return readonly(current)
}

/** Start following hashchange events (once, at app start). */
export function startRouter(): void {
  window.addEventListener('hashchange', () => {
    current.value = parseRoute(location.hash)
  })
}

/** Go to a route (pushes a history entry, so Back works). */
export function navigate(route: Route, replace = false): void {
  const href = routeHref(route)
  if (replace) history.replaceState(null, '', href)
  else location.hash = href
  current.value = parseRoute(href)
}
