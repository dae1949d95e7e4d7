// Product forecasts and inventory through the web app: a shop's daily sales uploaded, its product forecasts seeded
// the way the product engine stores them (tests/products.py), a product searched and its chart drawn; then a stock
// file sent on the Inventory page, the product to order listed first, and a refused file's rows listed.
import { expect, test, type Page } from '@playwright/test'
import { execFileSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { E2E_API_KEY, REPO } from './platform'

const ARTIFACTS = join(REPO, 'test-artifacts', 'e2e')
const CATEGORY = 'corner-shop'
/** 60 days of March-April 2024: widget-1 sells about 20 a day, widget-2 about 5, gadget-9 about 1. */
const SALES = ['Date,product_id,category,sales', ...Array.from({ length: 60 }, (_, n) => {
  const day = new Date(Date.UTC(2024, 2, 1 + n)).toISOString().slice(0, 10)
  return [`${day},widget-1,${CATEGORY},${18 + (n % 5)}`, `${day},widget-2,${CATEGORY},${4 + (n % 3)}`, `${day},gadget-9,${CATEGORY},${n % 2}`]
}).flat()].join('\n') + '\n'

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS, `products-${name}.png`), fullPage: true, animations: 'disabled' })
}

/** Upload the sales through the API and wait until the batch is loaded. */
async function uploadSales(base: string): Promise<void> {
  const form = new FormData()
  form.append('file', new Blob([SALES], { type: 'text/csv' }), 'corner-shop.csv')
  const headers = { 'X-API-Key': E2E_API_KEY }
  const answer = await (await fetch(`${base}upload`, { method: 'POST', body: form, headers })).json() as { batch_num: number }
  await expect.poll(async () => (await (await fetch(`${base}batches/${answer.batch_num}`, { headers })).json() as { status: string }).status,
    { timeout: 60_000 }).toBe('completed')
}

test.use({ locale: 'en-US' })
test.skip(() => Boolean(process.env.CASTFLOW_E2E_SKIP), process.env.CASTFLOW_E2E_SKIP)

test('a planner finds a product, sees its forecast, and sees what to order', async ({ page }) => {
  const base = process.env.CASTFLOW_E2E_URL!
  page.on('pageerror', (error) => { throw error })
  await page.addInitScript((key) => sessionStorage.setItem('castflow.apiKey', key), E2E_API_KEY)

  await test.step('load the sales and seed their product forecasts', async () => {
    await uploadSales(base)
    execFileSync(process.env.CASTFLOW_E2E_PYTHON!, ['-m', 'tests.products', process.env.CASTFLOW_E2E_DATABASE_URL!, CATEGORY], { cwd: REPO })
  })

  await test.step('search a product in the category page and see its chart', async () => {
    await page.goto(`${base}#/forecasts/${CATEGORY}`)
    const table = page.locator('table.product-table')
    await expect(table.locator('tbody tr')).toHaveCount(3)
    await expect(table.locator('tbody tr').first()).toHaveAttribute('data-product', 'widget-1')  // largest volume first
    await page.getByLabel('Search products').fill('WIDGET-2')
    await expect(table.locator('tbody tr')).toHaveCount(1)
    await table.getByRole('button', { name: 'widget-2' }).click()
    await expect(page.locator('#product-chart-title')).toHaveText('Product widget-2')
    await expect(page.getByRole('img', { name: new RegExp(`^${CATEGORY} / widget-2: 60 days of history, forecasts by `) })).toBeVisible()
    await page.getByLabel('Sort by').selectOption('mase')
    await page.getByLabel('Search products').fill('')
    await expect(table.locator('tbody tr').first()).toHaveAttribute('data-product', 'gadget-9')  // lowest MASE first
    await shot(page, 'category')
  })

  await test.step('send stock on the Inventory page: the product to order comes first', async () => {
    await page.getByRole('link', { name: 'Inventory' }).click()
    await expect(page).toHaveURL(/#\/inventory$/)
    const bad = 'product_id,category,on_hand\nwidget-1,corner-shop,-4\nghost,corner-shop,1\n'
    await page.locator('#stock-file').setInputFiles({ name: 'stock.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) })
    await expect(page.locator('.problems li')).toHaveText(['Line 2, on_hand “-4”: must not be negative'])
    const good = 'product_id,category,on_hand,lead_time_days\nwidget-1,corner-shop,500,3\nwidget-2,corner-shop,2,5\n'
    await page.locator('#stock-file').setInputFiles({ name: 'stock.csv', mimeType: 'text/csv', buffer: Buffer.from(good) })
    await expect(page.getByText('2 products stored (2 new, 0 updated).')).toBeVisible()
    const rows = page.locator('table.inventory-table tbody tr')
    await expect(rows).toHaveCount(2)
    await expect(rows.first()).toHaveAttribute('data-product', 'widget-2')
    await expect(rows.first().locator('.order-now')).toHaveText('Order now')
    await expect(rows.nth(1).locator('.order-now')).toHaveText('—')
    await shot(page, 'inventory')
  })
})
