// The demo storefront in real Chromium: it loads over the real catalog, the shopper simulator
// changes the order, forget empties the privacy panel; a second store (Beauty) with its own pack and
// history personalizes with the same model; an uploaded catalog (+ events) becomes a store with its pack.
// Screenshots of the main views go to the test's output folder; `npm run screenshots` (which sets
// INPAGE_SCREENSHOTS=1) also refreshes the tracked docs/screenshots/*.png, so `npm test` writes no tracked file.
import { test, expect, type Locator, type Page, type TestInfo } from '@playwright/test'
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs'
import { assign } from '../src/experiment'
import { DEMO_ORIGIN } from './ports'

// The built demo under `vite preview` (see playwright.config.ts).
const DEMO = `${DEMO_ORIGIN}/`
const REFRESH_DOCS = process.env.INPAGE_SCREENSHOTS === '1'

/** The whole page, or one part of it (`part`: a card that would be small in the whole page). */
async function shot(page: Page, testInfo: TestInfo, name: string, part?: Locator) {
  const file = testInfo.outputPath(`${name}.png`)
  if (part) await part.screenshot({ path: file })
  else await page.screenshot({ path: file, fullPage: true })
  await testInfo.attach(name, { path: file, contentType: 'image/png' })
  if (!REFRESH_DOCS) return
  mkdirSync('docs/screenshots', { recursive: true })
  copyFileSync(file, `docs/screenshots/${name}.png`)
}

const ids = (page: Page, list: 'server' | 'personal') =>
  page.locator(`[data-testid="${list}-list"] > li.product`).evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.id!))

/** Waits until the shopper's column shows this page's rerank result. */
const settled = (page: Page) => expect(page.locator('#personal-col')).toHaveAttribute('data-state', 'done', { timeout: 60_000 })

/** The pack a store's server says it serves (GET /api/store), as name@version. */
async function packOf(page: Page, store: string): Promise<string> {
  const body = (await (await page.request.get(`${DEMO_ORIGIN}/api/store`)).json()) as { stores: { id: string; pack: { id?: string } }[] }
  const id = body.stores.find((s) => s.id === store)?.pack.id
  expect(id, `the pack of ${store}`).toMatch(new RegExp(`^${store}@[0-9a-f]{16}$`))
  return id!
}

/** The model a store's pack was built for (GET /api/store). */
async function modelOf(page: Page, store: string): Promise<string | undefined> {
  const body = (await (await page.request.get(`${DEMO_ORIGIN}/api/store`)).json()) as { stores: { id: string; pack: { model?: string } }[] }
  return body.stores.find((s) => s.id === store)?.pack.model
}

/** The status bar's reading of status().engine.catalog after the last rerank. */
async function catalogRead(page: Page) {
  const text = await page.getByTestId('catalog').locator('.badge-v').innerText()
  const m = /^(\d+) items · (\d+) missing · (\d+) files? · ([\d.]+) (kB|MB)/.exec(text)
  expect(m, `catalog badge: ${text}`).not.toBeNull()
  return { asked: Number(m![1]), missing: Number(m![2]), files: Number(m![3]), text }
}

/** Picks the first replayable shopper whose label holds `label` and plays `steps` of their events, one at a time. */
async function replayShopper(page: Page, label: string, steps: number) {
  const shopper = page.locator('#shopper option', { hasText: label }).first()
  await page.locator('#shopper').selectOption((await shopper.getAttribute('value'))!)
  for (let i = 0; i < steps; i++) {
    await page.locator('#sim-step').click()
    await expect(page.locator('#sim-progress')).toHaveText(`Step ${i + 1} of ${await page.locator('.timeline li').count()}`)
  }
}

async function open(page: Page, url = DEMO) {
  await page.setViewportSize({ width: 1440, height: 1000 })
  await page.goto(url)
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true', { timeout: 30_000 })
  // The model loaded (the download progress ran to 100 %).
  await expect(page.locator('#badges')).toContainText('ready', { timeout: 60_000 })
  // The download progress bar ran to the end.
  await expect(page.locator('#progress')).toHaveAttribute('data-percent', '100')
  await settled(page)
}

