// The script tag with nothing else: window.InPage, auto-wiring from data attributes, view/click
// tracking, in-place reordering that moves the page's own nodes, and consent.
import { test, expect, type Page } from '@playwright/test'
import { inCategory, type CatalogItem } from './catalog'
import { inpageDatabases } from './helpers'
import { ISOLATION_HEADERS } from '../scripts/headers.mjs'
import type * as Api from '../src/embed/script-tag'

declare global {
  interface Window {
    InPage: typeof Api
  }
}

const glass = inCategory('Glassware & Labware')
const glue = inCategory('Adhesives & Sealants')
const isGlass = new Set(glass.map((g) => g.id))
// The store's category page: 20 adhesives first (as the server ranks them), then 20 glassware items.
const listed = [...glue.slice(0, 20), ...glass.slice(3, 23)]
// Glassware the shopper buys from a "buy again" block outside the list.
const bought = glass.slice(0, 3)

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')
const itemHtml = (it: CatalogItem, tag = 'li') =>
  `<${tag} data-inpage-item="${esc(it.id)}" data-title="${esc(it.title)}" data-brand="${esc(it.brand ?? '')}"` +
  ` data-category="${esc(it.category.join(' > '))}" style="height:90px;border:1px solid #ccc;margin:4px 0">` +
  `<span>${esc(it.title)}</span> <button data-inpage-event="purchase">Buy</button></${tag}>`

function storePage(consent: string, extra = '', dwellMs = 300) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<script src="/dist/inpage.iife.js" data-model="/models/inpage-sci-v1/" data-wasm-paths="/dist/ort/"
  data-backend="wasm" data-consent="${consent}" data-dwell-ms="${dwellMs}" data-name="store"${extra}></script></head>
