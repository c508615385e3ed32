// Catalog packs in real Chromium (issue 14): the worker fetches only the shards of the page's items (its
// candidates, and the items track() calls are about; never for the history: e2e/pack-privacy.spec.ts), verifies each against the pack's key, keeps them in the Cache API under
// the pack's version, refuses a tampered shard by name (the server's order comes back), costs the same
// bytes on a pack 200 times larger, and scores history items with their pack data.
import { test, expect, type Page } from '@playwright/test'
import { readFileSync } from 'node:fs'
import { packPage } from './catalog'
import { openHarness } from './helpers'
import { LARGE_EXTRA, PACKS_DIR } from './packs'
import { shardOf } from '../src/pack/format'
import { packAdapt } from '../src/ranking/adapt'

const MODEL = '/models/inpage-sci-v1/'
const { seen, cands } = packPage()
const pack = (name: string) => JSON.parse(readFileSync(`${PACKS_DIR}/${name}/pack.json`, 'utf8')) as { name: string; version: string; items: number; shards: { count: number } }

/** Tracks `history` (views), reranks `cands` once; returns the order, why, error and what the pack cost. */
type Seen = { id: string; item: { title: string; brand?: string; category?: string[] } }[]
async function session(page: Page, opts: { catalog?: string; name: string; history?: Seen; persist?: boolean; calibration?: number }) {
  return page.evaluate(
    async ({ model, opts, cands, seen }) => {
      const rec = window.inpage.createRecommender({ model, backend: 'wasm', name: opts.name, consent: opts.persist === false ? 'pending' : 'granted', ...(opts.catalog ? { catalog: opts.catalog } : {}) })
      for (const s of opts.history ?? seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
      await rec.warmUp()
      const r = await rec.rerank(cands, { budgetMs: 60_000, personalWeight: 1, ...(opts.calibration !== undefined ? { calibration: opts.calibration } : {}) })
      const out = { why: r.why, error: r.error?.name, ids: r.items.map((i) => i.id), personal: r.items.map((i) => i.personal), catalog: rec.status().engine.catalog }
      await rec.dispose()
      return out
    },
    { model: MODEL, opts, cands, seen },
  )
}

test('a pack is read shard by shard, verified, cached under its version; its text vectors spare the encoder', async ({ page }) => {
  test.setTimeout(120_000)
  await openHarness(page)
  const m = pack('small')
  const first = await session(page, { catalog: '/packs/small/', name: 'pack1' })
  expect(first.why).toBe('personalized')
  // Every candidate and history item is in the pack; only their shards were read, all from the network.
  expect(first.catalog).toMatchObject({ pack: `small@${m.version}`, asked: 24, missing: 0, textVectors: true })
  expect(first.catalog!.files).toBeLessThanOrEqual(24)
  expect(first.catalog!.fromNetwork).toBe(first.catalog!.files)
  // No item was encoded, so no item-vector database was written (the encoder's cache is the only writer).
  const dbs = await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name))
  expect(dbs).not.toContain('inpage:pack1:vectors')
  expect(await page.evaluate(() => caches.keys())).toContain(`inpage-pack:small@${m.version}`)
  // A new page (a new worker): the same shards come from the Cache API, still verified, same order.
  await page.reload()
  await page.waitForFunction(() => Boolean(window.inpage))
  const again = await session(page, { catalog: '/packs/small/', name: 'pack1' })
  expect(again.catalog).toMatchObject({ files: first.catalog!.files, fromNetwork: 0 })
  expect(again.ids).toEqual(first.ids)
})