// The demo's store server builds its stores' packs when it starts, with int8 text vectors encoded in Node:
// minutes on 2 cores the first time (then cached in demo/.packs/). The tests start once they are built.
test.beforeAll(async ({ request }) => {
  test.setTimeout(900_000)
  await expect
    .poll(async () => {
      const body = (await (await request.get(`${DEMO_ORIGIN}/api/store`)).json()) as { stores: { id: string; pack: { state: string } }[] }
      return body.stores.filter((s) => s.pack.state !== 'ready').map((s) => `${s.id}: ${s.pack.state}`)
    }, { timeout: 890_000, intervals: [2_000] })
    .toEqual([])
})

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
  // Badges that tell the truth (issue 27): no green rerank time on a page that was not personalized.
  await expect(page.getByTestId('rerank')).toContainText(/server order · \d+ ms/)
  await expect(page.getByTestId('rerank')).not.toHaveClass(/\bok\b/)
  // What you are looking at: the privacy boundary, what moved and why, where the numbers come from.
  await expect(page.getByTestId('explain')).toContainText('Nothing about this shopper leaves the page')
  await expect(page.getByTestId('explain')).toContainText(/The store’s server got \d+ GETs: departments and search words, never the history/)
  await expect(page.getByTestId('explain-moved')).toContainText('Nothing moved: no history yet.')
  await shot(page, testInfo, 'storefront')

  // Replay a real shopper (3D printing) for six purchases: the order changes, with reasons.
  await replayShopper(page, 'Additive Manufacturing', 6)
  await settled(page)
  await expect(page.getByTestId('why')).toHaveAttribute('data-why', 'personalized', { timeout: 60_000 })
  await expect(page.getByTestId('stored-count')).toHaveText('12 events stored')
  const personal = await ids(page, 'personal')
  expect(personal).not.toEqual(server)
  expect(await page.locator('#personal-list .chip.up').count()).toBeGreaterThan(0)
  expect(await page.locator('#personal-list .reason').count()).toBeGreaterThan(0)
  await expect(page.locator('#personal-list .reason').first()).toHaveText(/^Because you (viewed|bought) '/)
  await expect(page.locator('#badges')).toContainText(/WASM|WEBGPU/)
  // The recommended model (README): the general one with this store's pack.
  await expect(page.locator('#badges')).toContainText('inpage-general-v1')
  expect(await modelOf(page, 'amazon-scientific')).toMatch(/^inpage-general-v1@/)
  await expect(page.getByTestId('explain-moved')).toContainText(/\d+ of the top 20 moved, because of this shopper’s 12 events in this tab/)
  await expect(page.getByTestId('explain')).toContainText(/Right: inpage-general-v1 with the store’s pack amazon-scientific@/)
  // The demo's packs carry int8 text vectors (as `npm run catalog` builds them): this tab encodes no catalog item.
  await expect(page.getByTestId('catalog')).toContainText('text from pack')
  await expect(page.locator('#badges')).toContainText(/Rerank\d+ ms/)

  // The knobs reach rerank(): weight 0 gives the server's order back, the default weight this order.
  const weight = await page.locator('#personal-weight').inputValue()
  await page.locator('#personal-weight').fill('0')
  await expect.poll(() => ids(page, 'personal')).toEqual(server)
  // Strength 0 is the server's order: the page does not call it personalized.
  await expect(page.getByTestId('why')).toHaveText('Strength 0: server order')
  await expect(page.getByTestId('why-detail')).toHaveCount(0)
  await page.locator('#personal-weight').fill(weight)
  await expect.poll(() => ids(page, 'personal')).toEqual(personal)
  await settled(page)
  await shot(page, testInfo, 'simulator')

  await expect(page.getByTestId('why')).toHaveText('Personalized for this shopper')
  await expect(page.getByTestId('rerank')).toHaveClass(/\bok\b/)

  // A search without results: no list, no stale badge or "why" from the page before.
  await page.locator('#q').fill('zzqxv')
  await page.locator('#search button').click()
  await expect(page.locator('#page-sub')).toHaveText('No results from the store’s own search: nothing to rerank.')
  await expect(page.getByTestId('rerank')).toHaveText('Reranknothing to rerank')
  await expect(page.getByTestId('catalog')).toHaveText('Last rerank readnothing to rerank')
  await expect(page.getByTestId('why')).toHaveCount(0)

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
  await expect(page.getByTestId('stored-events').locator('li')).toHaveCount(14) // 12 + the two searches
  await expect(page.getByTestId('stored-events')).toContainText('“filament”')
  await shot(page, testInfo, 'privacy')
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), page.locator('#export').click()])
  const doc = JSON.parse(await (await import('node:fs/promises')).readFile((await download.path())!, 'utf8'))
  expect(doc.format).toBe('inpage-export')
  expect(doc.events).toHaveLength(14)
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

  // A CSV with quoted commas, a category path and prices; one row without a title is skipped. It is read
  // in the tab, then uploaded (no events file) to the store server, which builds its pack.
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
  await expect(page.locator('#own-catalog')).toContainText('Read 5 products, skipped 1')
  await page.locator('#catalog-upload').click()
  await expect(page.getByTestId('upload-message')).toContainText(/Pack upload-[0-9a-f]{12}@[0-9a-f]{16} ready: 5 items, no events/, { timeout: 60_000 })
  await expect(page.getByTestId('upload-log')).toContainText('no events file')
  await expect(page.getByTestId('upload-log')).toContainText(/built upload-[0-9a-f]{12}@/)
  await expect(page.locator('body')).toHaveAttribute('data-store', /^upload-/)
  await expect(page.locator('#page-title')).toHaveText('my-shop')
  await expect(page.locator('.store.active')).toContainText('my-shop')
  // Without events every popularity is 0: the server's order is the file's.
  await expect.poll(() => ids(page, 'server')).toEqual(['sku-1', 'sku-2', 'sku-3', 'sku-5', 'sku-6'])
  await expect(page.locator('#server-list .product').first()).toContainText('Nitrile gloves, powder-free, box of 100')
  await expect(page.locator('#server-list .product').first()).toContainText('$12.90')
  // The shopper buys filament from this catalog: filament moves up.
  await settled(page)
  await page.locator('#server-list .product[data-id="sku-3"]').hover()
  await page.locator('#server-list .product[data-id="sku-3"] button.buy').click()
  await expect(page.getByTestId('why')).toHaveAttribute('data-why', 'personalized', { timeout: 60_000 })
  await settled(page)
  const order = await ids(page, 'personal')
  expect(order.indexOf('sku-5')).toBeLessThan(3)
  // The rerank read this upload's pack: every item is in it.
  const store = (await page.locator('body').getAttribute('data-store'))!
  await expect(page.getByTestId('pack')).toContainText(await packOf(page, store))
  expect((await catalogRead(page)).missing).toBe(0)
  await shot(page, testInfo, 'own-catalog')
})