<body><h1>Lab supplies</h1>
<section id="again">${bought.map((it) => itemHtml(it, 'div')).join('')}</section>
<ul id="list" data-inpage-rerank="category" data-budget-ms="60000" style="list-style:none;padding:0">
${listed.map((it) => itemHtml(it)).join('\n')}
</ul></body></html>`
}

/** Serves the generated store page at /script-tag-store.html with the isolation headers. */
async function openStore(page: Page, consent = 'granted', ready = true, dwellMs = 300) {
  await page.route('**/script-tag-store.html', (route) =>
    route.fulfill({
      contentType: 'text/html; charset=utf-8',
      headers: { ...ISOLATION_HEADERS },
      body: storePage(consent, '', dwellMs),
    }),
  )
  await page.goto('/script-tag-store.html')
  if (ready) await page.waitForFunction(() => Boolean(window.InPage?.recommender))
}

const order = (page: Page) => page.locator('#list > li').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.inpageItem!))
const stored = (page: Page) => page.evaluate(async () => (await window.InPage.recommender!.exportData()).events)

/** Runs embed.refresh() and returns the reranked event's detail for the list. */
const refresh = (page: Page) =>
  page.evaluate(async () => {
    const [res] = await window.InPage.embed!.refresh()
    return res!
  })

test('the static page: one script tag gives InPage, a recommender and wired items', async ({ page }) => {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto('/script-tag.html')
  await page.waitForFunction(() => Boolean(window.InPage?.recommender))
  expect(await page.evaluate(() => typeof window.InPage.createRecommender)).toBe('function')
  expect(await page.evaluate(() => window.InPage.recommender!.status().consent)).toBe('pending')
  await page.locator('[data-inpage-item="demo-3"] button').click()
  await expect.poll(async () => (await stored(page)).map((e) => `${e.type}:${e.itemId}`)).toContain('purchase:demo-3')
  const ev = (await stored(page)).find((e) => e.type === 'purchase')!
  expect(ev.item).toMatchObject({ title: 'Borosilicate glass beaker set, 50/100/250 ml', brand: 'LabCraft', price: 18 })
  expect(ev.item!.category).toEqual(['Industrial & Scientific', 'Lab & Scientific Products', 'Glassware & Labware'])
  expect(ev.surface).toBe('category')
  // Pending consent: the event lives in memory only, no database exists.
  expect(await inpageDatabases(page)).toEqual([])
  expect(errors).toEqual([])
})

test('views count after the dwell time at 50% visibility; clicks and buy buttons are tracked', async ({ page }) => {
  await page.setViewportSize({ width: 900, height: 600 })
  await openStore(page)
  // The first screen: the three "buy again" items and a few list items are visible.
  await expect.poll(async () => (await stored(page)).filter((e) => e.type === 'view').length, { timeout: 10_000 }).toBeGreaterThan(2)
  await page.waitForTimeout(800)
  const views = (await stored(page)).filter((e) => e.type === 'view').map((e) => e.itemId)
  expect(views).toContain(bought[0]!.id)
  const far = listed[35]!.id
  expect(views).not.toContain(far)
  // Scrolling it into view, but leaving before the dwell time, does not count...
  await page.locator(`[data-inpage-item="${far}"]`).scrollIntoViewIfNeeded()
  await page.evaluate(() => window.scrollTo(0, 0))
  await page.waitForTimeout(600)
  expect((await stored(page)).filter((e) => e.type === 'view').map((e) => e.itemId)).not.toContain(far)
  // ...staying does, once.
  await page.locator(`[data-inpage-item="${far}"]`).scrollIntoViewIfNeeded()
  await expect.poll(async () => (await stored(page)).filter((e) => e.type === 'view').map((e) => e.itemId)).toContain(far)
  await page.locator(`[data-inpage-item="${far}"] span`).click()
  await page.locator(`[data-inpage-item="${far}"] button`).click()
  await expect.poll(async () => (await stored(page)).filter((e) => e.itemId === far).map((e) => e.type)).toEqual(['view', 'click', 'purchase'])
  // Granted: the events are in IndexedDB and survive a reload.
  expect(await inpageDatabases(page)).toContain('inpage:store:history')
  await page.reload()
  await page.waitForFunction(() => Boolean(window.InPage?.recommender))
  expect((await stored(page)).filter((e) => e.itemId === far).map((e) => e.type)).toEqual(['view', 'click', 'purchase'])
})

test('after glassware purchases the list is reordered toward glassware by moving the same nodes', async ({ page }) => {
  test.setTimeout(180_000)
  // Only the purchases make this history: a dwell time longer than the test keeps views out (views
  // of the listed adhesives would pull the list the other way, and their timing varies).
  await openStore(page, 'granted', true, 600_000)
  const before = await order(page)
  expect(before).toEqual(listed.map((i) => i.id))
  for (const it of bought) await page.locator(`#again [data-inpage-item="${it.id}"] button`).click()
  await expect.poll(async () => (await stored(page)).filter((e) => e.type === 'purchase').length).toBe(3)
  // Tag every node so identity can be checked after the move.
  await page.evaluate(() => document.querySelectorAll('#list > li').forEach((el, i) => ((el as unknown as { tag: number }).tag = i)))
  const event = page.evaluate(
    () => new Promise<unknown>((r) => document.getElementById('list')!.addEventListener('inpage:reranked', (e) => r((e as CustomEvent).detail), { once: true })),
  )
  const res = await refresh(page)
  expect(await event).toEqual(res)
  expect(res.personalized).toBe(true)
  expect(res.why).toBe('personalized')
  const after = await order(page)
  expect(after).toEqual(res.items.map((i) => i.id))
  expect(after).not.toEqual(before)
  expect([...after].sort()).toEqual([...before].sort())
  const glassTop = after.slice(0, 10).filter((id) => isGlass.has(id)).length
  console.log(`script tag: glassware in the list's top 10: before 0, after ${glassTop}`)
  // 6-8 in runs so far (the events' time gaps vary with the clicks); half the top 10 is the bar.
  expect(glassTop).toBeGreaterThanOrEqual(5)
  // The same nodes moved: each still carries its tag, and the tag follows its item.
  const tags = await page.locator('#list > li').evaluateAll((els) => els.map((e) => (e as unknown as { tag?: number }).tag))
  expect(tags).toEqual(after.map((id) => before.indexOf(id)))
  expect(await page.locator('#list > li').count()).toBe(listed.length)
  // A reload reorders on its own, from the stored history (the event bubbles to document; it is
  // caught from the first script on, as it may fire before the test could attach a listener).
  await page.addInitScript(() =>
    document.addEventListener('inpage:reranked', (e) => ((window as unknown as { reranked: unknown }).reranked = (e as CustomEvent).detail)),
  )
  await page.reload()
  const detail = (await (await page.waitForFunction(() => (window as unknown as { reranked?: unknown }).reranked, null, { timeout: 60_000 })).jsonValue()) as {
    personalized: boolean
    items: { id: string }[]
  }
  expect(detail.personalized).toBe(true)
  expect(await order(page)).toEqual(detail.items.map((i) => i.id))
})

