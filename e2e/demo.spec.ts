// The demo storefront in real Chromium: it loads over the real catalog, the shopper simulator
// changes the order, forget empties the privacy panel, an uploaded catalog becomes the list.
// Screenshots of the main views go to the test's output folder; `npm run screenshots` (which sets
// INPAGE_SCREENSHOTS=1) also refreshes the tracked docs/screenshots/*.png, so `npm test` writes no tracked file.
import { test, expect, type Page, type TestInfo } from '@playwright/test'
import { copyFileSync, mkdirSync } from 'node:fs'
import { DEMO_ORIGIN } from './ports'

// The built demo under `vite preview` (see playwright.config.ts).
const DEMO = `${DEMO_ORIGIN}/`
const REFRESH_DOCS = process.env.INPAGE_SCREENSHOTS === '1'

async function shot(page: Page, testInfo: TestInfo, name: string) {
  const file = testInfo.outputPath(`${name}.png`)
  await page.screenshot({ path: file, fullPage: true })
  await testInfo.attach(name, { path: file, contentType: 'image/png' })
  if (!REFRESH_DOCS) return
  mkdirSync('docs/screenshots', { recursive: true })
  copyFileSync(file, `docs/screenshots/${name}.png`)
}

const ids = (page: Page, list: 'server' | 'personal') =>
  page.locator(`[data-testid="${list}-list"] > li.product`).evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.id!))

/** Waits until the shopper's column shows this page's rerank result. */
const settled = (page: Page) => expect(page.locator('#personal-col')).toHaveAttribute('data-state', 'done', { timeout: 60_000 })

async function open(page: Page) {
  await page.setViewportSize({ width: 1440, height: 1000 })
  await page.goto(DEMO)
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true', { timeout: 30_000 })
  // The model loaded (the download progress ran to 100 %).
  await expect(page.locator('#badges')).toContainText('ready', { timeout: 60_000 })
  // The download progress bar ran to the end.
  await expect(page.locator('#progress')).toHaveAttribute('data-percent', '100')
  await settled(page)
}

