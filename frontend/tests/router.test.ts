import { describe, expect, it } from 'vitest'
import { parseRoute, routeHref, type Route } from '../src/router'

describe('hash routes', () => {
  it('reads each page', () => {
    expect(parseRoute('')).toEqual({ name: 'upload' })
    expect(parseRoute('#/')).toEqual({ name: 'upload' })
    expect(parseRoute('#/batches')).toEqual({ name: 'batches' })
    expect(parseRoute('#/batches/3')).toEqual({ name: 'batch', id: 3 })
    expect(parseRoute('#/inventory')).toEqual({ name: 'inventory' })
    expect(routeHref({ name: 'inventory' })).toBe('#/inventory')
    expect(parseRoute('#/batches/x')).toEqual({ name: 'notFound', path: '/batches/x' })
    expect(parseRoute('#/forecasts')).toEqual({ name: 'forecasts', category: null, filters: { model: null, start: null, end: null } })
  })

  it('keeps a category with any character and the filters in the link', () => {
    const route: Route = { name: 'forecasts', category: 'a/b & c?', filters: { model: 'sarimax', start: '2018-01-01', end: null } }
    expect(routeHref(route)).toBe('#/forecasts/a%2Fb%20%26%20c%3F?model=sarimax&start=2018-01-01')
    expect(parseRoute(routeHref(route))).toEqual(route)
  })

  it('drops filter values that are not valid', () => {
    expect(parseRoute('#/forecasts/x?model=magic&start=yesterday&end=2018-02-01')).toEqual({
      name: 'forecasts', category: 'x', filters: { model: null, start: null, end: '2018-02-01' },
    })
  })
})