test('consent and forget a shopper understands: this visit survives a store switch, forget goes back to this visit, Off survives a reload', async ({ page }) => {
  test.setTimeout(180_000)
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await open(page)
  await expect(page.locator('[data-consent="pending"]')).toHaveAttribute('aria-pressed', 'true')
  await page.locator('#shopper').selectOption({ index: 1 })
  for (let i = 0; i < 2; i++) {
    await page.locator('#sim-step').click()
    await expect(page.locator('#sim-progress')).toHaveText(new RegExp(`^Step ${i + 1} of `))
  }
  await expect(page.getByTestId('stored-count')).toHaveText('4 events stored')
  await expect(page.locator('.stored-head')).toContainText('memory only')
  // Another store and back: this visit's history is still there (it was never written anywhere).
  await page.locator('[data-store="amazon-beauty"]').click()
  await expect(page.locator('#store-name')).toHaveText('Lumen Beauty')
  await settled(page)
  await expect(page.getByTestId('stored-count')).toHaveText('0 events stored')
  await page.locator('[data-store="amazon-scientific"]').click()
  await expect(page.locator('#store-name')).toHaveText('Benchmark Supply Co.')
  await expect(page.getByTestId('stored-count')).toHaveText('4 events stored')
  await settled(page)
  await expect(page.getByTestId('why')).toHaveAttribute('data-why', 'personalized', { timeout: 60_000 })
  await expect(page.locator('[data-consent="pending"]')).toHaveAttribute('aria-pressed', 'true')

  // Remember, then forget: the panel goes back to "This visit", which writes nothing.
  await page.locator('[data-consent="granted"]').click()
  await expect(page.locator('.stored-head')).toContainText('IndexedDB')
  await page.locator('#forget').click()
  await expect(page.getByTestId('stored-events-empty')).toBeVisible()
  await expect(page.locator('[data-consent="pending"]')).toHaveAttribute('aria-pressed', 'true')
  await expect(page.locator('[data-consent="granted"]')).toHaveAttribute('aria-pressed', 'false')
  await expect(page.locator('.stored-head')).toContainText('memory only, nothing written')

  // Off is remembered across a reload, as the store's consent platform would remember it.
  await page.locator('[data-consent="denied"]').click()
  await expect(page.locator('[data-consent="denied"]')).toHaveAttribute('aria-pressed', 'true')
  await page.reload()
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true', { timeout: 30_000 })
  await expect(page.locator('[data-consent="denied"]')).toHaveAttribute('aria-pressed', 'true')
  await settled(page)
  await expect(page.getByTestId('why')).toHaveAttribute('data-why', 'consent')
  expect(errors).toEqual([])
})

