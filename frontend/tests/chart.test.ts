import { describe, expect, it } from 'vitest'
import { buildChartOption, highlightedModel, initialWindow, LIGHT_CHART, seriesName, tooltipHtml } from '../src/chart'
import type { ForecastRow, HistoryPoint, ModelType } from '../src/types'

const history: HistoryPoint[] = [
  { date: '2017-12-30', sales: 10 }, { date: '2017-12-31', sales: 12 },
]

function row(model: ModelType, day: string, value: number, lower: number | null, upper: number | null,
  p10: number | null = null, p90: number | null = null): ForecastRow {
  return {
    id: 1, forecast_date: day, category: 'c', model_type: model, forecast_value: value, lower_bound: lower, upper_bound: upper,
    batch_num: 1, run_id: 1, p10, p50: null, p90,
  }
}

const forecasts = [
  row('sarimax', '2018-01-02', 14, 9, 19), row('sarimax', '2018-01-01', 13, 8, 18),
  row('prophet', '2018-01-01', 11, 0, 20), row('prophet', '2018-01-02', 12, null, null),
]

type Series = { id: string; name: string; stack?: string; data: [string, number | string][]; lineStyle?: { width?: number; opacity?: number }; areaStyle?: { opacity: number } }
type Option = { series: Series[]; dataZoom: { type: string }[]; legend: { data: string[] } }
const option = () => buildChartOption({ history, forecasts, highlighted: 'prophet', theme: LIGHT_CHART }) as Option
const byId = (id: string) => option().series.find((s) => s.id === id)!

// A run with a recommended forecast: it comes first, with its 10-90% band inside its wide interval.
const recommended = [
  row('recommended', '2018-01-01', 12, 2, 22, 0, 17), row('recommended', '2018-01-02', 13, 3, 23, null, null),
  ...forecasts,
]
const withRecommended = () => buildChartOption({
  history, forecasts: recommended, highlighted: highlightedModel(recommended, 'prophet'), theme: LIGHT_CHART,
}) as Option
const recommendedId = (id: string) => withRecommended().series.find((s) => s.id === id)!

