// Wide files through the web app: the pharmacy's daily sales as found (`;`, M/D/YYYY, one column per drug
// class, then Year, Month, Hour and Weekday Name) mapped with "one column per category" in the page, the same
// days written with decimal commas, and the Sandy 311 calls (one column per agency and their total).
import { expect, test, type Page } from '@playwright/test'
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { E2E_API_KEY, REPO } from './platform'

/** The first 40 days of the pharmacy file, byte for byte as found. */
const FIXTURE = join(REPO, 'frontend', 'e2e', 'fixtures', 'pharmacy-40d.csv')
/** The same 40 days as a European export writes them: every '.' of the numbers a ','. */
const DECIMAL_COMMA = join(REPO, 'frontend', 'e2e', 'fixtures', 'pharmacy-40d-decimal-comma.csv')
/** Three of those classes as a workbook with one sheet each (Day, Units): written by make_pharmacy_sheets.py. */
const SHEETS = join(REPO, 'frontend', 'e2e', 'fixtures', 'pharmacy-sheets.xlsx')
/** 30 days of the Sandy 311 calls from 2012-10-29, byte for byte as found (`,`, M/D/YY, 23 agencies and `total`). */
const SANDY = join(REPO, 'frontend', 'e2e', 'fixtures', 'sandy-311-30d.csv')
const CLASSES = ['M01AB', 'M01AE', 'N02BA', 'N02BE', 'N05B', 'N05C', 'R03', 'R06']
const CALENDAR = ['Year', 'Month', 'Hour', 'Weekday Name']
const ARTIFACTS = join(REPO, 'test-artifacts', 'e2e')
const DOCS = process.env.CASTFLOW_SCREENSHOTS_DIR

async function shot(page: Page, name: string, doc = false): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true })
  const path = join(ARTIFACTS, `wide-${name}.png`)
  await page.evaluate(() => window.scrollTo(0, 0))
  await page.screenshot({ path, fullPage: true, animations: 'disabled' })
  if (doc && DOCS) {
    const dir = isAbsolute(DOCS) ? DOCS : join(REPO, DOCS)
    mkdirSync(dir, { recursive: true })
    copyFileSync(path, join(dir, `${name}.png`))
  }
}

test.skip(() => Boolean(process.env.CASTFLOW_E2E_SKIP), process.env.CASTFLOW_E2E_SKIP)

