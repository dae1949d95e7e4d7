// The web app against the real platform: key, upload, batch, duplicate, bad file, mapping, forecast, downloads.
import { expect, test, type Page } from '@playwright/test'
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { E2E_API_KEY, REPO } from './platform'

const FIXTURE = join(REPO, 'frontend', 'e2e', 'fixtures', 'store-items-2y.csv')
const ARTIFACTS = join(REPO, 'test-artifacts', 'e2e')
const DOCS = process.env.CASTFLOW_SCREENSHOTS_DIR
/** The models every run forecasts with (the engine may add more, and a recommended forecast). */
const MODELS = ['Holt-Winters', 'SARIMAX', 'Prophet']
const CSV_HEADER = 'forecast_date,category,model_type,forecast_value,lower_bound,upper_bound,run_id,batch_num,p10,p50,p90'
let metricRows = 0

let step = 0

/** A full-page screenshot into test-artifacts/e2e; the documentation shots also into CASTFLOW_SCREENSHOTS_DIR. */
async function shot(page: Page, name: string, doc = false): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true })
  const path = join(ARTIFACTS, `${String(++step).padStart(2, '0')}-${name}.png`)
  // From the top: the sticky header would otherwise sit in the middle of a full-page shot.
  await page.evaluate(() => window.scrollTo(0, 0))
  await page.screenshot({ path, fullPage: true, animations: 'disabled' })
  if (doc && DOCS) {
    const dir = isAbsolute(DOCS) ? DOCS : join(REPO, DOCS)
    mkdirSync(dir, { recursive: true })
    copyFileSync(path, join(dir, `${name}.png`))
  }
}

function upload(name: string, text: string) {
  return { name, mimeType: 'text/csv', buffer: Buffer.from(text) }
}

test.skip(() => Boolean(process.env.CASTFLOW_E2E_SKIP), process.env.CASTFLOW_E2E_SKIP)