describe('the forecast chart option', () => {
  it('has the history, then a lower line, a band and a line per model in the fixed model order', () => {
    expect(option().series.map((s) => s.id)).toEqual([
      'history', 'sarimax:lower', 'sarimax:band', 'sarimax:line', 'prophet:lower', 'prophet:band', 'prophet:line',
    ])
  })

  it('stacks the band (upper - lower) on an invisible lower line, in date order', () => {
    expect(byId('sarimax:lower').data).toEqual([['2018-01-01', 8], ['2018-01-02', 9]])
    expect(byId('sarimax:band').data).toEqual([['2018-01-01', 10], ['2018-01-02', 10]])
    expect(byId('sarimax:band').stack).toBe(byId('sarimax:lower').stack)
    expect(byId('sarimax:lower').lineStyle?.opacity).toBe(0)
  })

  it('keeps a bound of 0 and leaves a gap where a model has no interval', () => {
    expect(byId('prophet:lower').data).toEqual([['2018-01-01', 0], ['2018-01-02', '-']])
    expect(byId('prophet:band').data).toEqual([['2018-01-01', 20], ['2018-01-02', '-']])
  })

  it('highlights the recommended forecast, not the best model, when the rows hold it', () => {
    expect(highlightedModel(recommended, 'prophet')).toBe('recommended')
    expect(highlightedModel(forecasts, 'prophet')).toBe('prophet')
    expect(withRecommended().legend.data).toEqual(['History', 'Recommended', 'SARIMAX', 'Prophet'])
    expect(recommendedId('recommended:line').name).toBe('Recommended')
    const widths = withRecommended().series.filter((s) => s.id.endsWith(':line')).map((s) => [s.id, s.lineStyle!.width])
    expect(widths).toEqual([['recommended:line', 3.5], ['sarimax:line', 1.5], ['prophet:line', 1.5]])
  })

  it('draws the recommended forecast\'s 10-90% band inside its wide interval, gaps where it has none', () => {
    expect(withRecommended().series.map((s) => s.id).slice(0, 6)).toEqual([
      'history', 'recommended:lower', 'recommended:band', 'recommended:p10', 'recommended:quantiles', 'recommended:line',
    ])
    expect(recommendedId('recommended:band').data).toEqual([['2018-01-01', 20], ['2018-01-02', 20]])
    expect(recommendedId('recommended:p10').data).toEqual([['2018-01-01', 0], ['2018-01-02', '-']])
    expect(recommendedId('recommended:quantiles').data).toEqual([['2018-01-01', 17], ['2018-01-02', '-']])
    expect(recommendedId('recommended:quantiles').stack).toBe(recommendedId('recommended:p10').stack)
    expect(recommendedId('recommended:quantiles').stack).not.toBe(recommendedId('recommended:band').stack)
    expect(recommendedId('recommended:quantiles').areaStyle!.opacity).toBeGreaterThan(recommendedId('recommended:band').areaStyle!.opacity)
    expect(recommendedId('recommended:band').areaStyle!.opacity).toBeGreaterThan(recommendedId('sarimax:band').areaStyle!.opacity)
    expect(withRecommended().series.filter((s) => s.id.endsWith(':quantiles')).map((s) => s.id)).toEqual(['recommended:quantiles'])
  })

  it('shows the recommended forecast\'s 10-90% range in the tooltip', () => {
    const html = tooltipHtml('2018-01-01', history, recommended, 'recommended')
    expect(html).toContain('<strong>Recommended: 12 <span style="opacity:.7">[2 – 22]</span> <span style="opacity:.7">10–90%: 0 – 17</span></strong>')
    expect(html).toContain('Prophet: 11')
  })

  it('marks the best model of a run without a recommended forecast: its name, a thicker line and a stronger band', () => {
    expect(byId('prophet:line').name).toBe('Prophet ★ best')
    expect(byId('prophet:band').name).toBe('Prophet ★ best')
    expect(byId('prophet:line').lineStyle!.width).toBeGreaterThan(byId('sarimax:line').lineStyle!.width!)
    expect(byId('prophet:band').areaStyle!.opacity).toBeGreaterThan(byId('sarimax:band').areaStyle!.opacity)
    expect(option().legend.data).toEqual(['History', 'SARIMAX', 'Prophet ★ best'])
  })

  it('zooms with the wheel/touch and with a slider', () => {
    expect(option().dataZoom.map((z) => z.type)).toEqual(['inside', 'slider'])
  })

  it('opens on the last days of history and the whole forecast', () => {
    const long = Array.from({ length: 365 }, (_, i) => ({ date: new Date(Date.UTC(2017, 0, 1 + i)).toISOString().slice(0, 10), sales: i }))
    const [start, end] = initialWindow(long, forecasts, 90)!
    expect(new Date(start).toISOString().slice(0, 10)).toBe('2017-10-02')
    expect(new Date(end).toISOString().slice(0, 10)).toBe('2018-01-02')
    expect(initialWindow([], [], 90)).toBeNull()
  })

  it('shows each model with its interval in the tooltip, names escaped', () => {
    const html = tooltipHtml('2018-01-01', history, forecasts, 'prophet')
    expect(html).toContain('SARIMAX: 13')
    expect(html).toContain('[8 – 18]')
    expect(html).toContain('Prophet ★ best: 11')
    expect(tooltipHtml('<b>', [], [], null)).toBe('<strong>&#60;b&#62;</strong>')
  })

  it('names a model plainly when it is not the best', () => {
    expect(seriesName('holt_winters', 'prophet')).toBe('Holt-Winters')
  })
})

describe('weekly and monthly totals', () => {
  it('marks each total with a dot (a lone month is a point), and days with none', () => {
    const perMonth = buildChartOption({ history, forecasts, highlighted: 'prophet', theme: LIGHT_CHART, points: true }) as { series: { id: string; symbol?: string }[] }
    expect(perMonth.series.find((s) => s.id === 'prophet:line')!.symbol).toBe('circle')
    expect(perMonth.series.find((s) => s.id === 'history')!.symbol).toBe('circle')
    expect(byId('prophet:line')).toMatchObject({ symbol: 'none' })
  })
})

describe('intervals of totals', () => {
  it('draws the highlighted forecast\'s interval of each total as a vertical bar, broken between periods', () => {
    const perMonth = buildChartOption({ history, forecasts: recommended, highlighted: 'recommended', theme: LIGHT_CHART, points: true }) as Option
    const bars = perMonth.series.find((s) => s.id === 'recommended:whisker')!
    expect(bars.data).toEqual([['2018-01-01', 2], ['2018-01-01', 22], ['2018-01-01', '-'], ['2018-01-02', 3], ['2018-01-02', 23], ['2018-01-02', '-']])
    expect(perMonth.series.find((s) => s.id === 'recommended:whisker80')!.data).toEqual([['2018-01-01', 0], ['2018-01-01', 17], ['2018-01-01', '-']])
    expect(perMonth.series.some((s) => s.id === 'prophet:whisker')).toBe(false)
    expect(option().series.some((s) => s.id.endsWith(':whisker'))).toBe(false)
  })
})
