// rerank() in real Chromium with the real model: the order moves toward what the shopper likes.
import { test, expect, type Page } from '@playwright/test'
import { inCategory, type CatalogItem } from './catalog'
import { openHarness } from './helpers'
import { trackPurchases } from './in-page'

const MODEL = '/models/inpage-sci-v1/'
const glass = inCategory('Glassware & Labware')
const glue = inCategory('Adhesives & Sealants')
// The shopper's history: glassware they viewed and bought; the page mixes 20 adhesives (first,
// as the server ranks them) with 20 other glassware items.
const history = glass.slice(0, 3)
const page40 = [...glue.slice(0, 20), ...glass.slice(3, 23)]
const isGlass = new Set(glass.map((g) => g.id))

async function shop(page: Page, events: CatalogItem[], consent: 'granted' | 'denied' = 'granted') {
  await openHarness(page)
  await page.evaluate(trackPurchases, { model: MODEL, events, consent })
}

const rerank = (page: Page, candidates: object[], options: object = {}) =>
  page.evaluate(({ candidates, options }) => window.rec.rerank(candidates as never, { budgetMs: 30_000, ...options }), { candidates, options })

test('a category page reorders toward what the shopper viewed and bought, with reasons', async ({ page }) => {
  test.setTimeout(120_000)
  await shop(page, history)
  const out = await rerank(page, page40, { surface: 'category' })
  expect(out.personalized).toBe(true)
  expect(out.why).toBe('personalized')
  expect(out.backend).toBe('wasm')
  const top10 = out.items.slice(0, 10)
  const glassTop = top10.filter((i) => isGlass.has(i.id)).length
  const byPersonal = [...out.items].sort((a, b) => b.personal - a.personal).slice(0, 10)
  const glassPersonal = byPersonal.filter((i) => isGlass.has(i.id)).length
  console.log(`glassware in top 10: server 0, personalized ${glassTop}, model alone ${glassPersonal}; latency ${out.latencyMs.toFixed(0)} ms`)
  // The model alone prefers what the shopper bought, and the default blend (personalWeight 0.8 without
  // a query) lets that turn most of the top 10 over (model 2.0.0: 10 of 10 both ways).
  expect(glassPersonal).toBeGreaterThanOrEqual(8)
  expect(glassTop).toBeGreaterThanOrEqual(6)
  const movedUp = out.items.filter((it, pos) => pos < it.serverRank)
  const withReasons = movedUp.filter((it) => it.reasons.length > 0)
  expect(withReasons.length).toBeGreaterThan(0)
  const historyIds = new Set(history.map((h) => h.id))
  for (const it of withReasons) for (const r of it.reasons) expect(historyIds.has(r.itemId)).toBe(true)
  expect(withReasons[0]!.reasons[0]!.text).toMatch(/^Because you (viewed|bought) '/)
  // Deterministic: the same history and candidates give the same order.
  const again = await rerank(page, page40, { surface: 'category' })
  expect(again.items.map((i) => i.id)).toEqual(out.items.map((i) => i.id))
})

test('reasons are faithful: removing the cited event lowers that item\'s personal score', async ({ page }) => {
  test.setTimeout(120_000)
  await shop(page, history)
  const out = await rerank(page, page40)
  const explained = out.items.find((it) => it.reasons.length > 0)!
  const cited = explained.reasons[0]!
  // Rebuild the same history without the cited event, in a fresh recommender.
  const after = await page.evaluate(
    async ({ model, history, cited, candidates }) => {
      const rec = window.inpage.createRecommender({ model, name: 'without', storage: 'memory', consent: 'granted', backend: 'wasm' })
      for (const it of history) {
        const item = { title: it.title, brand: it.brand, category: it.category }
        for (const type of ['view', 'purchase'] as const)
          if (!(type === cited.eventType && it.id === cited.itemId)) await rec.track({ type, itemId: it.id, item })
      }
      await rec.warmUp()
      return rec.rerank(candidates as never, { budgetMs: 30_000 })
    },
    { model: MODEL, history, cited, candidates: page40 },
  )
  const before = explained.personal
  const now = after.items.find((i) => i.id === explained.id)!.personal
  expect(now).toBeLessThan(before)
  expect(before - now).toBeCloseTo(cited.contribution, 3)
})

test('a search result list reorders toward that kind too, and the query never leaves the page', async ({ page }) => {
  test.setTimeout(120_000)
  const requests: string[] = []
  page.on('request', (r) => requests.push(`${r.method()} ${r.url()} ${r.postData() ?? ''}`))
  await shop(page, history)
  const results = [...glue.slice(20, 35), ...glass.slice(23, 38)]
  const out = await rerank(page, results, { surface: 'search', query: 'clear container' })
  expect(out.personalized).toBe(true)
  // The server's top 10 holds no glassware; the personal order puts at least half there, and the model
  // scores the glassware above the adhesives on average.
  const glassTop = out.items.slice(0, 10).filter((i) => isGlass.has(i.id)).length
  expect(glassTop).toBeGreaterThanOrEqual(5)
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
  expect(mean(out.items.filter((i) => isGlass.has(i.id)).map((i) => i.personal))).toBeGreaterThan(mean(out.items.filter((i) => !isGlass.has(i.id)).map((i) => i.personal)))
  expect(requests.filter((r) => r.includes('clear') || r.includes('container'))).toEqual([])
})

test('pinned and sponsored items stay put', async ({ page }) => {
  test.setTimeout(120_000)
  await shop(page, history)
  const cands = page40.map((c, i) => ({ ...c, pinned: i === 0, sponsored: i === 4 }))
  const out = await rerank(page, cands)
  expect(out.items[0]!.id).toBe(page40[0]!.id)
  expect(out.items[4]!.id).toBe(page40[4]!.id)
  expect(out.personalized).toBe(true)
})

test('no history and consent denied return the server order', async ({ page }) => {
  test.setTimeout(120_000)
  await shop(page, [])
  const none = await rerank(page, page40)
  expect(none).toMatchObject({ personalized: false, why: 'no-history' })
  expect(none.items.map((i) => i.id)).toEqual(page40.map((c) => c.id))

  await page.evaluate(() => window.rec.setConsent('denied'))
  const denied = await rerank(page, page40)
  expect(denied).toMatchObject({ personalized: false, why: 'consent' })
  expect(denied.items.map((i) => i.id)).toEqual(page40.map((c) => c.id))
})

test('bad candidates are refused by name', async ({ page }) => {
  await shop(page, [])
  const names = await page.evaluate(async () => {
    const out: string[] = []
    for (const bad of [[{ id: 'a', title: 'x' }, { id: 'a', title: 'y' }], [{ title: 'no id' }], [{ id: 'n', title: 't', score: NaN }], 'nope'])
      await window.rec.rerank(bad as never).catch((e: Error) => out.push(e.name))
    return out
  })
  expect(names).toEqual(Array(4).fill('InvalidCandidatesError'))
})

test('rerankFor(h) gives the order rerank() gives after tracking h, and leaves the stored history as it was', async ({ page }) => {
  test.setTimeout(180_000)
  await openHarness(page)
  // The general model with a pack: the history's glassware is off the page, so its pack records must be taken
  // from the events, as track() takes them, for the two answers to agree.
  const snap = (g: CatalogItem) => ({ title: g.title, brand: g.brand, category: g.category })
  const t0 = Date.now() - 3_600_000
  const events = history.flatMap((g, i) => (['view', 'purchase'] as const).map((type, j) => ({ type, itemId: g.id, item: snap(g), timestamp: t0 + 2 * i + j })))
  const out = await page.evaluate(
    async ({ events, candidates }) => {
      const make = (name: string) => window.inpage.createRecommender({ name, model: '/models/inpage-general-v1/', catalog: '/packs/general/', storage: 'memory', consent: 'granted', backend: 'wasm' })
      const replay = make('replay')
      await replay.warmUp()
      const supplied = await replay.rerankFor(events as never, candidates as never, { budgetMs: 60_000 })
      const left = { events: replay.status().events, exported: (await replay.exportData()).events.length }
      const tracked = make('tracked')
      for (const e of events) await tracked.track(e as never)
      await tracked.warmUp()
      const stored = await tracked.rerank(candidates as never, { budgetMs: 60_000 })
      return { supplied, stored, left }
    },
    { events, candidates: page40 },
  )
  expect(out.supplied).toMatchObject({ personalized: true, why: 'personalized' })
  expect(out.stored).toMatchObject({ personalized: true, why: 'personalized' })
  expect(out.supplied.coverage).toEqual(out.stored.coverage)
  expect(out.supplied.items.map((i) => i.id)).toEqual(out.stored.items.map((i) => i.id))
  out.supplied.items.forEach((it, i) => expect(it.personal).toBeCloseTo(out.stored.items[i]!.personal, 5))
  // Nothing of the supplied history was stored.
  expect(out.left).toEqual({ events: 0, exported: 0 })
  // And it is a real reorder of this page, toward the glassware bought.
  expect(out.supplied.items.slice(0, 10).filter((i) => isGlass.has(i.id)).length).toBeGreaterThanOrEqual(5)
})