test("history items are scored with their pack data, not with the event's text", async ({ page }) => {
  test.setTimeout(120_000)
  await openHarness(page)
  const blank = seen.map((s) => ({ id: s.id, item: { title: 'x' } }))
  // Calibration reads the history's category mix as the events state it (a pack record holds no category), so it is
  // off here: the scores are what this test is about.
  const real = await session(page, { catalog: '/packs/small/', name: 'hist-a', calibration: 0 })
  const placeholder = await session(page, { catalog: '/packs/small/', name: 'hist-b', history: blank, calibration: 0 })
  expect(placeholder.why).toBe('personalized')
  // The pack holds each history item's text vector and neighbours: what the event says of the item does not matter.
  expect(placeholder.ids).toEqual(real.ids)
  placeholder.personal.forEach((p, i) => expect(p).toBeCloseTo(real.personal[i]!, 5))
  // Without the pack the event's own text is all there is, and it changes the scores.
  const a = await session(page, { name: 'hist-c' })
  const b = await session(page, { name: 'hist-d', history: blank })
  expect(b.personal).not.toEqual(a.personal)
})

test('a tampered shard is refused by name and the server order comes back; a missing pack likewise', async ({ page }) => {
  test.setTimeout(120_000)
  await openHarness(page)
  await page.route('**/packs/small/shards/*.json', async (route) => {
    // The first refused shard fails the call, and the page's dispose() ends the worker: other shard requests
    // in flight are then aborted, so their route may already be handled by the time it is fulfilled.
    try {
      const res = await route.fetch()
      const text = await res.text()
      // Flip one popularity count in the signed JSON: the signature no longer holds.
      await route.fulfill({ response: res, body: text.replace(/"p":(\d+)/, (_, n) => `"p":${Number(n) + 1}`) })
    } catch {
      /* aborted by the page */
    }
  })
  const r = await session(page, { catalog: '/packs/small/', name: 'tamper' })
  expect(r).toMatchObject({ why: 'model-error', error: 'CatalogIntegrityError', ids: cands.map((c) => c.id) })
  expect(await page.evaluate(() => caches.keys().then((k) => k.filter((n) => n.startsWith('inpage-pack:'))))).toEqual([`inpage-pack:small@${pack('small').version}`])
  // Nothing tampered was kept: the cache entry for this version holds no shard.
  expect(await page.evaluate(async (name) => (await (await caches.open(name)).keys()).length, `inpage-pack:small@${pack('small').version}`)).toBe(0)
  await page.unroute('**/packs/small/shards/*.json')
  const missing = await session(page, { catalog: '/packs/no-such-pack/', name: 'missing' })
  expect(missing).toMatchObject({ why: 'model-error', error: 'CatalogLoadError', ids: cands.map((c) => c.id) })
})

test('bytes per rerank follow the page and the history, not the size of the catalog', async ({ browser }) => {
  test.setTimeout(180_000)
  const small = pack('small-plain')
  const large = pack('large-plain')
  expect(large.items - small.items).toBe(LARGE_EXTRA)
  expect(large.items / small.items).toBeGreaterThan(50)
  const measure = async (name: string) => {
    // A fresh context each: empty caches, as on a first visit.
    const ctx = await browser.newContext()
    const page = await ctx.newPage()
    const sizes: number[] = []
    page.on('requestfinished', async (req) => {
      if (!req.url().includes(`/packs/${name}/`)) return
      const res = await req.response()
      sizes.push((await res?.body())?.byteLength ?? 0)
    })
    await openHarness(page)
    const r = await session(page, { catalog: `/packs/${name}/`, name: `bytes-${name}` })
    await page.waitForTimeout(200)
    await ctx.close()
    return { ...r.catalog!, network: sizes.reduce((a, b) => a + b, 0), requests: sizes.length, why: r.why }
  }
  const s = await measure('small-plain')
  const l = await measure('large-plain')
  expect(s.why).toBe('personalized')
  expect(l.why).toBe('personalized')
  // Files: one request per shard of the page's items (the candidates, and the items the track() calls were
  // about, fetched at those calls) + pack.json, whatever the pack's size; the rerank itself read only the candidates'.
  for (const [x, m] of [[s, small], [l, large]] as const) {
    const shards = (ids: string[]) => new Set(ids.map((id) => shardOf(id, m.shards.count))).size
    expect(x.files).toBeLessThanOrEqual(shards(cands.map((c) => c.id))) // a shard a track() call read is already in memory
    expect(x.requests).toBe(shards([...cands, ...seen].map((c) => c.id)) + 1)
  }
  // The large pack holds 200 times the items; a page of the same items costs about the same bytes
  // (shards hold ~16 items either way: 1.5× allows for which neighbours share them).
  console.log(`pack bytes for one rerank: small ${s.bytes} B in ${s.files} shards (pack of ${small.items} items); large ${l.bytes} B in ${l.files} shards (pack of ${large.items})`)
  expect(l.bytes).toBeLessThan(1.5 * s.bytes)
})