test('data shown clean: decoded titles, no junk rows, whole department names, a next purchase always findable', async ({ page }) => {
  test.setTimeout(180_000)
  type P = { id: string; title: string }
  const get = async <T>(path: string) => (await (await page.request.get(`${DEMO_ORIGIN}${path}`)).json()) as T
  await open(page)
  // Amazon's comma-split department ("Test" > "Measure & Inspect") is shown whole.
  await expect(page.locator('#departments button[data-dept="Test, Measure & Inspect"]')).toHaveCount(1)
  await expect(page.locator('#departments button[data-dept="Test"]')).toHaveCount(0)
  // Rows whose title is scraping markup are not listed, and the page says how many.
  await expect(page.locator('#footer-source')).toContainText(/ \d+ rows with a junk title/)
  for (const path of ['/api/amazon-scientific/search?q=Industrial%20Scientific&limit=200', '/api/amazon-scientific/category?dept=&limit=200', '/api/amazon-scientific/category?dept=Lab%20%26%20Scientific%20Products&limit=200']) {
    const { items } = await get<{ items: P[] }>(path)
    expect(items.length).toBeGreaterThan(20)
    expect(items.filter((p) => /\/>|^Industrial & Scientific$/.test(p.title)).map((p) => p.title)).toEqual([])
  }
  // Every simulator shopper's next purchase: the page the simulator offers does list it.
  for (const store of ['amazon-scientific', 'amazon-beauty']) {
    const { shoppers } = await get<{ shoppers: { next: P; history: P[]; nextPage?: { dept: string } | { q: string } }[] }>(`/api/${store}/shoppers`)
    expect(shoppers.length).toBeGreaterThan(4)
    for (const s of shoppers) {
      expect(s.nextPage, `a page for ${s.next.id}`).toBeDefined()
      const path = 'dept' in s.nextPage! ? `category?dept=${encodeURIComponent(s.nextPage.dept)}` : `search?q=${encodeURIComponent(s.nextPage!.q)}`
      const { items } = await get<{ items: P[] }>(`/api/${store}/${path}&limit=60`)
      expect(items.map((p) => p.id), `${store} ${path}`).toContain(s.next.id)
      expect([s.next, ...s.history].filter((p) => p.title.includes('/>'))).toEqual([])
    }
  }
  // In the page: a shopper whose next purchase is not on the first page; the link opens a page that lists it.
  const { shoppers } = await get<{ shoppers: { id: string; next: P }[] }>('/api/amazon-scientific/shoppers')
  const first = new Set((await get<{ items: P[] }>('/api/amazon-scientific/category?dept=&limit=60')).items.map((p) => p.id))
  const away = shoppers.find((s) => !first.has(s.next.id))!
  await page.locator('#shopper').selectOption(away.id)
  await page.locator('#sim-step').click()
  await expect(page.locator('#next-purchase')).toContainText('Not on this page')
  await page.getByTestId('next-page').click()
  await settled(page)
  await expect(page.locator('#next-purchase')).toContainText(/Server #\d+ → this shopper #\d+/)

  // Beauty's titles hold HTML entities: shown decoded.
  await page.locator('[data-store="amazon-beauty"]').click()
  await expect(page.locator('#store-name')).toHaveText('Lumen Beauty')
  await settled(page)
  await page.locator('#q').fill('cosplay wig gradient')
  await page.locator('#search button').click()
  await settled(page)
  await expect(page.locator('#server-list')).toContainText('Tengs 26" Gradient')
  expect(await page.locator('.lists').innerText()).not.toMatch(/&(quot|amp|#\d+);/)
})

test('a second store: Beauty has its own pack and history, and a simulated shopper gets a personalized order', async ({ page }, testInfo) => {
  test.setTimeout(180_000)
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await open(page)
  await expect(page.locator('.store.active')).toHaveAttribute('data-store', 'amazon-scientific')
  await expect(page.getByTestId('pack')).toContainText(await packOf(page, 'amazon-scientific'))

  await page.locator('[data-store="amazon-beauty"]').click()
  await expect(page.locator('body')).toHaveAttribute('data-store', 'amazon-beauty')
  await expect(page.locator('#store-name')).toHaveText('Lumen Beauty')
  await expect(page.locator('#badges')).toContainText('ready', { timeout: 60_000 })
  await settled(page)
  // One root category ("Beauty"): one "All products" button and a note, not an empty bar.
  await expect(page.locator('#departments button')).toHaveCount(1)
  await expect(page.getByTestId('no-departments')).toContainText('One category (Beauty)')
  const server = await ids(page, 'server')
  expect(server).toHaveLength(20)
  await expect(page.getByTestId('why')).toHaveAttribute('data-why', 'no-history')
  const beautyPack = await packOf(page, 'amazon-beauty')
  await expect(page.locator('#badges')).toContainText('inpage-general-v1')
  expect(await modelOf(page, 'amazon-beauty')).toMatch(/^inpage-general-v1@/)
  await expect(page.getByTestId('pack')).toHaveText(`Pack${beautyPack}`)

  // This store's history is remembered under its own name: buy as a real Beauty shopper.
  await page.locator('[data-consent="granted"]').click()
  await expect(page.locator('[data-consent="granted"]')).toHaveAttribute('aria-pressed', 'true')
  const shopper = page.locator('#shopper option', { hasText: '“nail”' }).first()
  await page.locator('#shopper').selectOption((await shopper.getAttribute('value'))!)
  for (let i = 0; i < 4; i++) {
    await page.locator('#sim-step').click()
    await expect(page.locator('#sim-progress')).toHaveText(new RegExp(`^Step ${i + 1} of `))
  }
  await settled(page)
  // 'personalized': the model ran on this history (consent given, model loaded, within budget).
  await expect(page.getByTestId('why')).toHaveAttribute('data-why', 'personalized', { timeout: 60_000 })
  await expect(page.getByTestId('stored-count')).toHaveText('8 events stored')
  const personal = await ids(page, 'personal')
  expect(personal).not.toEqual(server)
  await expect(page.locator('#personal-list .reason').first()).toHaveText(/^Because you (viewed|bought) '/)
  // Beauty has no brands: the coverage line counts none rather than "1 brand".
  await expect(page.getByTestId('why-detail')).toContainText(/spans \d+ categor(y|ies)$/)
  // status().engine.catalog: the rerank read the Beauty pack, which holds every item of the page and the history.
  await expect(page.getByTestId('pack')).toHaveText(`Pack${beautyPack}`)
  const read = await catalogRead(page)
  expect(read.asked).toBeGreaterThanOrEqual(60)
  expect(read.missing).toBe(0)
  // (No count of files: the shards were read by earlier calls of this page, the track() calls' among them.)
  await shot(page, testInfo, 'beauty')

  // Histories do not mix: the Scientific store has none, and Beauty's is still there when we come back.
  await page.locator('[data-store="amazon-scientific"]').click()
  await expect(page.locator('#store-name')).toHaveText('Benchmark Supply Co.')
  await settled(page)
  await expect(page.getByTestId('why')).toHaveAttribute('data-why', 'no-history')
  await expect(page.getByTestId('stored-count')).toHaveText('0 events stored')
  await page.locator('[data-store="amazon-beauty"]').click()
  await expect(page.getByTestId('stored-count')).toHaveText('8 events stored')
  await settled(page)
  await expect(page.getByTestId('why')).toHaveAttribute('data-why', 'personalized', { timeout: 60_000 })
  expect(errors).toEqual([])
})

test('an uploaded catalog with the store\'s events: its pack\'s neighbours personalize the order', async ({ page }, testInfo) => {
  test.setTimeout(180_000)
  await open(page)
  // Ten popular staples; three pairs that the store's shoppers buy together although their texts share
  // nothing (filament with a caliper, …); two items nobody bought.
  const staples = ['Nitrile gloves box of 100', 'Borosilicate beaker 250 ml', 'Safety goggles anti-fog', 'Lab coat cotton size M', 'Pipette tips 200 µl rack',
    'Digital thermometer probe', 'Magnetic stir bar set', 'Wash bottle 500 ml', 'Weighing boats 100 pack', 'Microscope slides 72 pack']
  const pairs = [['PLA filament 1.75 mm 1 kg', 'Stainless steel digital caliper 150 mm'], ['Two-part epoxy adhesive 25 ml', 'Ceramic tile nippers'], ['Soldering wire lead-free 100 g', 'Anti-static wrist strap']]
  const items = [
    ...staples.map((title, i) => ({ id: `st-${i}`, title, category: 'Lab > Supplies' })),
    ...pairs.flatMap(([a, b], k) => [{ id: `pa-${k}`, title: a!, category: 'Workshop > Parts' }, { id: `pb-${k}`, title: b!, category: 'Workshop > Tools' }]),
    { id: 'x-1', title: 'Graph paper notebook A4', category: 'Office > Paper' },
    { id: 'x-2', title: 'Whiteboard markers 4 colours', category: 'Office > Writing' },
  ]
  const events = ['user,item,timestamp']
  let t = 1_700_000_000
  for (let u = 0; u < 36; u++) {
    const staple = (k: number) => `st-${(u + 3 * k) % 10}`
    // Every fourth shopper buys a pair, between staples; the pack's aggregates read each history but its last two.
    const pair = u % 4 === 0 ? [`pa-${(u / 4) % 3}`, `pb-${(u / 4) % 3}`] : []
    for (const item of [staple(0), ...pair, staple(1), staple(2), staple(3), staple(4), staple(5)]) events.push(`c${u},${item},${t++}`)
  }
  await page.locator('#catalog-file').setInputFiles({ name: 'workshop.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(items)) })
  await expect(page.locator('#own-catalog')).toContainText('Read 18 products')
  await page.locator('#events-file').setInputFiles({ name: 'events.csv', mimeType: 'text/csv', buffer: Buffer.from(events.join('\n')) })
  await expect(page.locator('#own-catalog')).toContainText('Events: events.csv')
  await page.locator('#catalog-upload').click()
  await expect(page.getByTestId('upload-message')).toContainText(/ready: 18 items, aggregates from \d+ events/, { timeout: 60_000 })
  await expect(page.getByTestId('upload-log')).toContainText('converted: 18 items (2 without events), 234 events of 36 shoppers')
  await expect(page.locator('#page-title')).toHaveText('workshop')
  await settled(page)
  const server = await ids(page, 'server')
  // The store's popularity, from its events: staples first; the caliper is far down.
  expect(server.slice(0, 10).every((id) => id.startsWith('st-'))).toBe(true)
  expect(server.indexOf('pb-0')).toBeGreaterThan(9)

  // The shopper buys filament: the caliper, which only the store's co-purchases tie to it, moves up.
  await page.locator('#server-list .product[data-id="pa-0"]').hover()
  await page.locator('#server-list .product[data-id="pa-0"] button.buy').click()
  await expect(page.getByTestId('why')).toHaveAttribute('data-why', 'personalized', { timeout: 60_000 })
  await settled(page)
  const personal = await ids(page, 'personal')
  expect(personal.indexOf('pb-0')).toBeLessThan(3)
  await expect(page.getByTestId('pack')).toContainText(await packOf(page, (await page.locator('body').getAttribute('data-store'))!))
  expect((await catalogRead(page)).missing).toBe(0)
  await shot(page, testInfo, 'uploaded-store')
})

test('uploads in every documented format: eval convert\'s items JSONL and events CSV, a JSON array with categories, CSV; refusals name file, line and what was expected', async ({ page }) => {
  test.setTimeout(240_000)
  await open(page)
  const msg = page.getByTestId('upload-message')
  const catalog = (name: string, text: string) => page.locator('#catalog-file').setInputFiles({ name, mimeType: 'application/octet-stream', buffer: Buffer.from(text) })
  const eventsFile = (name: string, text: string) => page.locator('#events-file').setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(text) })

  // Refusals, each naming the file, the line and what was expected.
  await catalog('bad.jsonl', '{"id": "a", "title": "A"}\n{"id": "b", "title": "B"}\n{"id": "c", "title": \n')
  await expect(msg).toContainText(/^bad\.jsonl:3: not JSON .*expected one product per line as a JSON object/)
  await catalog('bad.json', '[\n  {"id": "a", "title": "A"},\n  {"id": "b" "title": "B"}\n]')
  await expect(msg).toContainText(/^bad\.json:3: not JSON .*expected a JSON array of products/)
  await catalog('shop.csv', 'sku,name,price\n1,Gloves,3')
  await expect(msg).toContainText(/^shop\.csv:1: the header has no "id" column .*expected a header row with id and title/)

  // Eval convert's items JSONL (categories as a list, an HTML entity, one junk row), and its events CSV.
  const items = [
    { id: 'g1', title: 'Nitrile gloves &amp; liners', brand: 'SafeHands', categories: ['Lab', 'Safety', 'Gloves'], description: null },
    { id: 'g2', title: 'Safety goggles anti-fog', brand: 'SafeHands', categories: ['Lab', 'Safety', 'Eyewear'] },
    { id: 'b1', title: 'Borosilicate beaker 250 ml', brand: 'LabCraft', categories: 'Lab > Glassware > Beakers' },
    { id: 'b2', title: 'Erlenmeyer flask 500 ml', brand: 'LabCraft', categories: ['Lab', 'Glassware', 'Flasks'] },
    { id: 'p1', title: 'PLA filament 1.75 mm 1 kg', brand: 'Extrudo', categories: ['Printing', '3D Printing', 'Filament'] },
    { id: 'j1', title: 'Lab />', categories: ['Lab', 'Safety'] },
  ].map((o) => JSON.stringify(o)).join('\n')
  await catalog('lab-items.jsonl', items)
  await expect(msg).toContainText('Read 5 products, skipped 1 (1 a title that is markup, first at lab-items.jsonl:6)')
  await expect(page.locator('#own-catalog')).toContainText('(items JSONL)')
  await expect(page.locator('#store-name-input')).toHaveValue('lab-items')
  // An events CSV without its timestamp column is refused in the tab; a bad timestamp by the store server, with its line.
  await eventsFile('events.csv', 'user,item\nu1,g1')
  await expect(msg).toContainText(/^events\.csv:1: the header has no "timestamp" column .*expected user,item,timestamp/)
  const ev = ['user,item,timestamp']
  for (let u = 0; u < 6; u++) for (const [k, item] of ['g1', 'g2', u % 2 ? 'b1' : 'p1', 'b2'].entries()) ev.push(`s${u},${item},${1_700_000_000 + 10 * u + k}`)
  ev.push('lone,g1,1700000500', 'lone,b1,1700000501') // a shopper with two events: dropped by the conversion
  await eventsFile('events.csv', [...ev.slice(0, 3), 'u9,g1,yesterday-ish', ...ev.slice(3)].join('\n'))
  await page.locator('#catalog-upload').click()
  await expect(msg).toContainText(/events\.csv:4: timestamp "yesterday-ish" is neither a number nor a date/, { timeout: 30_000 })
  await eventsFile('events.csv', ev.join('\n'))
  await page.locator('#store-name-input').fill('Bench Lab Outlet')
  await page.locator('#catalog-upload').click()
  await expect(msg).toContainText(/ready: 5 items, aggregates from \d+ events/, { timeout: 60_000 })
  const log = page.getByTestId('upload-log')
  await expect(log).toContainText('skipped in this tab: 1 × a title that is markup (first at lab-items.jsonl:6)')
  await expect(log).toContainText('converted: 5 items (0 without events), 24 events of 6 shoppers')
  await expect(log).toContainText('dropped: 2 events of 1 shoppers with fewer than 3 events')
  await expect(log).toContainText('aggregates: 12 of the 24 events')
  // The store has the name the user chose; the categories of the JSONL are its departments; titles decoded.
  await expect(page.locator('#page-title')).toHaveText('Bench Lab Outlet')
  await expect(page.locator('.store.active')).toContainText('Bench Lab Outlet')
  await expect(page.locator('#departments button[data-dept="Safety"]')).toHaveCount(1)
  expect(await modelOf(page, (await page.locator('body').getAttribute('data-store'))!)).toMatch(/^inpage-general-v1@/)
  await expect(page.locator('#badges')).toContainText('inpage-general-v1', { timeout: 60_000 })
  await expect(page.locator('#server-list')).toContainText('Nitrile gloves & liners')
  await settled(page)

  // A JSON array with eval's keys, `categories` among them: the categories are kept.
  const arr = [
    { id: 'c1', title: 'Claw hammer 16 oz', brand: 'Forge', categories: ['Tools', 'Hand Tools', 'Hammers'] },
    { id: 'c2', title: 'Torx screwdriver set', brand: 'Forge', categories: ['Tools', 'Hand Tools', 'Screwdrivers'] },
    { id: 'c3', title: 'Cordless drill 18 V', brand: 'Voltix', categories: ['Tools', 'Power Tools', 'Drills'] },
  ]
  await page.locator('#events-file').setInputFiles([])
  await catalog('tools.json', JSON.stringify(arr, null, 2))
  await expect(msg).toContainText('Read 3 products.')
  await expect(page.locator('#store-name-input')).toHaveValue('tools')
  await page.locator('#catalog-upload').click()
  await expect(msg).toContainText(/ready: 3 items, no events/, { timeout: 60_000 })
  await expect(page.locator('#page-title')).toHaveText('tools')
  await expect(page.locator('#departments button[data-dept="Hand Tools"]')).toHaveCount(1)
  await expect(page.getByTestId('no-departments')).toHaveCount(0)
  await settled(page)
})

test('the holdout: replayed shoppers split by inpage into two arms, NDCG@10 and clicks per arm', async ({ page }) => {
  test.setTimeout(300_000)
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await open(page, `${DEMO}?holdout=4`)
  const t0 = Date.now()
  await page.locator('#holdout-run').click()
  await expect(page.locator('#holdout-run')).toHaveText('Run again', { timeout: 240_000 })
  console.log(`holdout demo: 4 shoppers replayed in ${((Date.now() - t0) / 1000).toFixed(0)} s`)
  const rows = await page.locator('[data-testid="holdout-table"] tbody tr[data-arm]').evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent!)),
  )
  console.log(`holdout demo: ${JSON.stringify(rows)}`)
  expect(rows.map((r) => r[0])).toEqual(['personalized', 'holdout'])
  // Every replayed shopper landed in one arm, assigned by inpage.
  expect(rows.reduce((s, r) => s + Number(r[1]), 0)).toBe(4)
  for (const r of rows) if (Number(r[1]) > 0) expect(Number(r[2])).toBeGreaterThanOrEqual(0)
  // The simulation leaves nothing: its history was in memory, its vector cache is deleted with the run.
  expect(await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name).filter((n) => n?.includes('holdout-sim')))).toEqual([])
  expect(errors).toEqual([])
})

