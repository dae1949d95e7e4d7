// Runs after app.spec.ts, which starts from a platform with no batch (specs run in file-name order).
// Forecast against what really happened: 120 days of a bank's real daily calls uploaded and forecast, then the
// next 30 days' real counts uploaded; the category's "Forecast vs actual" card scores the forecast on each of them.
import { expect, test, type Page } from '@playwright/test'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { E2E_API_KEY, REPO } from './platform'

/** The Anonymous Bank call centre's 365 daily call counts of 1999 (written by fixtures/make_bank_calls.py). */
const FIXTURE = join(REPO, 'frontend', 'e2e', 'fixtures', 'bank-calls-1999-year.csv')
/** A category of its own: the seasonality spec uploads the same year as anonymous-bank. */
const CATEGORY = 'bank-realised'
const HISTORY_DAYS = 120
const NEW_DAYS = 30
const ARTIFACTS = join(REPO, 'test-artifacts', 'e2e')

/** Days [first, first + count) of the fixture as a CSV of CATEGORY. */
function slice(first: number, count: number): Buffer {
  const [header, ...lines] = readFileSync(FIXTURE, 'utf8').trim().split('\n')
  const rows = lines.slice(first, first + count).map((line) => line.replace(',anonymous-bank,', `,${CATEGORY},`))
  return Buffer.from([header, ...rows].join('\n') + '\n')
}

async function upload(page: Page, base: string, name: string, body: Buffer): Promise<void> {
  await page.goto(`${base}#/`)
  await page.locator('#file').setInputFiles({ name, mimeType: 'text/csv', buffer: body })
  await page.getByRole('button', { name: 'Upload', exact: true }).click()
  await expect(page).toHaveURL(/#\/batches\/\d+$/)
  await expect(page.locator('.batch-status')).toHaveText('Load: completed', { timeout: 60_000 })
}

test.skip(() => Boolean(process.env.CASTFLOW_E2E_SKIP), process.env.CASTFLOW_E2E_SKIP)

test('a planner sees how the forecast did once the actuals came in', async ({ page }) => {
  test.setTimeout(300_000)
  const base = process.env.CASTFLOW_E2E_URL!
  page.on('pageerror', (error) => { throw error })
  await page.addInitScript((key) => sessionStorage.setItem('castflow.apiKey', key), E2E_API_KEY)

  await test.step('upload 120 days and wait for their forecast', async () => {
    await upload(page, base, 'calls-history.csv', slice(0, HISTORY_DAYS))
    await expect(page.locator('.forecast-status')).toHaveText('Forecast: completed', { timeout: 240_000 })
  })

  await test.step('before the actuals, nothing is scored', async () => {
    await page.goto(`${base}#/forecasts/${CATEGORY}`)
    const card = page.locator('section[aria-labelledby="accuracy-title"]')
    await expect(card.locator('.summary')).toContainText('No day of a past forecast has its actual yet.')
  })

  await test.step('upload the next 30 days: every one of them is scored, one per day ahead', async () => {
    await upload(page, base, 'calls-next.csv', slice(HISTORY_DAYS, NEW_DAYS))
    await page.goto(`${base}#/forecasts/${CATEGORY}`)
    const card = page.locator('section[aria-labelledby="accuracy-title"]')
    await expect(card.locator('.summary')).toContainText(`${NEW_DAYS} days scored: MAE`)
    await expect(card.locator('tbody tr')).toHaveCount(NEW_DAYS)
    await expect(card.locator('tr[data-ahead="1"] td').nth(1)).toHaveText('1')
    await expect(card.locator('canvas').first()).toBeVisible()
    // The card's MAE of day 1 is the API's, which is |forecast - actual| of the first new day.
    const answer = await page.request.get(`${base}accuracy?category=${CATEGORY}&model_type=recommended&group_by=days_ahead`,
      { headers: { 'X-API-Key': E2E_API_KEY } })
    const first = (await answer.json()).groups[0]
    expect(first.mae).toBeCloseTo(Math.abs(first.forecast - first.actual), 6)
    await expect(card.locator('tr[data-ahead="1"] td').nth(2)).toHaveText(first.mae.toFixed(2))
    mkdirSync(ARTIFACTS, { recursive: true })
    await page.addStyleTag({ content: '.app-header { position: static !important; }' })
    await card.screenshot({ path: join(ARTIFACTS, 'accuracy.png'), animations: 'disabled' })
  })
})
