// The engine's lifecycle and its traffic: lazy start, dispose, restart after death, and a request
// log that holds nothing but GETs of the library, model and wasm files from the site's own origin.
import { test, expect, type Page } from '@playwright/test'
import { inCategory } from './catalog'
import { openHarness } from './helpers'
import { E2E_ORIGIN } from './ports'

const MODEL = '/models/inpage-sci-v1/'
const glass = inCategory('Glassware & Labware')
const glue = inCategory('Adhesives & Sealants')
const cands = [...glue.slice(0, 10), ...glass.slice(5, 15)]
const seen = glass.slice(0, 3).map((g) => ({ id: g.id, item: { title: g.title, brand: g.brand, category: g.category } }))


/** Keeps a handle on every worker the page makes (window.__workers), to count them or kill one as a crash would. */
function recordWorkers(page: Page) {
  return page.addInitScript(() => {
    const W = window.Worker
    const all: Worker[] = ((window as unknown as { __workers: Worker[] }).__workers = [])
    window.Worker = class extends W {
      constructor(url: string | URL, opts?: WorkerOptions) {
        super(url, opts)
        all.push(this)
      }
    }
  })
}

test('a whole session sends only GETs of library, model and wasm files to its own origin', async ({ page }) => {
  test.setTimeout(120_000)
  const log: { method: string; url: string; body: string | null }[] = []
  page.context().on('request', (r) => log.push({ method: r.method(), url: r.url(), body: r.postData() }))
  await openHarness(page)
  const out = await page.evaluate(
    async ({ model, seen, cands }) => {
      const rec = window.inpage.createRecommender({ model, consent: 'granted', backend: 'wasm' })
      await rec.track({ type: 'search', query: 'borosilicate beaker set' })
      for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
      await rec.track({ type: 'purchase', itemId: seen[0]!.id, item: seen[0]!.item })
      await rec.warmUp()
      const a = await rec.rerank(cands as never, { budgetMs: 30_000 })
      const b = await rec.rerank(cands as never, { query: 'beaker', budgetMs: 30_000 })
      return [a.personalized, b.personalized]
    },
    { model: MODEL, seen, cands },
  )
  expect(out).toEqual([true, true])
  const origin = E2E_ORIGIN
  for (const r of log) {
    expect(r.method).toBe('GET')
    expect(r.body).toBeNull()
    const u = new URL(r.url)
    expect(u.origin).toBe(origin)
    expect(u.search).toBe('')
    expect(u.pathname).toMatch(/^\/($|dist\/|models\/inpage-sci-v1\/)/)
  }
  const paths = log.map((r) => new URL(r.url).pathname)
  expect(paths.some((p) => p.endsWith('.wasm'))).toBe(true)
  expect(paths.some((p) => p.endsWith('.onnx'))).toBe(true)
  // Nothing of the shopper's: no item id they saw and no query text appears in any URL.
  for (const p of log.map((r) => r.url)) {
    for (const s of seen) expect(p).not.toContain(s.id)
    expect(p).not.toContain('beaker')
  }
})

test('the worker starts lazily, a killed worker fails its call fast and restarts, dispose() ends it', async ({ page }) => {
  test.setTimeout(120_000)
  await recordWorkers(page)
  await openHarness(page)
  const count = () => page.evaluate(() => (window as unknown as { __workers: Worker[] }).__workers.length)
  await page.evaluate((model) => {
    window.rec = window.inpage.createRecommender({ model, consent: 'granted', backend: 'wasm' })
  }, MODEL)
  expect(await count()).toBe(0) // nothing starts until it is needed
  const first = await page.evaluate(
    async ({ seen, cands }) => {
      for (const s of seen) await window.rec.track({ type: 'purchase', itemId: s.id, item: s.item })
      await window.rec.warmUp()
      return window.rec.rerank(cands as never, { budgetMs: 30_000 })
    },
    { seen, cands },
  )
  expect(first.personalized).toBe(true)
  expect(await count()).toBe(1)

  // Kill the worker mid-rerank (fresh candidates, so it has encoding to do).
  const killed = await page.evaluate(async (cands) => {
    const t0 = performance.now()
    const pending = window.rec.rerank(cands.map((c, i) => ({ ...c, id: `${c.id}-x${i}`, title: `${c.title} v2` })) as never, { budgetMs: 20_000 })
    await new Promise((r) => setTimeout(r, 20))
    for (const w of (window as unknown as { __workers: Worker[] }).__workers) w.terminate()
    const r = await pending
    return { why: r.why, personalized: r.personalized, error: r.error?.name, ms: performance.now() - t0, engine: window.rec.status().engine.state }
  }, cands)
  expect(killed).toMatchObject({ why: 'engine-error', personalized: false, error: 'EngineError' })
  expect(killed.ms).toBeLessThan(5_000) // told at once, not at the 20 s budget

  const after = await page.evaluate(async (cands) => {
    await window.rec.warmUp()
    return window.rec.rerank(cands as never, { budgetMs: 30_000 })
  }, cands)
  expect(after.personalized).toBe(true)
  expect(await count()).toBe(2) // a fresh worker

  await page.evaluate(() => window.rec.dispose())
  expect((await page.evaluate(() => window.rec.status())).disposed).toBe(true)
  expect(await page.evaluate(() => window.rec.rerank([]).catch((e: Error) => e.name))).toBe('DisposedError')
})

test('a worker the page ended cannot reach the one that replaced it (its life lock is released only after the new one started)', async ({ page }) => {
  test.setTimeout(120_000)
  await recordWorkers(page)
  await openHarness(page)
  const r = await page.evaluate(
    async ({ model, seen, cands }) => {
      const rec = window.inpage.createRecommender({ model, consent: 'pending', backend: 'wasm', name: 'late' })
      const errors: string[] = []
      rec.on('error', (e) => errors.push(`${e.name}: ${e.message}`))
      await rec.warmUp()
      // forget() ends the first worker; warmUp() in the same task starts the second before the first's thread is
      // gone, so the first's life lock (the page's sign that a worker died) is granted while the second loads.
      const forgot = rec.forget()
      const warm = rec.warmUp()
      await forgot
      await warm
      await new Promise((res) => setTimeout(res, 1500)) // the first worker's lock is granted by now
      for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
      const out = await rec.rerank(cands as never, { budgetMs: 30_000 })
      return { why: out.why, state: rec.status().engine.state, errors, workers: (window as unknown as { __workers: Worker[] }).__workers.length }
    },
    { model: MODEL, seen, cands },
  )
  expect(r).toEqual({ why: 'personalized', state: 'ready', errors: [], workers: 2 })
})
