// Why a forecast has its shape and how each model did: a real daily file (a bank's call centre, 1999) uploaded,
// then its seasonality panel (seven weekday bars, twelve month bars) and the backtest chart with the held-back actuals.
import { expect, test, type Page } from '@playwright/test'
import { copyFileSync, mkdirSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { E2E_API_KEY, REPO } from './platform'

/** The Anonymous Bank call centre's 365 daily call counts of 1999 (written by fixtures/make_bank_calls.py). */
const FIXTURE = join(REPO, 'frontend', 'e2e', 'fixtures', 'bank-calls-1999-year.csv')
const CATEGORY = 'anonymous-bank'
const ARTIFACTS = join(REPO, 'test-artifacts', 'e2e')
const DOCS = process.env.CASTFLOW_SCREENSHOTS_DIR

/** A screenshot of one card of the page into test-artifacts/e2e, and into CASTFLOW_SCREENSHOTS_DIR when set. */
async function shot(page: Page, card: string, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true })
  const path = join(ARTIFACTS, `${name}.png`)
  await page.addStyleTag({ content: '.app-header { position: static !important; }' })  // not over the card
  await page.locator(`section[aria-labelledby="${card}"]`).screenshot({ path, animations: 'disabled' })
  if (DOCS) {
    const dir = isAbsolute(DOCS) ? DOCS : join(REPO, DOCS)
    mkdirSync(dir, { recursive: true })
    copyFileSync(path, join(dir, `${name}.png`))
  }
}

test.skip(() => Boolean(process.env.CASTFLOW_E2E_SKIP), process.env.CASTFLOW_E2E_SKIP)

test('a planner sees the seasonality behind a forecast and the backtest drawn', async ({ page }) => {
  test.setTimeout(300_000)
  const base = process.env.CASTFLOW_E2E_URL!
  page.on('pageerror', (error) => { throw error })
  // The key dialog is another test's subject: here the key is already in this tab's storage.
  await page.addInitScript((key) => sessionStorage.setItem('castflow.apiKey', key), E2E_API_KEY)

  await test.step('upload the real daily calls and wait for the forecast', async () => {
    await page.goto(`${base}#/`)
    await page.locator('#file').setInputFiles(FIXTURE)
    await page.getByRole('button', { name: 'Upload', exact: true }).click()
    await expect(page).toHaveURL(/#\/batches\/\d+$/)
    await expect(page.locator('.batch-status')).toHaveText('Load: completed', { timeout: 60_000 })
    await expect(page.locator('.forecast-status')).toHaveText('Forecast: completed', { timeout: 240_000 })
  })

  await test.step('the seasonality panel has seven weekday bars and twelve month bars, with what is behind them', async () => {
    await page.goto(`${base}#/forecasts/${CATEGORY}`)
    const weekday = page.locator('[data-season="weekday"]')
    await expect(weekday.locator('tbody tr')).toHaveCount(7)
    await expect(weekday.locator('canvas').first()).toBeVisible()
    await expect(weekday.getByRole('img')).toHaveAttribute('aria-label', /Saturday: 0\.\d\d × an average day \(5\d weeks\)/)
    await expect(weekday.locator('figcaption')).toContainText('weeks behind each weekday')
    await weekday.getByText('Figures').click()
    const saturday = Number(await weekday.locator('tr[data-factor="Saturday"] td').first().innerText())
    const sunday = Number(await weekday.locator('tr[data-factor="Sunday"] td').first().innerText())
    expect(saturday).toBeLessThan(0.5)  // an Israeli week: Saturday near-closed, Sunday a working day
    expect(sunday).toBeGreaterThan(1)
    await weekday.getByText('Figures').click()  // closed again for the picture
    const month = page.locator('[data-season="month"]')
    await expect(month.locator('tbody tr')).toHaveCount(12)
    await expect(month.locator('figcaption')).toContainText('1 year behind each month')
    await shot(page, 'seasonality-title', 'seasonality')
  })

  await test.step('the backtest chart draws the held-back actuals against the recommended forecast', async () => {
    const chart = page.getByRole('img', { name: /^Backtest of .* held-back window\(s\), \d+ days of actuals\.$/ })
    await expect(chart).toBeVisible()
    await expect(chart.locator('canvas').first()).toBeVisible()
    const legend = page.getByRole('group', { name: 'Lines of the backtest chart' })
    await expect(legend.getByRole('button', { name: 'Actual' })).toHaveAttribute('aria-pressed', 'true')
    await expect(legend.getByRole('button', { name: 'Recommended' })).toHaveAttribute('aria-pressed', 'true')
    const label = (await chart.getAttribute('aria-label'))!
    expect(Number(label.match(/(\d+) days of actuals/)![1])).toBeGreaterThanOrEqual(60)
    // The other models are a click away.
    const name = (await legend.locator('button[aria-pressed="false"]').first().innerText()).trim()
    const other = legend.getByRole('button', { name, exact: true })
    await other.click()
    await expect(other).toHaveAttribute('aria-pressed', 'true')
    await other.click()
    await shot(page, 'metrics-title', 'backtest')
  })
})