test("records the store's server attaches to candidates need no pack fetch, and history items keep them", async ({ page }) => {
  test.setTimeout(120_000)
  const { openPack } = await import('../catalog/read')
  const p = openPack(`${PACKS_DIR}/small`)
  const attach = <T extends { id: string }>(xs: T[]) => xs.map((c) => ({ ...c, pack: p.record(c.id) }))
  await openHarness(page)
  const requests: string[] = []
  page.on('request', (r) => r.url().includes('/packs/') && requests.push(r.url()))
  const r = await page.evaluate(
    async ({ model, seenAsCands, cands, seen }) => {
      const rec = window.inpage.createRecommender({ model, backend: 'wasm', name: 'attached', consent: 'pending' })
      await rec.warmUp()
      // A page that shows the shopper's future history items (the server attaches their records)...
      await rec.rerank(seenAsCands, { budgetMs: 60_000 })
      for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: { title: 'x' } })
      // ...then another page: the history items are not on it, and still have their pack data.
      const out = await rec.rerank(cands, { budgetMs: 60_000 })
      return { why: out.why, catalog: rec.status().engine.catalog }
    },
    { model: MODEL, seenAsCands: attach(seen.map((s) => ({ id: s.id, ...s.item }))), cands: attach(cands), seen },
  )
  expect(r.why).toBe('personalized')
  expect(r.catalog).toMatchObject({ pack: 'attached', asked: 24, missing: 0, files: 0, textVectors: true })
  expect(requests).toEqual([])
})

test('the general model (contract 3: no tables of its own) personalizes from a pack alone', async ({ page }) => {
  test.setTimeout(180_000)
  await openHarness(page)
  const r = await page.evaluate(
    async ({ cands, seen }) => {
      const rec = window.inpage.createRecommender({ model: '/models/inpage-general-v1/', catalog: '/packs/small-plain/', backend: 'wasm', name: 'general', storage: 'memory', consent: 'granted' })
      for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
      await rec.warmUp()
      const out = await rec.rerank(cands, { budgetMs: 120_000, personalWeight: 1 })
      return { why: out.why, model: rec.status().engine.info?.model, catalog: rec.status().engine.catalog, moved: out.items.some((it, i) => it.serverRank !== i) }
    },
    { cands, seen },
  )
  expect(r).toMatchObject({ why: 'personalized', model: { name: 'inpage-general-v1' }, catalog: { missing: 0, textVectors: false }, moved: true })
})