/**
 * Replays the first `n` test shoppers of a store in its uplift view, then runs `npm run eval` on the same
 * shoppers with the pack the demo served (its store server built it in demo/.packs/): both figures.
 */
async function upliftAgainstEval(page: Page, testInfo: TestInfo, store: string, n: number) {
  await open(page, `${DEMO}?store=${store}&uplift=${n}`)
  await page.locator('#uplift-run').click()
  await expect(page.getByTestId('uplift-progress')).toBeVisible()
  // The replay runs in slices: the page renders frames meanwhile (a replay that held the main thread would let the
  // frame run only once it was done).
  const during = await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(document.querySelector('[data-testid="uplift-count"]')?.getAttribute('data-state')))))
  expect(during).toBe('running')
  const count = page.getByTestId('uplift-count')
  await expect(count).toHaveAttribute('data-state', 'done', { timeout: 600_000 })
  await expect(count).toHaveAttribute('data-shoppers', String(n))
  await expect(page.getByTestId('uplift-key')).toContainText('95 % confidence interval')
  // The held-out item's rank change, over the shoppers whose purchase is on its page: every one counted once.
  const ranks = /for the (\d+) shoppers whose purchase is on its page: moved up (-?[\d.]+) ± ([\d.]+) places on average; up for (\d+), down for (\d+), unchanged for (\d+)\./.exec(await page.getByTestId('uplift-ranks').innerText())
  expect(ranks, 'the rank change line').not.toBeNull()
  expect(Number(ranks![4]) + Number(ranks![5]) + Number(ranks![6])).toBe(Number(ranks![1]))
  const value = async (id: string) => Number(await page.getByTestId(id).getAttribute('data-value'))
  const ci = async (id: string) => Number(await page.getByTestId(id).getAttribute('data-ci'))
  const demo = {
    server: { hit: await value('hit-server'), ndcg: await value('ndcg-server') },
    personal: { hit: await value('hit-personal'), ndcg: await value('ndcg-personal') },
    ci: { hit: await ci('hit-personal'), ndcg: await ci('ndcg-personal'), hitDiff: await ci('hit-diff'), ndcgDiff: await ci('ndcg-diff') },
  }
  const summary = await count.innerText()

  // The split by variant: every shopper in one arm, by inpage's holdout coin; the arms' figures add up to the whole.
  const arms = await page.locator('[data-testid="uplift-split-table"] tbody tr[data-arm]').evaluateAll((trs) => trs.map((tr) => ({ ...(tr as HTMLElement).dataset })))
  expect(arms.map((a) => a.arm)).toEqual(['personalized', 'holdout'])
  const { shoppers } = (await (await page.request.get(`${DEMO_ORIGIN}/api/${store}/uplift?count=${n}`)).json()) as { shoppers: { id: string }[] }
  const inArm = shoppers.filter((s) => assign(s.id, { name: 'demo-uplift', holdout: 0.5 }) === 'personalized').length
  expect(arms.map((a) => Number(a.n))).toEqual([inArm, n - inArm])
  const whole = (key: 'hitServer' | 'hitPersonal' | 'ndcgServer' | 'ndcgPersonal') => arms.reduce((sum, a) => sum + Number(a.n) * Number(a[key]), 0) / n
  expect(whole('hitPersonal')).toBeCloseTo(demo.personal.hit, 9)
  expect(whole('ndcgPersonal')).toBeCloseTo(demo.personal.ndcg, 9)
  expect(whole('hitServer')).toBeCloseTo(demo.server.hit, 9)
  expect(whole('ndcgServer')).toBeCloseTo(demo.server.ndcg, 9)
  // The difference between the arms: the personalized arm on inpage's order, the holdout on the server's.
  expect(await value('arm-diff-ndcg')).toBeCloseTo(Number(arms[0]!.ndcgPersonal) - Number(arms[1]!.ndcgServer), 9)
  expect(await ci('arm-diff-ndcg')).toBeGreaterThan(demo.ci.ndcgDiff)

  const out = testInfo.outputPath(`eval-${store}`)
  execFileSync(process.execPath, ['scripts/run-ts.mjs', 'eval/cli.ts', '--data', `../shared/data/${store}`, '--catalog', `demo/.packs/${store}`, '--protocol', 'category', '--split', 'test', '--users', String(n), '--out', out], { stdio: 'inherit' })
  const res = JSON.parse(readFileSync(`${out}/${store}-test-category-n${n}.json`, 'utf8')) as { systems: Record<string, Record<string, number>> }
  const ev = (s: string) => ({ hit: res.systems[s]!['recall@10']!, ndcg: res.systems[s]!['ndcg@10']! })
  console.log(`uplift, ${n} ${store} test shoppers: demo ${JSON.stringify(demo)}; eval server ${JSON.stringify(ev('server'))}, inpage-int8 ${JSON.stringify(ev('inpage-int8'))}; ${summary}`)
  return { demo, server: ev('server'), personal: ev('inpage-int8'), count }
}