test('an analyst uploads sales, watches them load and reads the forecasts', async ({ page }) => {
  const base = process.env.CASTFLOW_E2E_URL!
  page.on('pageerror', (error) => { throw error })

  await test.step('the app asks for the API key on the first 401 and keeps it', async () => {
    await page.goto(`${base}#/batches`)
    const dialog = page.getByRole('dialog', { name: 'API key' })
    await expect(dialog).toBeVisible()
    await expect(dialog).toContainText('This castflow needs an API key')
    await shot(page, 'api-key')
    await dialog.getByLabel('Key', { exact: true }).fill('not-the-key')
    await dialog.getByRole('button', { name: 'Use this key' }).click()
    await expect(dialog).toContainText('The key was not accepted')
    await dialog.getByLabel('Key', { exact: true }).fill(E2E_API_KEY)
    await dialog.getByRole('button', { name: 'Use this key' }).click()
    await expect(dialog).toBeHidden()
    await expect(page.getByText('No batches yet.')).toBeVisible()
  })

  await test.step('upload a real file with progress, then watch its batch complete', async () => {
    await page.goto(`${base}#/`)
    await page.locator('#file').setInputFiles(FIXTURE)
    await expect(page.locator('.file-name')).toHaveText('store-items-2y.csv')
    await expect(page.getByText('Columns: Date, product_id, category, sales')).toBeVisible()
    await shot(page, 'upload', true)
    await page.getByRole('button', { name: 'Upload', exact: true }).click()
    await expect(page).toHaveURL(/#\/batches\/1$/)
    await expect(page.locator('.batch-status')).toHaveText('Load: completed', { timeout: 60_000 })
    await expect(page.locator('[data-count="num_total_rows"] dd')).toHaveText('2,924')
    await expect(page.locator('[data-count="num_inserted_rows"] dd')).toHaveText('2,924')
    await expect(page.locator('.forecast-status')).toHaveText('Forecast: completed', { timeout: 120_000 })
    await expect(page.getByText('No row was rejected.')).toBeVisible()
    await shot(page, 'batch', true)
  })

  await test.step('the batch list shows the completed batch and its counts', async () => {
    await page.getByRole('link', { name: 'Batches', exact: true }).click()
    const row = page.locator('tr[data-batch="1"]')
    await expect(row).toContainText('Load: completed')
    await expect(row).toContainText('Forecast: completed')
    await expect(row).toContainText('store-items-2y.csv')
    await shot(page, 'batches', true)
  })

  await test.step('the same file again is "already uploaded as batch 1", with a link', async () => {
    await page.goto(`${base}#/`)
    await page.locator('#file').setInputFiles(FIXTURE)
    await page.getByRole('button', { name: 'Upload', exact: true }).click()
    const notice = page.locator('.duplicate')
    await expect(notice).toContainText('already uploaded as batch 1')
    await shot(page, 'duplicate')
    await notice.getByRole('link', { name: 'Open batch 1' }).click()
    await expect(page).toHaveURL(/#\/batches\/1$/)
  })

  await test.step('a bad file shows the API error in words, and nothing is stored', async () => {
    await page.goto(`${base}#/`)
    await page.locator('#file').setInputFiles(upload('empty.csv', 'Date,product_id,category,sales\n'))
    await page.getByRole('button', { name: 'Upload', exact: true }).click()
    await expect(page.locator('.upload-error')).toHaveText('the file has a header but no data rows')
    await shot(page, 'bad-file')
  })

  await test.step('a file in another shape loads with a column mapping made in the page and saved as a profile', async () => {
    // Ten good rows and one impossible date: that one is rejected (line 12), the rest load.
    const rows = Array.from({ length: 10 }, (_, i) => `${String(i + 1).padStart(2, '0')}/12/2017;A-${i % 2};${i + 1};1.5`)
    rows.push('31/11/2017;A-0;1;1.5')
    await page.locator('#file').setInputFiles(upload('shop.csv', `day;sku;qty;price\n${rows.join('\n')}\n`))
    await expect(page.getByText("This file's header lacks castflow's own columns")).toBeVisible()
    await expect(page.locator('#map-date')).toHaveValue('day')
    await expect(page.locator('#map-product')).toHaveValue('sku')
    await page.getByLabel('The same for every row', { exact: true }).check()
    await page.getByLabel('Category of every row', { exact: true }).fill('e2e-shop')
    await page.getByLabel('A × B (e.g. quantity × price)', { exact: true }).check()
    await page.locator('#map-sales').selectOption('qty')
    await page.locator('#map-sales-b').selectOption('price')
    await page.getByLabel('Date layout', { exact: true }).selectOption('%d/%m/%Y')
    await page.getByLabel('Save this mapping as', { exact: true }).fill('e2e shop')
    await page.getByRole('button', { name: 'Save mapping' }).click()
    await expect(page.getByText('Saved as “e2e shop”.')).toBeVisible()
    await expect(page.getByLabel('Saved mapping', { exact: true })).toHaveValue('e2e shop')
    await shot(page, 'mapping')
    await page.getByRole('button', { name: 'Upload', exact: true }).click()
    await expect(page).toHaveURL(/#\/batches\/2$/)
    await expect(page.locator('.batch-status')).toHaveText('Load: completed', { timeout: 60_000 })
    await expect(page.locator('[data-count="num_inserted_rows"] dd')).toHaveText('10')
    await expect(page.locator('[data-count="num_rejected_rows"] dd')).toHaveText('1')
    await expect(page.locator('pre.batch-mapping')).toContainText('"sales": "qty * price"')
    await expect(page.locator('pre.error-log')).toContainText('1 row was rejected')
    const rejected = page.locator('table.rejected tbody tr')
    await expect(rejected).toHaveCount(1)
    await expect(rejected.locator('td[data-label="Line"]')).toHaveText('12')
    await expect(rejected.locator('td[data-label="Value"]')).toHaveText('31/11/2017')
    await shot(page, 'batch-rejected')
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()])
    expect(download.suggestedFilename()).toBe('batch-2-errors.csv')
    const lines = readFileSync((await download.path())!, 'utf8').trim().split(/\r?\n/)
    expect(lines[0]).toBe('line,column,value,reason')
    expect(lines.slice(1)).toEqual([expect.stringMatching(/^12,.*,31\/11\/2017,/)])
  })

  await test.step('pick a category with the keyboard and see the chart and the metrics', async () => {
    await page.getByRole('link', { name: 'Forecasts', exact: true }).click()
    const box = page.getByRole('combobox', { name: 'Category' })
    await box.fill('store-1')
    await box.press('ArrowDown')
    await box.press('Enter')
    await expect(page).toHaveURL(/#\/forecasts\/store-1$/)
    await expect(page.locator('.chart canvas').first()).toBeVisible()
    const legend = page.getByRole('group', { name: 'Series shown' })
    await expect(legend.getByRole('button', { name: 'History' })).toBeVisible()
    for (const model of MODELS) await expect(legend.getByRole('button', { name: new RegExp(`^${model}`) })).toBeVisible()
    // One forecast is highlighted: the recommended one.
    await expect(legend.locator('.legend-item.best')).toHaveCount(1)
    const metrics = page.locator('table.metrics tbody tr')
    await expect(metrics.first()).toBeVisible()
    metricRows = await metrics.count()
    expect(metricRows).toBeGreaterThanOrEqual(MODELS.length)
    await expect(page.locator('table.metrics tr.best')).toHaveCount(1)
    await expect(page.locator('table.metrics thead')).toContainText('80% coverage')
    await expect(page.locator('table.metrics thead')).toContainText('wQL')
    await expect(legend.locator('.legend-item.best')).toHaveText('Recommended')
    await expect(legend.getByRole('button', { name: /★ best/ })).toHaveCount(0)
    await expect(metrics.first()).toHaveAttribute('data-model', 'recommended')
    await expect(page.locator('.method')).toHaveText(/^Recommended: mean of \S/)
    for (const cell of await page.locator('table.metrics td[data-label="MASE"]').allTextContents()) expect(cell).toMatch(/^\d+\.\d{3}$/)
    await shot(page, 'forecast', true)
  })

  await test.step('download the recommended forecast, then every model, with the key', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'CSV' }).click()])
    expect(download.suggestedFilename()).toBe('forecasts-store-1.csv')
    const lines = readFileSync((await download.path())!, 'utf8').trim().split(/\r?\n/)
    expect(lines[0]).toBe(CSV_HEADER)
    expect(lines).toHaveLength(1 + 30)  // one forecast: the recommended one
    expect(new Set(lines.slice(1).map((l) => l.split(',')[1]))).toEqual(new Set(['store-1']))
    expect(new Set(lines.slice(1).map((l) => l.split(',')[2])).size).toBe(1)
    expect(lines[1]!.startsWith('2018-01-01,')).toBe(true)
    await page.getByLabel('Models to download').selectOption('all')
    const [every] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'CSV' }).click()])
    const all = readFileSync((await every.path())!, 'utf8').trim().split(/\r?\n/).slice(1)
    const models = new Set(all.map((l) => l.split(',')[2]))
    for (const model of ['holt_winters', 'prophet', 'sarimax']) expect(models.has(model)).toBe(true)
    expect(all).toHaveLength(models.size * 30)
    const [workbook] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Excel' }).click()])
    expect(workbook.suggestedFilename()).toBe('forecasts-store-1.xlsx')
    expect(readFileSync((await workbook.path())!).subarray(0, 2).toString()).toBe('PK')
  })

  await test.step('the model and date filters narrow the chart and the download alike', async () => {
    await page.getByLabel('Model', { exact: true }).selectOption('prophet')
    await page.getByLabel('From', { exact: true }).fill('2017-12-01')
    await page.getByLabel('To', { exact: true }).fill('2018-01-15')
    await expect(page).toHaveURL(/model=prophet&start=2017-12-01&end=2018-01-15$/)
    await expect(page.getByRole('group', { name: 'Series shown' }).getByRole('button')).toHaveCount(1 + 1)
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'CSV' }).click()])
    const lines = readFileSync((await download.path())!, 'utf8').trim().split(/\r?\n/).slice(1)
    expect(lines.length).toBe(15)
    expect(lines.every((l) => l.split(',')[2] === 'prophet' && l.split(',')[0]! <= '2018-01-15')).toBe(true)
    await page.getByRole('button', { name: 'Clear filters' }).click()
    await expect(page).toHaveURL(/#\/forecasts\/store-1$/)
  })

  await test.step('phone width and dark mode', async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    await expect(page.locator('table.metrics tr.best')).toBeVisible()
    await shot(page, 'forecast-phone', true)
    await page.setViewportSize({ width: 1280, height: 800 })
    await page.getByRole('button', { name: 'Switch to dark theme' }).click()
    await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark')
    await shot(page, 'forecast-dark', true)
    await page.getByRole('button', { name: 'Switch to light theme' }).click()
    await expect(page.locator('html')).toHaveAttribute('data-theme', 'light')
  })

  await test.step('set a holiday calendar and refresh the forecasts', async () => {
    await page.getByLabel('Holiday calendar', { exact: true }).selectOption('GB')
    await page.getByRole('button', { name: 'Save calendar' }).click()
    await expect(page.getByText('Saved. Refresh the forecasts to use the new calendar.')).toBeVisible()
    await page.getByRole('button', { name: 'Refresh forecasts' }).click()
    await expect(page.getByText(/Forecast run #\d+ queued/)).toBeVisible()
    await expect(page.locator('.summary .badge')).toHaveText('Forecast: completed', { timeout: 90_000 })
    await expect(page.locator('table.metrics tbody tr')).toHaveCount(metricRows)
    await page.reload()
    await expect(page.getByLabel('Holiday calendar', { exact: true })).toHaveValue('GB')
  })

  await test.step("save a category's own event and find it listed after a reload", async () => {
    await page.getByRole('button', { name: 'Add event' }).click()
    await page.getByLabel('Event 1 name').fill('Winter sale')
    await page.getByLabel('Event 1 start').fill('2017-12-20')
    await page.getByLabel('Event 1 end').fill('2017-12-22')
    await page.getByRole('button', { name: 'Save events' }).click()
    await expect(page.locator('.events-notice')).toContainText('Saved 1 event. A forecast refresh was queued')
    await page.reload()
    await expect(page.getByLabel('Event 1 name')).toHaveValue('Winter sale')
    await expect(page.getByLabel('Event 1 end')).toHaveValue('2017-12-22')
    await expect(page.getByLabel('Event 1 kind')).toHaveValue('event')
  })
})