test("a pack's tuning changes the blend, and a tampered one is refused by name: the server's order, as any bad pack.json", async ({ page }) => {
  test.setTimeout(180_000)
  const m = JSON.parse(readFileSync(`${PACKS_DIR}/general/pack.json`, 'utf8')) as Record<string, unknown>
  await openHarness(page)
  const rerank = (name: string) =>
    page.evaluate(
      async ({ cands, seen, name }) => {
        const rec = window.inpage.createRecommender({ model: '/models/inpage-general-v1/', catalog: '/packs/general/', backend: 'wasm', name, consent: 'pending' })
        for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
        const r = await rec.rerank(cands, { budgetMs: 120_000, personalWeight: 1 })
        const out = { why: r.why, error: r.error?.name, message: r.error?.message, ids: r.items.map((i) => i.id), personal: r.items.map((i) => i.personal), tuned: rec.status().engine.catalog?.tuned ?? false }
        await rec.dispose()
        return out
      },
      { cands, seen, name },
    )
  const serveTuning = (tuningJson: string) =>
    page.route('**/packs/general/pack.json', (route) =>
      route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ ...m, tuning: 0 }).replace('"tuning":0', `"tuning":${tuningJson}`) }),
    )
  const plain = await rerank('tuning-none')
  expect(plain).toMatchObject({ why: 'personalized', tuned: false })
  // The store's settings (as `npm run catalog` writes them): the same page, another blend.
  await serveTuning(JSON.stringify({ knn: { weight: 8, decay: 0.6 }, user: { decay: 1, prior: 0 }, chosenOn: { split: 'valid', users: 1500, protocols: ['full', 'category'], gain: 0.05 } }))
  const tuned = await rerank('tuning-good')
  expect(tuned).toMatchObject({ why: 'personalized', tuned: true })
  expect(tuned.personal).not.toEqual(plain.personal)
  await page.unroute('**/packs/general/pack.json')
  // With the store's adaptation of the user vector: another blend again; the same adaptation with B = 0 (no update)
  // gives the tuned scores exactly, so the update is what changed them.
  const dims = (m.dims as { text: number }).text
  const withAdapt = (b: (i: number) => number) =>
    JSON.stringify({ knn: { weight: 8, decay: 0.6 }, user: { decay: 1, prior: 0 }, adapt: packAdapt({ dims, rank: 2, a: Float32Array.from({ length: dims * 2 }, (_, i) => ((i % 5) - 2) / 20), b: Float32Array.from({ length: dims * 2 }, (_, i) => b(i)) }), chosenOn: { split: 'valid', users: 1500, protocols: ['full', 'category'], gain: 0.05 } })
  await serveTuning(withAdapt((i) => ((i % 3) - 1) / 10))
  const adapted = await rerank('tuning-adapted')
  expect(adapted).toMatchObject({ why: 'personalized', tuned: true })
  expect(adapted.personal).not.toEqual(tuned.personal)
  await page.unroute('**/packs/general/pack.json')
  await serveTuning(withAdapt(() => 0))
  expect((await rerank('tuning-adapted-zero')).personal).toEqual(tuned.personal)
  await page.unroute('**/packs/general/pack.json')
  // A careless or hostile tuning: pack.json is refused whole (never half-read), the call gets the server's order.
  for (const bad of ['{"knn": {"weight": 1e9, "decay": 0.6}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}', '{"__proto__": {"knn": {"weight": 8, "decay": 0.6}}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}', '"fast"', '{"adapt": {"rank": 2, "scale": [0.01, 0.01], "a": "AAAA", "b": "AAAA"}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}']) {
    await serveTuning(bad)
    expect(await rerank(`tuning-bad-${bad.length}`), bad).toMatchObject({ why: 'model-error', error: 'CatalogLoadError', message: expect.stringContaining('tuning'), ids: cands.map((c) => c.id) })
    await page.unroute('**/packs/general/pack.json')
  }
})