type Figures = { hit: number; ndcg: number }
function agree(demo: { server: Figures; personal: Figures }, server: Figures, personal: Figures) {
  expect(demo.server.hit).toBeCloseTo(server.hit, 9)
  expect(demo.server.ndcg).toBeCloseTo(server.ndcg, 9)
  expect(demo.personal.hit).toBeCloseTo(personal.hit, 9)
  expect(demo.personal.ndcg).toBeCloseTo(personal.ndcg, 9)
}

test('the uplift view: test shoppers replayed in the tab agree with npm run eval on the same shoppers; stop stops', async ({ page }, testInfo) => {
  test.setTimeout(900_000)
  const N = 200
  const { demo, server, personal, count } = await upliftAgainstEval(page, testInfo, 'amazon-scientific', N)
  await shot(page, testInfo, 'demo-uplift', page.locator('#uplift'))
  // The server's order is the same list in both. The personal order too: the same model, the same pack and its
  // text vectors (nothing is encoded on either side), the user model's closed form and the ranking in the same
  // TypeScript: equal, shopper by shopper.
  agree(demo, server, personal)

  // "Run all" replays every test shopper; Stop ends it after the slice in flight.
  await page.locator('#uplift-all').click()
  await expect(count).toHaveAttribute('data-state', 'running')
  await expect.poll(async () => Number(await count.getAttribute('data-shoppers')), { timeout: 120_000 }).toBeGreaterThan(0)
  await page.locator('#uplift-stop').click()
  await expect(count).toHaveAttribute('data-state', 'done', { timeout: 60_000 })
  const stopped = Number(await count.getAttribute('data-shoppers'))
  expect(stopped).toBeGreaterThan(0)
  expect(stopped).toBeLessThan(1000)
  await expect(count).toContainText(/Replayed \d+ of 8442 shoppers/)
})

