// Weekly and monthly views through the web app: a real daily file (the Anonymous Bank's calls, July to mid-November
// 1999) uploaded, forecast, switched to months; the monthly table says which days each month holds, and a target
// set in the form shows its gap (and a refused one the API's own words).
import { expect, test, type Page } from '@playwright/test'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { E2E_API_KEY, REPO } from './platform'

/** Written by fixtures/make_bank_calls.py: one category, `anonymous-bank`, its last day 15 November 1999. */
const FIXTURE = join(REPO, 'frontend', 'e2e', 'fixtures', 'bank-calls-1999.csv')
const ARTIFACTS = join(REPO, 'test-artifacts', 'e2e')
const TARGET = 40_000

/** The fixture's calls from 1 to 15 November: the actual so far of the month the forecast starts in. */
function novemberSoFar(): number {
  return readFileSync(FIXTURE, 'utf8').trim().split('\n').slice(1).map((line) => line.split(','))
    .filter(([day]) => day!.startsWith('1999-11-')).reduce((sum, [, , , sales]) => sum + Number(sales), 0)
}

/** A number as the table writes it (en-US, no decimals) back to a number. */
const amount = (text: string) => Number(text.replace(/[^\d.-]/g, ''))

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS, `periods-${name}.png`), fullPage: true, animations: 'disabled' })
}

test.use({ locale: 'en-US' })
test.skip(() => Boolean(process.env.CASTFLOW_E2E_SKIP), process.env.CASTFLOW_E2E_SKIP)

test('a planner reads the forecast per month and sets a monthly target', async ({ page }) => {
  const base = process.env.CASTFLOW_E2E_URL!
  page.on('pageerror', (error) => { throw error })
  await page.addInitScript((key) => sessionStorage.setItem('castflow.apiKey', key), E2E_API_KEY)

  await test.step('upload the daily calls and wait for their forecast', async () => {
    await page.goto(`${base}#/`)
    await page.locator('#file').setInputFiles(FIXTURE)
    await page.getByRole('button', { name: 'Upload', exact: true }).click()
    await expect(page).toHaveURL(/#\/batches\/\d+$/)
    await expect(page.locator('.batch-status')).toHaveText('Load: completed', { timeout: 60_000 })
    await expect(page.locator('.forecast-status')).toHaveText('Forecast: completed', { timeout: 150_000 })
  })

  const november = page.locator('table.monthly tr[data-month="1999-11"]')
  const december = page.locator('table.monthly tr[data-month="1999-12"]')

  await test.step('switch the chart to months: whole months drawn, the monthly table says which days each holds', async () => {
    await page.goto(`${base}#/forecasts/anonymous-bank`)
    const chart = page.getByRole('img', { name: /^anonymous-bank: / })
    await expect(chart).toHaveAttribute('aria-label', /days of history/)
    await page.getByRole('radio', { name: 'Month' }).check()
    // July to October are whole months of history; November holds 15 stored days only, so it is the table's.
    await expect(chart).toHaveAttribute('aria-label', /^anonymous-bank: 4 months of history, forecasts by /)
    await expect(page.locator('.per-note')).toContainText("Each point is a month's total")
    await expect(november.locator('th')).toHaveText('November 1999')
    await expect(november.locator('.days')).toHaveText('15 forecast + 15 actual of 30 days')
    await expect(november.locator('.actual')).toHaveText(Math.round(novemberSoFar()).toLocaleString('en-US'))
    const total = amount(await november.locator('.total').innerText())
    const forecast = amount(await november.locator('.forecast').innerText())
    expect(Math.abs(total - forecast - novemberSoFar())).toBeLessThanOrEqual(1)
    await expect(december.locator('.days')).toHaveText('15 forecast of 31 days (part of the month)')
    await expect(november.locator('.gap')).toHaveText('—')
    await shot(page, 'month')
  })

  await test.step('a refused target shows the API\'s own words; a good one shows its gap', async () => {
    const field = page.getByLabel('Target for 1999-11', { exact: true })
    await field.fill('-5')
    await page.getByRole('button', { name: 'Save targets' }).click()
    await expect(page.locator('.targets-notice')).toHaveText("target '1999-11': the target must be 0 or more, got -5")
    await field.fill(String(TARGET))
    await page.getByRole('button', { name: 'Save targets' }).click()
    await expect(page.locator('.targets-notice')).toHaveText('Saved 1 monthly target(s).')
    await expect(november.locator('.target')).toHaveText(TARGET.toLocaleString('en-US'))
    const total = amount(await november.locator('.total').innerText())
    const gap = amount((await november.locator('.gap').innerText()).split(' (')[0]!)
    expect(Math.abs(gap - (total - TARGET))).toBeLessThanOrEqual(1)
    const share = Number((await november.locator('.gap').innerText()).match(/\(([+-]?[\d.]+)%\)$/)![1])
    expect(Math.abs(share - (total - TARGET) / TARGET * 100)).toBeLessThanOrEqual(0.1)
    await shot(page, 'target')
  })

  await test.step('the week switch draws Monday weeks, and the day switch the daily chart as before', async () => {
    const chart = page.getByRole('img', { name: /^anonymous-bank: / })
    await page.getByRole('radio', { name: 'Week' }).check()
    await expect(chart).toHaveAttribute('aria-label', /weeks of history/)
    await page.getByRole('radio', { name: 'Day' }).check()
    await expect(chart).toHaveAttribute('aria-label', /^anonymous-bank: 138 days of history/)
  })
})
