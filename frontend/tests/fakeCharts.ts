// Stand-ins for what charts need and happy-dom lacks: ECharts' init (each chart records the options it is given)
// and ResizeObserver. Use with vi.mock('../src/echarts', () => import('./fakeCharts')).
export interface FakeChart {
  options: Record<string, unknown>[]
  setOption(option: Record<string, unknown>): void
  resize(): void
  dispose(): void
}

/** Every chart made since the list was last emptied, in order. */
export const charts: FakeChart[] = []

export function init(): FakeChart {
  const chart: FakeChart = { options: [], setOption(option) { chart.options.push(option) }, resize() {}, dispose() {} }
  charts.push(chart)
  return chart
}

export class FakeResizeObserver {
  observe(): void {}
  disconnect(): void {}
}