test('the uplift view agrees with npm run eval on Beauty too (one category page, no brands, the general model with its pack)', async ({ page }, testInfo) => {
  test.setTimeout(900_000)
  const N = 200
  const { demo, server, personal, count } = await upliftAgainstEval(page, testInfo, 'amazon-beauty', N)
  agree(demo, server, personal)
  await expect(count).toContainText(/the store has 22332 test shoppers/)
})

test('why this order: the shopper’s events that moved the list most, largest first, each one of their own events', async ({ page }) => {
  test.setTimeout(240_000)
  await open(page)
  await expect(page.getByTestId('why-order-empty')).toBeVisible()
  await replayShopper(page, 'Additive Manufacturing', 4)
  await settled(page)
  await expect(page.getByTestId('why')).toHaveAttribute('data-why', 'personalized', { timeout: 60_000 })
  const rows = page.getByTestId('why-event')
  await expect(rows.first()).toBeVisible()
  const lifts = await rows.evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.lift)))
  expect(lifts.every((x) => x > 0)).toBe(true)
  expect(lifts).toEqual([...lifts].sort((a, b) => b - a))
  await expect(rows.first()).toContainText(/^You (viewed|bought|opened|added to cart) ‘/)
  // Every event the view names is in the history the privacy panel lists.
  const titles = await rows.locator('div[title]').evaluateAll((els) => els.map((e) => e.getAttribute('title')!))
  const stored = await page.getByTestId('stored-events').locator('.t').evaluateAll((els) => els.map((e) => e.getAttribute('title')))
  for (const t of titles) expect(stored).toContain(t)
})
