// Stand-ins for what charts need and happy-dom lacks: ECharts' init (each chart records the options it is given)
// and ResizeObserver. Use with vi.mock('../src/echarts', () => import('./fakeCharts')).
export interface FakeChart {
  options: Record<string, unknown>[]
  setOption(option: Record<string, unknown>): void
  resize(): void
  dispose(): void
  dispatchAction(): void
}

/** Every chart made since the list was last emptied, in order. */
export const charts: FakeChart[] = []

export function init(): FakeChart {
  const chart: FakeChart = {
    options: [], setOption(option) { chart.options.push(option) }, resize() {}, dispose() {}, dispatchAction() {},
  }
  charts.push(chart)
  return chart
}

type Series = { id: string; data: [string, number | string][] }

/** The data of series `id` in the last option any chart was given with series: what ECharts would draw now. */
export function lastSeries(id: string): [string, number | string][] {
  const drawn = charts.flatMap((chart) => chart.options).filter((option) => option.series).at(-1)
  const series = (drawn?.series as Series[] | undefined)?.find((s) => s.id === id)
  if (!series) throw new Error(`no chart was given a series ${id}`)
  return series.data
}

export class FakeResizeObserver {
  observe(): void {}
  disconnect(): void {}
}