test('consent denied: nothing is stored and the list keeps the server order', async ({ page }) => {
  test.setTimeout(120_000)
  const requests: string[] = []
  page.on('request', (r) => requests.push(`${r.method()} ${r.url()}`))
  await openStore(page, 'denied')
  await page.waitForTimeout(800) // past the dwell time with items in view
  for (const it of bought) await page.locator(`#again [data-inpage-item="${it.id}"] button`).click()
  await page.locator('#list > li').first().click()
  expect(await stored(page)).toEqual([])
  expect(await inpageDatabases(page)).toEqual([])
  const res = await refresh(page)
  expect(res).toMatchObject({ personalized: false, why: 'consent' })
  expect(await order(page)).toEqual(listed.map((i) => i.id))
  // Granting later starts storing; denying again erases.
  await page.evaluate(() => window.InPage.recommender!.setConsent('granted'))
  await page.locator(`#again [data-inpage-item="${bought[0]!.id}"] button`).click()
  await expect.poll(async () => (await stored(page)).length).toBeGreaterThan(0)
  await page.evaluate(() => window.InPage.recommender!.setConsent('denied'))
  expect(await stored(page)).toEqual([])
  expect(await inpageDatabases(page)).toEqual([])
  // Nothing the shopper did went anywhere: only GETs of the page, the library and the model.
  expect(requests.filter((r) => !r.startsWith('GET '))).toEqual([])
})

test('under the strict CSP the script tag tracks and reorders, with no policy violation', async ({ page }) => {
  test.setTimeout(120_000)
  await page.addInitScript(() => {
    ;(window as unknown as { violations: string[] }).violations = []
    document.addEventListener('securitypolicyviolation', (e) => (window as unknown as { violations: string[] }).violations.push(`${e.violatedDirective} ${e.blockedURI}`))
  })
  const response = await page.goto('/script-tag.csp.html')
  expect(response!.headers()['content-security-policy']).toContain("script-src 'self'")
  await page.waitForFunction(() => Boolean(window.InPage?.recommender))
  const list = page.locator('ul[data-inpage-rerank] > li')
  const before = await list.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.inpageItem!))
  await page.locator('[data-inpage-item="csp-g1"] button').click()
  await page.locator('[data-inpage-item="csp-g2"] button').click()
  await expect.poll(async () => (await stored(page)).filter((e) => e.type === 'purchase').length).toBe(2)
  await page.evaluate(() => document.querySelectorAll('ul > li').forEach((el) => ((el as unknown as { keep: string }).keep = (el as HTMLElement).dataset.inpageItem!)))
  const res = await refresh(page)
  expect(res).toMatchObject({ personalized: true, why: 'personalized', backend: 'wasm' })
  const after = await list.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.inpageItem!))
  expect(after).toEqual(res.items.map((i) => i.id))
  expect(after).not.toEqual(before)
  // Toward glassware: a glass item leads, and the model scores every glass item above every adhesive
  // (how far the order moves is the blend's business: personalWeight 0.8 on a 6-item list).
  expect(after[0]!.startsWith('csp-g')).toBe(true)
  const personal = (kind: string) => res.items.filter((i) => i.id.startsWith(kind)).map((i) => i.personal)
  expect(Math.min(...personal('csp-g'))).toBeGreaterThan(Math.max(...personal('csp-a')))
  expect(await list.evaluateAll((els) => els.every((e) => (e as unknown as { keep?: string }).keep === (e as HTMLElement).dataset.inpageItem))).toBe(true)
  expect(await page.evaluate(() => (window as unknown as { violations: string[] }).violations)).toEqual([])
})

test('a bad attribute is reported and InPage stays usable', async ({ page }) => {
  const messages: string[] = []
  page.on('console', (m) => m.type() === 'error' && messages.push(m.text()))
  await openStore(page, 'maybe', false)
  await page.waitForFunction(() => Boolean(window.InPage))
  expect(await page.evaluate(() => [typeof window.InPage.createRecommender, typeof window.InPage.recommender])).toEqual(['function', 'undefined'])
  expect(messages.join('\n')).toContain('InvalidOptionsError')
  expect(await order(page)).toEqual(listed.map((i) => i.id))
})
