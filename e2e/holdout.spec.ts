// The built-in holdout and the analytics events in real Chromium with the real model: the holdout is
// shown the server's order after the model ran the same way (its calls take as long), the arm is kept
// on the device only under a grant and goes with forget(); the script tag's data-experiment /
// data-holdout / data-ga4 and its DOM events.
import { test, expect, type Page } from '@playwright/test'
import { inCategory, type CatalogItem } from './catalog'
import { inpageDatabases, openHarness } from './helpers'
import { ISOLATION_HEADERS } from '../scripts/headers.mjs'
import type * as Api from '../src/embed/script-tag'
import type { ImpressionEvent, SelectEvent } from '../src/index'

declare global {
  interface Window {
    InPage: typeof Api
    seen: { impression: ImpressionEvent[]; select: SelectEvent[] }
    dataLayer: unknown[]
  }
}

const MODEL = '/models/inpage-sci-v1/'
const glass = inCategory('Glassware & Labware')
const glue = inCategory('Adhesives & Sealants')
const history = glass.slice(0, 3)
const page40 = [...glue.slice(0, 20), ...glass.slice(3, 23)]
const serverIds = page40.map((c) => c.id)

/** A shopper (consent granted) who bought `history`, under an experiment holding out `holdout`; five warm reranks. */
async function shopper(page: Page, holdout: number) {
  return page.evaluate(
    async ({ model, history, page40, holdout }) => {
      const rec = window.inpage.createRecommender({ name: 'exp', model, backend: 'wasm', consent: 'granted', experiment: { name: 'rail-test', holdout } })
      window.rec = rec
      for (const it of history) {
        const item = { title: it.title, brand: it.brand, category: it.category }
        await rec.track({ type: 'view', itemId: it.id, item, surface: 'category' })
        await rec.track({ type: 'purchase', itemId: it.id, item })
      }
      await rec.warmUp()
      const runs = []
      for (let i = 0; i < 6; i++) runs.push(await rec.rerank(page40 as never, { budgetMs: 60_000, surface: 'category' }))
      return { runs: runs.slice(1), status: rec.status().experiment }
    },
    { model: MODEL, history, page40, holdout },
  )
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!

test('the holdout gets the server order after the same model run; the other arm is personalized; the key is stored only under a grant', async ({ page }) => {
  test.setTimeout(240_000)
  await openHarness(page)
  const held = await shopper(page, 1)
  expect(held.status).toEqual({ name: 'rail-test', holdout: 1, variant: 'holdout', kept: 'device' })
  for (const r of held.runs) {
    expect(r.variant).toBe('holdout')
    expect(r.why).toBe('holdout')
    expect(r.personalized).toBe(false)
    expect(r.items.map((i) => i.id)).toEqual(serverIds)
  }
  const keyBefore = await page.evaluate(async () => (await window.rec.exportData()).shopperKey)
  expect(keyBefore?.kept).toBe('device')
  await page.evaluate(() => window.rec.dispose())
  // The same device (same stored key and history), the experiment now holding out no one.
  const personal = await shopper(page, 0)
  expect(personal.status?.variant).toBe('personalized')
  expect(await page.evaluate(async () => (await window.rec.exportData()).shopperKey)).toEqual(keyBefore)
  for (const r of personal.runs) {
    expect(r.variant).toBe('personalized')
    expect(r.personalized).toBe(true)
    expect(r.items.map((i) => i.id)).not.toEqual(serverIds)
  }
  // Same code path, same work: a holdout that skipped the model would answer as fast as a recommender
  // without one (the server's order at once). Against the personalized arm only a log line: on a busy
  // 2-core machine the two arms' medians measured 5.1 vs 1.9 ms and 2.7 vs 12.5 ms on two runs.
  const base = await page.evaluate(async (page40) => {
    const rec = window.inpage.createRecommender({ name: 'none', experiment: { name: 'rail-test', holdout: 1 } })
    const ms = []
    for (let i = 0; i < 6; i++) ms.push((await rec.rerank(page40 as never)).latencyMs)
    return ms.slice(1)
  }, page40)
  const h = median(held.runs.map((r) => r.latencyMs))
  const p = median(personal.runs.map((r) => r.latencyMs))
  const b = median(base)
  console.log(`warm rerank of 40 candidates, median of 5: holdout ${h.toFixed(2)} ms, personalized ${p.toFixed(2)} ms, no model ${b.toFixed(2)} ms`)
  expect(h).toBeGreaterThan(5 * b)
  // forget(): the stored key goes with the history; a fresh one is this page's only.
  await page.evaluate(() => window.rec.forget())
  expect(await inpageDatabases(page)).toEqual([])
  const after = await page.evaluate(async () => (await window.rec.exportData()).shopperKey)
  expect(after?.kept).toBe('page')
  expect(after?.id).not.toBe(keyBefore?.id)
})

test('pending: the key stays in memory, no database is created for it', async ({ page }) => {
  await openHarness(page)
  const s = await page.evaluate(async () => {
    const rec = window.inpage.createRecommender({ name: 'p', experiment: { name: 'e', holdout: 0.5 } })
    await rec.rerank([{ id: 'a', title: 'A' }])
    return rec.status().experiment
  })
  expect(s?.kept).toBe('page')
  expect(await inpageDatabases(page)).toEqual([])
})

// ---------------------------------------------------------------- the script tag

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')
const itemHtml = (it: CatalogItem) =>
  `<li data-inpage-item="${esc(it.id)}" data-title="${esc(it.title)}" data-brand="${esc(it.brand ?? '')}" data-category="${esc(it.category.join(' > '))}">` +
  `<a href="#${esc(it.id)}">${esc(it.title)}</a></li>`

async function openStore(page: Page, attrs: string) {
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<script>window.seen = { impression: [], select: [] };
document.addEventListener('inpage:impression', (e) => window.seen.impression.push(e.detail));
document.addEventListener('inpage:select', (e) => window.seen.select.push(e.detail));
window.dataLayer = [];</script>
<script src="/dist/inpage.iife.js" data-model="/models/inpage-sci-v1/" data-wasm-paths="/dist/ort/" data-backend="wasm"
  data-consent="granted" data-name="tag" ${attrs}></script></head>
<body><ul id="list" data-inpage-rerank="category" data-budget-ms="60000">${page40.map(itemHtml).join('')}</ul></body></html>`
  await page.route('**/holdout-store.html', (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', headers: { ...ISOLATION_HEADERS }, body }))
  await page.goto('/holdout-store.html')
  await page.waitForFunction(() => Boolean(window.InPage?.recommender))
  await page.evaluate(async (history) => {
    for (const it of history) await window.InPage.recommender!.track({ type: 'purchase', itemId: it.id, item: { title: it.title, brand: it.brand, category: it.category } })
    await window.InPage.recommender!.warmUp()
  }, history)
}

const order = (page: Page) => page.locator('#list > li').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.inpageItem!))

test('script tag: data-experiment and data-holdout, the events as DOM events, the GA4 bridge with data-ga4', async ({ page }) => {
  test.setTimeout(180_000)
  await openStore(page, 'data-experiment="tag-test" data-holdout="1" data-ga4')
  const [res] = await page.evaluate(() => window.InPage.embed!.refresh())
  expect(res!.variant).toBe('holdout')
  expect(await order(page)).toEqual(serverIds)
  await page.locator('#list > li').nth(2).locator('a').click()
  await expect.poll(() => page.evaluate(() => window.seen.select.length)).toBe(1)
  const seen = await page.evaluate(() => window.seen)
  const last = seen.impression.at(-1)!
  expect(last).toEqual({ list: 'category', variant: 'holdout', items: serverIds.map((id, position) => ({ id, position })) })
  expect(seen.select).toEqual([{ list: 'category', variant: 'holdout', itemId: serverIds[2], position: 2 }])
  const dl = (await page.evaluate(() => window.dataLayer)) as { event?: string; ecommerce?: { item_list_name: string; items: { item_id: string; index: number }[] } }[]
  const views = dl.filter((e) => e.event === 'view_item_list')
  const selects = dl.filter((e) => e.event === 'select_item')
  expect(views.length).toBe(seen.impression.length)
  expect(views.at(-1)!.ecommerce!.item_list_name).toBe('category:holdout')
  expect(selects).toHaveLength(1)
  expect(selects[0]!.ecommerce!.items).toEqual([{ item_id: serverIds[2], index: 2, item_list_id: 'category', item_list_name: 'category:holdout' }])
})

test('script tag: data-holdout="0" personalizes; without data-ga4 nothing reaches dataLayer; a bad data-holdout is refused', async ({ page }) => {
  test.setTimeout(180_000)
  await openStore(page, 'data-experiment="tag-test" data-holdout="0"')
  const [res] = await page.evaluate(() => window.InPage.embed!.refresh())
  expect(res!.variant).toBe('personalized')
  expect(await order(page)).not.toEqual(serverIds)
  expect(await page.evaluate(() => window.seen.impression.at(-1)!.variant)).toBe('personalized')
  expect(await page.evaluate(() => window.dataLayer)).toEqual([])
  const errors: string[] = []
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
  await page.unroute('**/holdout-store.html')
  await page.route('**/holdout-store.html', (route) =>
    route.fulfill({ contentType: 'text/html', headers: { ...ISOLATION_HEADERS }, body: '<script src="/dist/inpage.iife.js" data-model="/models/inpage-sci-v1/" data-experiment="x" data-holdout="ten"></script>' }),
  )
  await page.goto('/holdout-store.html')
  await page.waitForFunction(() => Boolean(window.InPage))
  expect(await page.evaluate(() => window.InPage.recommender)).toBeUndefined()
  expect(errors.join('\n')).toMatch(/InvalidOptionsError: experiment.holdout/)
})