test('the storefront loads, the simulator personalizes, forget empties the privacy panel', async ({ page }, testInfo) => {
  test.setTimeout(240_000)
  const errors: string[] = []
  const requests: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
  page.on('request', (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}${new URL(r.url()).search}`))
  await open(page)

  // First visit: the server's popular items, no history, both columns alike.
  expect(await page.locator('#departments button').count()).toBeGreaterThan(10)
  const server = await ids(page, 'server')
  expect(server).toHaveLength(20)
  await expect(page.getByTestId('why')).toHaveAttribute('data-why', 'no-history')
  expect(await ids(page, 'personal')).toEqual(server)
  await expect(page.getByTestId('stored-events-empty')).toBeVisible()
  await shot(page, testInfo, 'storefront')

  // Replay a real shopper (3D printing) for six purchases: the order changes, with reasons.
  const shopper = page.locator('#shopper option', { hasText: 'Additive Manufacturing' }).first()
  await page.locator('#shopper').selectOption((await shopper.getAttribute('value'))!)
  for (let i = 0; i < 6; i++) {
    await page.locator('#sim-step').click()
    await expect(page.locator('#sim-progress')).toHaveText(`Step ${i + 1} of ${await page.locator('.timeline li').count()}`)
  }
  await settled(page)
  await expect(page.getByTestId('why')).toHaveAttribute('data-why', 'personalized', { timeout: 60_000 })
  await expect(page.getByTestId('stored-count')).toHaveText('12 events stored')
  const personal = await ids(page, 'personal')
  expect(personal).not.toEqual(server)
  expect(await page.locator('#personal-list .chip.up').count()).toBeGreaterThan(0)
  expect(await page.locator('#personal-list .reason').count()).toBeGreaterThan(0)
  await expect(page.locator('#personal-list .reason').first()).toHaveText(/^Because you (viewed|bought) '/)
  await expect(page.locator('#badges')).toContainText(/WASM|WEBGPU/)
  await expect(page.locator('#badges')).toContainText(/Rerank\d+ ms/)

  // The knobs reach rerank(): weight 0 gives the server's order back, the default weight this order.
  const weight = await page.locator('#personal-weight').inputValue()
  await page.locator('#personal-weight').fill('0')
  await expect.poll(() => ids(page, 'personal')).toEqual(server)
  await page.locator('#personal-weight').fill(weight)
  await expect.poll(() => ids(page, 'personal')).toEqual(personal)
  await settled(page)
  await shot(page, testInfo, 'simulator')

  // A search: the store's BM25 results, reranked for this shopper.
  await page.locator('#q').fill('filament')
  await page.locator('#search button').click()
  await expect(page.locator('#page-title')).toHaveText('Search results for “filament”')
  await settled(page)
  await expect(page.getByTestId('why')).toHaveAttribute('data-why', 'personalized')
  const found = new Set(await ids(page, 'server'))
  expect((await ids(page, 'personal')).filter((id) => found.has(id)).length).toBeGreaterThan(5)
  await expect(page.locator('#server-list .product').first()).toContainText(/filament/i)

  // The privacy panel lists what is stored; export downloads it; forget erases it.
  await page.locator('#privacy').scrollIntoViewIfNeeded()
  await expect(page.getByTestId('stored-events').locator('li')).toHaveCount(13) // 12 + the search
  await expect(page.getByTestId('stored-events')).toContainText('“filament”')
  await shot(page, testInfo, 'privacy')
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), page.locator('#export').click()])
  const doc = JSON.parse(await (await import('node:fs/promises')).readFile((await download.path())!, 'utf8'))
  expect(doc.format).toBe('inpage-export')
  expect(doc.events).toHaveLength(13)
  await page.locator('#forget').click()
  await expect(page.getByTestId('stored-events-empty')).toBeVisible()
  await expect(page.getByTestId('stored-count')).toHaveText('0 events stored')
  await expect(page.getByTestId('why')).toHaveAttribute('data-why', 'no-history')
  expect(await ids(page, 'personal')).toEqual(await ids(page, 'server'))

  // Only GETs left the page; the store server never got the history (no item ids in its requests).
  expect(requests.filter((r) => !r.startsWith('GET '))).toEqual([])
  const history = doc.events.filter((e: { itemId?: string }) => e.itemId).map((e: { itemId: string }) => e.itemId)
  expect(requests.filter((r) => r.includes('/api/') && history.some((id: string) => r.includes(id)))).toEqual([])
  expect(errors).toEqual([])
})

test('consent off keeps nothing and shows the server order; a team can load its own catalog', async ({ page }, testInfo) => {
  test.setTimeout(180_000)
  await open(page)
  page.on('console', (m) => m.text().startsWith('inpage demo:') && console.log(m.text()))
  await page.locator('[data-consent="denied"]').click()
  await expect(page.locator('[data-consent="denied"]')).toHaveAttribute('aria-pressed', 'true')
  await page.locator('#shopper').selectOption({ index: 1 })
  await page.locator('#sim-step').click()
  await expect(page.getByTestId('stored-events-empty')).toBeVisible()
  await expect(page.getByTestId('why')).toHaveAttribute('data-why', 'consent', { timeout: 15_000 })
  await page.locator('[data-consent="granted"]').click()
  await expect(page.locator('[data-consent="granted"]')).toHaveAttribute('aria-pressed', 'true')

  // A CSV with quoted commas, a category path and prices; one row without a title is skipped.
  const csv = [
    'id,title,brand,category,price',
    'sku-1,"Nitrile gloves, powder-free, box of 100",SafeHands,Lab > Safety > Gloves,12.90',
    'sku-2,Borosilicate beaker 250 ml,LabCraft,Lab > Glassware > Beakers,6.50',
    'sku-3,PLA filament 1.75 mm 1 kg,Extrudo,Printing > 3D Printing > Filament,19.99',
    'sku-4,,NoName,Lab > Misc,1',
    'sku-5,PETG filament 1.75 mm 1 kg,Extrudo,Printing > 3D Printing > Filament,23.00',
    'sku-6,Two-part epoxy adhesive 25 ml,Bondit,Workshop > Adhesives,7.40',
  ].join('\n')
  await page.locator('#catalog-file').setInputFiles({ name: 'my-shop.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) })
  await expect(page.locator('#own-catalog')).toContainText('Loaded 5 products, skipped 1')
  await expect(page.locator('#page-title')).toHaveText('my-shop.csv')
  expect(await ids(page, 'server')).toEqual(['sku-1', 'sku-2', 'sku-3', 'sku-5', 'sku-6'])
  await expect(page.locator('#server-list .product').first()).toContainText('Nitrile gloves, powder-free, box of 100')
  await expect(page.locator('#server-list .product').first()).toContainText('$12.90')
  // The shopper buys filament from this catalog: filament moves up.
  await page.locator('#server-list .product[data-id="sku-3"]').hover()
  await page.locator('#server-list .product[data-id="sku-3"] button.buy').click()
  await expect(page.getByTestId('why')).toHaveAttribute('data-why', 'personalized', { timeout: 60_000 })
  await settled(page)
  const order = await ids(page, 'personal')
  expect(order.indexOf('sku-5')).toBeLessThan(3)
  await shot(page, testInfo, 'own-catalog')
})