test('an analyst loads a file with one column per category', async ({ page }) => {
  const base = process.env.CASTFLOW_E2E_URL!
  page.on('pageerror', (error) => { throw error })
  // The key dialog is the other test's subject: here the key is already in this tab's storage.
  await page.addInitScript((key) => sessionStorage.setItem('castflow.apiKey', key), E2E_API_KEY)
  const checkbox = (name: string) => page.getByRole('group', { name: 'Category columns' }).getByRole('checkbox', { name, exact: true })

  await test.step('the panel reads the file: one column per category, the classes ticked, the calendar not', async () => {
    await page.goto(`${base}#/`)
    await page.locator('#file').setInputFiles(FIXTURE)
    await expect(page.getByText("This file's header lacks castflow's own columns")).toBeVisible()
    await expect(page.getByLabel('One column per category', { exact: true })).toBeChecked()
    await expect(page.locator('#map-date')).toHaveValue('datum')
    await expect(page.getByLabel('Date layout', { exact: true })).toHaveValue('%m/%d/%Y')
    for (const name of CLASSES) await expect(checkbox(name)).toBeChecked()
    for (const name of CALENDAR) await expect(checkbox(name)).not.toBeChecked()
    // Dot decimals (3.67) in a ;-separated file: no decimal-comma offer.
    await expect(page.locator('.decimal-offer')).toHaveCount(0)
    const first = page.locator('table.mapping-preview tbody tr').first()
    await expect(first.locator('td')).toHaveText(['2', '2014-01-02', 'M01AB', 'all', '0.00', ''])
    await expect(page.locator('table.mapping-preview tbody tr')).toHaveCount(8)
    await expect(page.locator('table.mapping-preview tbody tr').nth(1).locator('td[data-label="Sales"]')).toHaveText('3.67')
    await shot(page, 'panel')
    await page.setViewportSize({ width: 390, height: 844 })
    await expect(checkbox('M01AB')).toBeVisible()
    await shot(page, 'panel-phone')
    await page.setViewportSize({ width: 1280, height: 800 })
  })

  await test.step('the mapping is saved as a profile and comes back from the server as the same mapping', async () => {
    await page.getByLabel('Product of every observation', { exact: true }).fill('pharmacy')
    await expect(page.locator('table.mapping-preview tbody tr').first().locator('td[data-label="Product"]')).toHaveText('pharmacy')
    await page.getByLabel('Save this mapping as', { exact: true }).fill('pharmacy wide')
    await page.getByRole('button', { name: 'Save mapping' }).click()
    await expect(page.locator('.mapping-body p.notice[role="status"]')).toHaveText('Saved as “pharmacy wide”.')
    await page.locator('details.sent summary').click()
    await expect(page.locator('details.sent pre')).toHaveText('mapping_name = pharmacy wide')
    await shot(page, 'upload-wide-mapping', true)
  })

  await test.step('the saved profile ticks the same columns for the same file in a fresh page', async () => {
    await page.reload()
    await page.locator('#file').setInputFiles(FIXTURE)
    await page.getByLabel('Saved mapping', { exact: true }).selectOption('pharmacy wide')
    await expect(page.getByLabel('Product of every observation', { exact: true })).toHaveValue('pharmacy')
    for (const name of CLASSES) await expect(checkbox(name)).toBeChecked()
    for (const name of CALENDAR) await expect(checkbox(name)).not.toBeChecked()
    await expect(page.locator('details.sent pre')).toHaveText('mapping_name = pharmacy wide')
  })

  await test.step('the upload loads one observation per ticked cell, and the batch names the columns', async () => {
    await page.getByRole('button', { name: 'Upload', exact: true }).click()
    await expect(page).toHaveURL(/#\/batches\/\d+$/)
    await expect(page.locator('.batch-status')).toHaveText('Load: completed', { timeout: 120_000 })
    await expect(page.locator('[data-count="num_inserted_rows"] dd')).toHaveText(String(40 * CLASSES.length))
    await expect(page.locator('[data-count="num_rejected_rows"] dd')).toHaveText('0')
    const loaded = page.getByRole('list', { name: 'Columns loaded' }).getByRole('listitem')
    await expect(loaded).toHaveText(CLASSES)
    await expect(page.locator('pre.batch-mapping')).toContainText('"category_columns"')
    await shot(page, 'batch-wide', true)
  })

  await test.step('each drug class is a category with its 40 days; no calendar column became one', async () => {
    const answer = await page.request.get(`${base}categories`, { headers: { 'X-API-Key': E2E_API_KEY } })
    expect(answer.ok()).toBe(true)
    const categories = (await answer.json()) as { category: string; row_count: number; first_date: string; last_date: string }[]
    const names = new Set(categories.map((c) => c.category))
    for (const name of CALENDAR) expect(names.has(name)).toBe(false)
    for (const name of CLASSES) {
      expect(categories.find((c) => c.category === name)).toMatchObject({ row_count: 40, first_date: '2014-01-02', last_date: '2014-02-10' })
    }
  })

  await test.step('the same days with decimal commas: offered, taken, and stored as the same values', async () => {
    await page.goto(`${base}#/`)
    await page.locator('#file').setInputFiles(DECIMAL_COMMA)
    await page.getByLabel('Saved mapping', { exact: true }).selectOption('pharmacy wide')
    const secondSales = page.locator('table.mapping-preview tbody tr').nth(1).locator('td[data-label="Sales"]')
    await expect(page.locator('.decimal-offer')).toContainText('decimals with a comma')
    await expect(secondSales).toHaveText('')
    await expect(page.locator('table.mapping-preview tbody tr').nth(1)).toContainText('rejected: "3,67" is not a number')
    await shot(page, 'decimal-offer', true)
    await page.getByRole('button', { name: 'Read numbers with a decimal comma' }).click()
    await expect(page.locator('.decimal-offer')).toHaveCount(0)
    await expect(page.getByLabel('Numbers use a decimal comma (1.234,5 and 1,5)')).toBeChecked()
    await expect(secondSales).toHaveText('3.67')
    await page.getByRole('button', { name: 'Upload', exact: true }).click()
    await expect(page).toHaveURL(/#\/batches\/\d+$/)
    await expect(page.locator('.batch-status')).toHaveText('Load: completed', { timeout: 120_000 })
    // Every value equals the one the dot-decimal file stored: nothing inserted or updated.
    await expect(page.locator('[data-count="num_unchanged_rows"] dd')).toHaveText(String(40 * CLASSES.length))
    await expect(page.locator('[data-count="num_inserted_rows"] dd')).toHaveText('0')
    await expect(page.locator('[data-count="num_updated_rows"] dd')).toHaveText('0')
    await expect(page.locator('pre.batch-mapping')).toContainText('"decimal": ","')
  })

  await test.step('a workbook with one sheet per class loads as one batch, and the batch names the sheets', async () => {
    await page.goto(`${base}#/`)
    await page.locator('#file').setInputFiles(SHEETS)
    // The workbook is read in the page: several sheets of a date and one value column each.
    await expect(page.getByLabel('One sheet per category (.xlsx)', { exact: true })).toBeChecked()
    await expect(page.getByLabel('Date column (on every sheet)', { exact: true })).toHaveValue('Day')
    await expect(page.getByLabel('Value column (on every sheet)', { exact: true })).toHaveValue('Units')
    await expect(page.locator('.sheets-found')).toContainText('Sheets in this workbook (3): M01AB, N02BE, R06.')
    await page.getByLabel('Product of every observation', { exact: true }).fill('pharmacy')
    const first = page.locator('table.mapping-preview tbody tr').first()
    await expect(first.locator('td')).toHaveText(['2', '2014-01-02', 'M01AB', 'pharmacy', '0.00', ''])
    await shot(page, 'sheets-mapping', true)
    await page.getByRole('button', { name: 'Upload', exact: true }).click()
    await expect(page).toHaveURL(/#\/batches\/\d+$/)
    await expect(page.locator('.batch-status')).toHaveText('Load: completed', { timeout: 120_000 })
    await expect(page.locator('.categories-from p')).toHaveText('3 sheets loaded, each as a category:')
    await expect(page.getByRole('list', { name: 'Sheets loaded' }).getByRole('listitem')).toHaveText(['M01AB', 'N02BE', 'R06'])
    // The same days and values as the CSV's columns: all 120 already stored as they are.
    await expect(page.locator('[data-count="num_unchanged_rows"] dd')).toHaveText('120')
    await expect(page.locator('[data-count="num_inserted_rows"] dd')).toHaveText('0')
  })

  await test.step('the 311 agencies as products of one category, with columns a later file adds, without the total', async () => {
    await page.goto(`${base}#/`)
    await page.locator('#file').setInputFiles(SANDY)
    await expect(page.getByLabel('One column per category', { exact: true })).toBeChecked()
    await expect(page.getByLabel('Date layout', { exact: true })).toHaveValue('%m/%d/%y')
    await expect(checkbox('NYPD')).toBeChecked()
    await expect(checkbox('total')).not.toBeChecked()
    await expect(page.locator('.decimal-offer')).toHaveCount(0)
    await expect(page.getByLabel('Numbers use a decimal comma (1.234,5 and 1,5)')).toHaveCount(0)
    await page.getByLabel('Products of one category', { exact: true }).check()
    await page.getByLabel('Category of every observation', { exact: true }).fill('311')
    await page.getByLabel('Also take columns a later file adds', { exact: false }).check()
    await page.locator('details.sent summary').click()
    await expect(page.locator('details.sent pre')).toContainText('"all_except": [\n      "date",\n      "total"\n    ]')
    const first = page.locator('table.mapping-preview tbody tr').first()
    await expect(first.locator('td')).toHaveText(['2', '2012-10-29', '311', 'NYC-3-1-1', '7922.00', ''])
    await page.getByRole('button', { name: 'Upload', exact: true }).click()
    await expect(page).toHaveURL(/#\/batches\/\d+$/)
    await expect(page.locator('.batch-status')).toHaveText('Load: completed', { timeout: 120_000 })
    await expect(page.locator('.categories-from p')).toHaveText('23 columns loaded, each as a product:')
    await expect(page.getByRole('list', { name: 'Columns loaded' }).getByRole('listitem')).toHaveCount(23)
    await expect(page.getByRole('list', { name: 'Columns loaded' })).not.toContainText('total')
  })

  await test.step("the category's daily totals equal the file's own total column", async () => {
    const lines = readFileSync(SANDY, 'utf8').trim().split(/\r?\n/).slice(1)
    const expected = lines.map((line) => {
      const [date, ...cells] = line.split(',')
      const [month, day, year] = date!.split('/').map(Number)
      return { date: `20${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`, sales: Number(cells.at(-1)) }
    })
    const answer = await page.request.get(`${base}categories/311/history`, { headers: { 'X-API-Key': E2E_API_KEY } })
    expect(answer.ok()).toBe(true)
    const history = (await answer.json()) as { date: string; sales: number }[]
    expect(history.map((h) => ({ date: h.date, sales: Number(h.sales) }))).toEqual(expected)
  })
})