test('a sparse pack: a shard without items is a 404 and an empty shard, any other status fails the call; format 1 is read as before, at many times the bytes', async ({ page }) => {
  test.setTimeout(180_000)
  const { openPack } = await import('../catalog/read')
  const { readdirSync } = await import('node:fs')
  const m = pack('general')
  const files = new Set(readdirSync(`${PACKS_DIR}/general/shards`))
  // An item the pack does not hold, whose shard has no file: the page lists it (a new product, say).
  let n = 0
  while (files.has(`${shardOf(`new-${n}`, m.shards.count)}.json`)) n++
  const extra = { id: `new-${n}`, title: 'Borosilicate glass beaker set, new', category: cands[0]!.category }
  const absentUrl = `/packs/general/shards/${shardOf(extra.id, m.shards.count)}.json`
  await openHarness(page)
  const statuses = new Map<string, number>()
  page.on('response', (r) => r.url().includes('/packs/') && statuses.set(new URL(r.url()).pathname, r.status()))
  const rerank = (catalog: string, list: unknown[]) =>
    page.evaluate(
      async ({ catalog, list, seen }) => {
        const rec = window.inpage.createRecommender({ model: '/models/inpage-general-v1/', catalog, backend: 'wasm', name: `sparse${Math.random()}`, consent: 'pending' })
        // A history (its items' shards are read at these calls: the rerank's counts are the page's own).
        for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
        const r = await rec.rerank(list as never, { budgetMs: 120_000 })
        const out = { why: r.why, error: r.error?.name, message: r.error?.message, catalog: rec.status().engine.catalog }
        await rec.dispose()
        return out
      },
      { catalog, list, seen },
    )
  const sparse = await rerank('/packs/general/', [...cands, extra])
  expect(sparse).toMatchObject({ why: 'personalized', catalog: { pack: `general@${m.version}`, asked: cands.length + 1 + seen.length, missing: 1 } })
  expect(statuses.get(absentUrl)).toBe(404)
  // The same 404 turned into a 500: the call fails by name (the server's order), as any shard that does not answer.
  await page.route(`**${absentUrl}`, (route) => route.fulfill({ status: 500, body: 'oops' }))
  expect(await rerank('/packs/general/', [...cands, extra])).toMatchObject({ why: 'model-error', error: 'CatalogLoadError', message: expect.stringContaining('HTTP 500') })
  await page.unroute(`**${absentUrl}`)
  // Bytes: the page's shard files, as sent, against its records' own bytes (`"id": record`), sparse and dense
  // (format 1). No history: every shard request is the page's (the worker asks for them whether or not there is one).
  const p = openPack(`${PACKS_DIR}/general`)
  const recordBytes = cands.reduce((a, c) => a + Buffer.byteLength(`${JSON.stringify(c.id)}:${JSON.stringify(p.record(c.id))}`), 0)
  const shardBytes = async (name: string) => {
    const want = new Set(cands.map((c) => shardOf(c.id, pack(name).shards.count))).size
    const sizes = new Map<string, number>()
    const count = async (req: import('@playwright/test').Request) => {
      const res = await req.response()
      if (req.url().includes(`/packs/${name}/shards/`) && res?.status() === 200) sizes.set(req.url(), (await res.body()).byteLength)
    }
    page.on('requestfinished', count)
    const why = await page.evaluate(
      async ({ catalog, list }) => {
        const rec = window.inpage.createRecommender({ model: '/models/inpage-general-v1/', catalog, backend: 'wasm', name: `bytes${Math.random()}`, consent: 'pending' })
        return (await rec.rerank(list as never)).why
      },
      { catalog: `/packs/${name}/`, list: cands },
    )
    expect(why).toBe('no-history')
    await expect.poll(() => sizes.size, { timeout: 60_000 }).toBe(want)
    page.off('requestfinished', count)
    await openHarness(page) // a new page: that recommender is gone
    return { bytes: [...sizes.values()].reduce((a, b) => a + b, 0), files: sizes.size }
  }
  const s = await shardBytes('general')
  const dense = await shardBytes('general-dense')
  expect(dense.files).toBe(new Set(cands.map((c) => shardOf(c.id, pack('general-dense').shards.count))).size)
  console.log(`a ${cands.length}-item page: sparse ${s.bytes} B in ${s.files} files, dense ${dense.bytes} B in ${dense.files}; its records ${recordBytes} B`)
  expect(s.bytes / recordBytes).toBeLessThanOrEqual(1.5)
  expect(dense.bytes / recordBytes).toBeGreaterThan(3)
  // Format 1 still personalizes.
  expect(await rerank('/packs/general-dense/', cands)).toMatchObject({ why: 'personalized', catalog: { pack: `general-dense@${pack('general-dense').version}`, missing: 0 } })
})
