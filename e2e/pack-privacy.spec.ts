// The catalog pack keeps the privacy promise (issue 22), in real Chromium with the real model and worker:
// no request chosen by the history, nothing stored before consent, bad data is one call's fault, manifests
// revalidate, a swapped or unpinned key is refused. SECURITY.md ("Requests", "Threat model: the catalog pack").
import { test, expect, type Page, type Route } from '@playwright/test'
import { createHash, generateKeyPairSync, sign } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { catalog, packPage } from './catalog'
import { inpageDatabases, openHarness } from './helpers'
import { PACKS_DIR } from './packs'
import { E2E_ORIGIN } from './ports'
import { shardOf, signedMessage, type PackKey } from '../src/pack/format'

const MODEL = '/models/inpage-sci-v1/'
const { seen, cands } = packPage()
type PackJson = { name: string; version: string; items: number; shards: { count: number }; signature: { publicKey: PackKey } }
const packJson = (name: string) => JSON.parse(readFileSync(`${PACKS_DIR}/${name}/pack.json`, 'utf8')) as PackJson
const shardPath = (name: string, i: number) => `/packs/${name}/shards/${i}.json`

/** Pack requests the page made, as paths. */
function watchPack(page: Page) {
  const urls: string[] = []
  page.on('request', (r) => {
    const u = new URL(r.url())
    if (u.pathname.includes('/packs/')) urls.push(u.pathname)
  })
  return urls
}

/** Each shard's JSON text (after its signature line), by shard number. */
function shardTexts(name: string): Map<number, string> {
  const dir = `${PACKS_DIR}/${name}/shards`
  return new Map(
    readdirSync(dir).map((f) => {
      const text = readFileSync(`${dir}/${f}`, 'utf8')
      return [Number(f.replace('.json', '')), text.slice(text.indexOf('\n') + 1)] as const
    }),
  )
}

/** History items of the pack whose shards no candidate shares: asking for their shard could only come from the history. */
function historyApart(pack: PackJson) {
  const candShards = new Set(cands.map((c) => shardOf(c.id, pack.shards.count)))
  const inPack = new Set([...shardTexts(pack.name).values()].flatMap((j) => Object.keys((JSON.parse(j) as { items: object }).items)))
  const items = catalog().filter((it) => inPack.has(it.id) && !candShards.has(shardOf(it.id, pack.shards.count)))
  expect(items.length).toBeGreaterThan(3)
  return items.slice(0, 4).map((g) => ({ id: g.id, item: { title: g.title, brand: g.brand, category: g.category } }))
}

test.describe('requests never depend on the stored history', () => {
  test('granted: after a reload, a page fetches its candidates’ shards only, exactly as a shopper without a history does', async ({ page, browser }) => {
    test.setTimeout(180_000)
    const pack = packJson('small')
    const hist = historyApart(pack)
    const histShards = new Set(hist.map((h) => shardPath('small', shardOf(h.id, pack.shards.count))))
    await openHarness(page)
    // Page 1: the shopper views the items (their records are taken then: the items are on that page).
    await page.evaluate(
      async ({ model, hist }) => {
        const rec = window.inpage.createRecommender({ model, catalog: '/packs/small/', backend: 'wasm', name: 'req', consent: 'granted' })
        await rec.warmUp()
        for (const h of hist) await rec.track({ type: 'view', itemId: h.id, item: h.item })
        await rec.rerank([{ id: hist[0]!.id, title: hist[0]!.item.title }], { budgetMs: 60_000 })
        await rec.flush()
        await rec.dispose()
      },
      { model: MODEL, hist },
    )
    // Page 2: a category page none of whose items shares a shard with the history.
    await page.reload()
    await page.waitForFunction(() => Boolean(window.inpage))
    const rerank = (p: Page, name: string) =>
      p.evaluate(
        async ({ model, cands, name }) => {
          const rec = window.inpage.createRecommender({ model, catalog: '/packs/small/', backend: 'wasm', name, consent: 'granted' })
          const r = await rec.rerank(cands, { budgetMs: 120_000 })
          await rec.warmUp()
          const again = await rec.rerank(cands, { budgetMs: 120_000 })
          await rec.dispose()
          return { why: again.why, first: r.why, history: (await rec.exportData()).events.length }
        },
        { model: MODEL, cands, name },
      )
    const withHistory = watchPack(page)
    const r = await rerank(page, 'req')
    expect(r).toMatchObject({ why: 'personalized', history: hist.length })
    // A shopper with no history, on the same page, in a fresh browser context.
    const ctx = await browser.newContext()
    const fresh = await ctx.newPage()
    await openHarness(fresh)
    const without = watchPack(fresh)
    const f = await rerank(fresh, 'req')
    await ctx.close()
    expect(f).toMatchObject({ why: 'no-history', history: 0 })
    expect(withHistory.filter((u) => histShards.has(u))).toEqual([])
    expect([...new Set(withHistory)].sort()).toEqual([...new Set(without)].sort())
    // The records page 2 scored the history with: kept from page 1's track() calls, listed by exportData().
    const exported = await page.evaluate(async () => (await window.inpage.createRecommender({ name: 'req', consent: 'granted' }).exportData()).packRecords?.map((r) => r.itemId).sort())
    expect(exported).toEqual(hist.map((h) => h.id).sort())
  })

  test('pending: a history item off the page is never fetched for, and is still scored with its kept record', async ({ page }) => {
    test.setTimeout(180_000)
    const pack = packJson('small')
    const hist = historyApart(pack)
    await openHarness(page)
    const urls = watchPack(page)
    const trackShards = new Set(hist.map((h) => shardPath('small', shardOf(h.id, pack.shards.count))))
    const candShards = new Set(cands.map((c) => shardPath('small', shardOf(c.id, pack.shards.count))))
    await page.evaluate(
      async ({ model, hist }) => {
        window.rec = window.inpage.createRecommender({ model, catalog: '/packs/small/', backend: 'wasm', name: 'req-p', consent: 'pending' })
        await window.rec.warmUp()
        for (const h of hist) await window.rec.track({ type: 'view', itemId: h.id, item: h.item })
      },
      { model: MODEL, hist },
    )
    // The track() calls take their items' records (those items are on the page): wait for them (at most 5 s).
    for (let t = 0; t < 50 && ![...trackShards].every((u) => urls.includes(u)); t++) await page.waitForTimeout(100)
    const mark = urls.length
    const r = await page.evaluate(async ({ cands }) => {
      const out = await window.rec.rerank(cands, { budgetMs: 60_000 })
      return { why: out.why, catalog: window.rec.status().engine.catalog }
    }, { cands })
    expect(r.why).toBe('personalized')
    // Every history item had its record (taken at its track() call): none missing, none fetched for the rerank.
    expect(r.catalog).toMatchObject({ missing: 0 })
    expect(urls.slice(mark).filter((u) => !candShards.has(u))).toEqual([])
  })
})

test('nothing is written before consent: pending keeps pack shards and records in memory only, across a reload', async ({ page }) => {
  test.setTimeout(180_000)
  await openHarness(page)
  const stored = () =>
    page.evaluate(async () => ({ caches: (await caches.keys()).filter((k) => k.startsWith('inpage-pack:')), dbs: (await indexedDB.databases()).map((d) => d.name) }))
  await page.evaluate(
    async ({ model, seen, cands }) => {
      const rec = window.inpage.createRecommender({ model, catalog: '/packs/small/', backend: 'wasm', name: 'pend', consent: 'pending' })
      for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
      await rec.warmUp()
      const r = await rec.rerank(cands, { budgetMs: 60_000 })
      if (r.why !== 'personalized') throw new Error(`not personalized: ${r.why}`)
    },
    { model: MODEL, seen, cands },
  )
  expect(await stored()).toEqual({ caches: [], dbs: [] })
  await page.reload()
  await page.waitForFunction(() => Boolean(window.inpage))
  expect(await stored()).toEqual({ caches: [], dbs: [] })
})

/** SECURITY.md's storage table: each store's pattern and the consent under which it may be written. */
function storageTable(): { where: string; pattern: RegExp; written: 'any' | 'granted' }[] {
  const md = readFileSync('SECURITY.md', 'utf8')
  const section = md.slice(md.indexOf('### What is stored, and where'), md.indexOf('### Requests'))
  const rows = section.split('\n').filter((l) => /^\| (IndexedDB|Cache API) \|/.test(l))
  expect(rows.length).toBeGreaterThanOrEqual(5)
  return rows.map((l) => {
    const cells = l.split(' | ').map((c) => c.trim())
    const name = /`([^`]+)`/.exec(cells[1]!)![1]!
    const written = /any consent/.test(cells[4]!) ? 'any' : 'granted'
    const pattern = new RegExp('^' + name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/<[a-z]+>/g, '[^:|]+') + '$')
    return { where: cells[0]!.replace(/^\| /, ''), pattern, written }
  })
}

test('SECURITY.md’s storage table is what the browser holds, after each consent state', async ({ browser }) => {
  test.setTimeout(300_000)
  const table = storageTable()
  for (const consent of ['pending', 'granted', 'denied'] as const) {
    const ctx = await browser.newContext()
    const page = await ctx.newPage()
    await openHarness(page)
    const held = await page.evaluate(
      async ({ model, seen, cands, consent }) => {
        const rec = window.inpage.createRecommender({ model, catalog: '/packs/small/', backend: 'wasm', name: 'table', consent })
        for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
        if (consent !== 'denied') await rec.warmUp({ encoder: true })
        // An item outside the pack is encoded: the item-vector cache.
        const page = [...cands, { id: 'not-in-the-pack-1', title: 'Borosilicate glass beaker, 250 ml' }]
        await rec.rerank(page, { budgetMs: 60_000 })
        await rec.rerank(page, { budgetMs: 60_000, query: 'glass beaker' })
        await rec.flush()
        const dbs = (await indexedDB.databases()).map((d) => d.name!).filter((n) => n.startsWith('inpage'))
        const cacheNames = (await caches.keys()).filter((n) => n.startsWith('inpage'))
        return { dbs, caches: cacheNames }
      },
      { model: MODEL, seen, cands, consent },
    )
    await ctx.close()
    const stores = [...held.dbs.map((n) => ['IndexedDB', n] as const), ...held.caches.map((n) => ['Cache API', n] as const)]
    for (const [where, name] of stores) {
      const row = table.find((r) => r.where === where && r.pattern.test(name))
      expect(row, `${where} ${name} (after ${consent}) has no row in SECURITY.md's storage table`).toBeDefined()
      if (consent !== 'granted') expect(row!.written, `${where} ${name} was written under ${consent}`).toBe('any')
    }
    if (consent === 'denied') expect(stores).toEqual([])
    if (consent === 'granted')
      // Under a grant every row of the table is something this session wrote (none is stale documentation).
      for (const r of table) expect(stores.some(([w, n]) => w === r.where && r.pattern.test(n)), `${r.where} ${r.pattern} not written under a grant`).toBe(true)
  }
})

test.describe('bad data is one call’s fault, never the recommender’s', () => {
  test('an attached record with a 100-wide vector is dropped and named; later clean pages are personalized', async ({ page }) => {
    test.setTimeout(120_000)
    const { openPack } = await import('../catalog/read')
    const p = openPack(`${PACKS_DIR}/small`)
    const attach = <T extends { id: string }>(xs: T[]) => xs.map((c) => ({ ...c, pack: p.record(c.id) }))
    const bad = { ...cands[0]!, pack: { t: 'AAAA'.repeat(25), s: 0.01, p: 3 } } // 75 bytes: 75 floats, the model reads 384
    await openHarness(page)
    const r = await page.evaluate(
      async ({ model, first, clean, seen }) => {
        const rec = window.inpage.createRecommender({ model, backend: 'wasm', name: 'badrec', consent: 'pending' })
        await rec.warmUp()
        for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
        const one = await rec.rerank(first, { budgetMs: 60_000 })
        await rec.track({ type: 'view', itemId: first[0]!.id, item: { title: first[0]!.title } })
        const two = await rec.rerank(clean, { budgetMs: 60_000 })
        const three = await rec.rerank(clean, { budgetMs: 60_000 })
        return { one: one.why, two: two.why, three: three.why, rejected: rec.status().engine.catalog?.rejected }
      },
      { model: MODEL, first: [bad, ...attach(cands.slice(1))], clean: attach(cands.slice(1)), seen },
    )
    expect(r).toMatchObject({ one: 'personalized', two: 'personalized', three: 'personalized' })
    expect(r.rejected).toEqual([expect.objectContaining({ id: cands[0]!.id, source: 'attached', reason: expect.stringContaining('384') })])
  })

  /** The shard of the page's first candidate, as a route pattern. */
  const hungShard = () => `**${shardPath('small', shardOf(cands[0]!.id, packJson('small').shards.count))}`
  /** window.rec with the small pack and a history of `seen`, loaded, after one rerank of its history items. */
  const withHistory = (page: Page, name: string) =>
    page.evaluate(
      async ({ model, seen, name }) => {
        window.rec = window.inpage.createRecommender({ model, catalog: '/packs/small/', backend: 'wasm', name, consent: 'pending' })
        await window.rec.warmUp()
        for (const s of seen) await window.rec.track({ type: 'view', itemId: s.id, item: s.item })
        // The track() calls' records are taken before this call reads them: then the hung shard is asked for by a page alone.
        await window.rec.rerank(seen.map((s) => ({ id: s.id, title: s.item.title })), { budgetMs: 60_000 })
      },
      { model: MODEL, seen, name },
    )

  test('a shard that never answers is given up within the call’s budget and asked for again by the next call', async ({ page }) => {
    test.setTimeout(180_000)
    await openHarness(page)
    let held = -1_000_000 // counts from the reranks below
    await page.route(hungShard(), (route: Route) => {
      if (held++ === 0) return // the first request never answers
      return route.continue()
    })
    await withHistory(page, 'hang')
    held = 0
    const r = await page.evaluate(
      async ({ cands }) => {
        const rec = window.rec
        const t0 = performance.now()
        const one = await rec.rerank(cands, { budgetMs: 2000 })
        const oneMs = performance.now() - t0
        await new Promise((r) => setTimeout(r, 500)) // the worker's own bound (the call's budget) has passed
        const two = await rec.rerank(cands, { budgetMs: 60_000 })
        return { one: one.why, oneMs, two: two.why }
      },
      { cands },
    )
    expect(r.one).toBe('budget')
    expect(r.oneMs).toBeLessThan(4000)
    expect(r.two).toBe('personalized')
    expect(held).toBe(2)
  })

  test('a page whose deadline runs late (a busy or throttled tab), past the worker giving up on a hung shard, still answers budget', async ({ page }) => {
    test.setTimeout(180_000)
    await openHarness(page)
    let hang = false
    await page.route(hungShard(), (route: Route) => (hang ? undefined : route.continue()))
    await withHistory(page, 'busy')
    hang = true
    const r = await page.evaluate(
      async ({ cands }) => {
        const errors: string[] = []
        window.rec.on('error', (e) => errors.push(e.name))
        // The page's timers run 2 s late during this call (as a busy or background tab's do); the worker's do not,
        // so its bound on the hung shard (the same budget) ends first and its fault arrives before the deadline.
        const setTimeout0 = window.setTimeout
        window.setTimeout = ((fn: () => void, ms?: number) => setTimeout0(fn, (ms ?? 0) + 2000)) as typeof window.setTimeout
        const t0 = performance.now()
        const res = await window.rec.rerank(cands, { budgetMs: 1000 }).finally(() => (window.setTimeout = setTimeout0))
        return { why: res.why, error: res.error?.name ?? null, errors, late: performance.now() - t0 < 2900 }
      },
      { cands },
    )
    // Answered by the worker's fault (before the late deadline), and still as the budget.
    expect(r).toEqual({ why: 'budget', error: null, errors: [], late: true })
  })
})

test('manifest.json and pack.json are revalidated on every visit, even when served without Cache-Control', async ({ page }) => {
  test.setTimeout(180_000)
  await openHarness(page)
  const count = async (path: string) => ((await (await fetch(`${E2E_ORIGIN}/__requests`)).json()) as { url: string }[]).filter((r) => r.url === path).length
  const before = { manifest: await count('/static/models/inpage-sci-v1/manifest.json'), pack: await count('/static/packs/small/pack.json') }
  const visit = () =>
    page.evaluate(async () => {
      const rec = window.inpage.createRecommender({ model: '/static/models/inpage-sci-v1/', catalog: '/static/packs/small/', backend: 'wasm', name: 'reval', consent: 'granted' })
      await rec.warmUp()
      await rec.dispose()
    })
  await visit()
  await page.reload()
  await page.waitForFunction(() => Boolean(window.inpage))
  await visit()
  // Each visit asked the server (a 304 when unchanged), so a store's fix reaches the next visit.
  expect({ manifest: (await count('/static/models/inpage-sci-v1/manifest.json')) - before.manifest, pack: (await count('/static/packs/small/pack.json')) - before.pack }).toEqual({
    manifest: 2,
    pack: 2,
  })
})

/** The small pack re-signed with an attacker's key; `edit` may change a shard's JSON before it is signed. */
function forgedPack(opts: { keepVersion: boolean; edit?: (i: number, json: string) => string }) {
  const m = packJson('small')
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' }) as PackKey
  const forged: Record<string, string> = {}
  for (const [i, text] of shardTexts('small')) {
    const json = (opts.edit ?? ((_: number, j: string) => j))(i, text)
    const sig = sign('sha256', signedMessage(i, json), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64')
    forged[`/packs/small/shards/${i}.json`] = `${sig}\n${json}`
  }
  const version = opts.keepVersion ? m.version : createHash('sha256').update(`${jwk.x}.${jwk.y}`).digest('hex').slice(0, 16)
  forged['/packs/small/pack.json'] = JSON.stringify({ ...m, version, signature: { ...m.signature, publicKey: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y } } })
  return forged
}

async function serveForged(page: Page, files: Record<string, string>) {
  await page.route('**/packs/small/**', (route) => {
    const body = files[new URL(route.request().url()).pathname]
    return body === undefined ? route.continue() : route.fulfill({ status: 200, contentType: 'application/json', body })
  })
}

const packRerank = (page: Page, catalogOpt: unknown, list = cands) =>
  page.evaluate(
    async ({ model, catalogOpt, seen, list }) => {
      const rec = window.inpage.createRecommender({ model, catalog: catalogOpt as string, backend: 'wasm', name: `k${Math.random()}`, consent: 'pending' })
      await rec.warmUp()
      for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
      const r = await rec.rerank(list, { budgetMs: 60_000 })
      return { why: r.why, error: r.error?.name, message: r.error?.message, pack: rec.status().engine.catalog?.pack }
    },
    { model: MODEL, catalogOpt, seen, list },
  )

test.describe('pack identity', () => {
  test('a swapped key under the old version is refused; a pinned key refuses any other pack', async ({ page }) => {
    test.setTimeout(180_000)
    const genuine = packJson('small')
    await openHarness(page)
    // Pinned to the genuine key: accepted.
    expect(await packRerank(page, { url: '/packs/small/', publicKey: genuine.signature.publicKey })).toMatchObject({ why: 'personalized', pack: `small@${genuine.version}` })
    await serveForged(page, forgedPack({ keepVersion: true }))
    expect(await packRerank(page, '/packs/small/')).toMatchObject({ why: 'model-error', error: 'CatalogIntegrityError', message: expect.stringContaining('does not match its public key') })
    await page.unroute('**/packs/small/**')
    // A consistent forgery (its own key, its own version) verifies, unless the page pinned the key.
    await serveForged(page, forgedPack({ keepVersion: false }))
    expect(await packRerank(page, '/packs/small/')).toMatchObject({ why: 'personalized' })
    expect(await packRerank(page, { url: '/packs/small/', publicKey: genuine.signature.publicKey })).toMatchObject({
      why: 'model-error',
      error: 'CatalogIntegrityError',
      message: expect.stringContaining('not the key this page pinned'),
    })
  })

  test('a signed shard of the wrong shape fails that call by name; the worker carries on', async ({ page }) => {
    test.setTimeout(180_000)
    const m = packJson('small')
    const broken = shardOf(cands[0]!.id, m.shards.count)
    const odd = shardOf(cands[1]!.id, m.shards.count)
    await openHarness(page)
    await serveForged(
      page,
      forgedPack({
        keepVersion: false,
        edit: (i, j) => {
          if (i === broken) return '{"items":null}'
          if (i !== odd) return j
          const shard = JSON.parse(j) as { items: Record<string, { n?: unknown }> }
          shard.items[cands[1]!.id]!.n = 'zz'
          return JSON.stringify(shard)
        },
      }),
    )
    const workers: string[] = []
    page.on('request', (r) => r.url().includes('inpage.worker.js') && workers.push(r.url()))
    const okList = cands.filter((c) => ![broken, odd].includes(shardOf(c.id, m.shards.count)))
    const r = await page.evaluate(
      async ({ model, seen, bad1, bad2, ok }) => {
        const rec = window.inpage.createRecommender({ model, catalog: '/packs/small/', backend: 'wasm', name: 'shape', consent: 'pending' })
        await rec.warmUp()
        for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
        const a = await rec.rerank(bad1, { budgetMs: 60_000 })
        const b = await rec.rerank(bad2, { budgetMs: 60_000 })
        const c = await rec.rerank(ok, { budgetMs: 60_000 })
        return [a, b, c].map((x) => ({ why: x.why, error: x.error?.name }))
      },
      { model: MODEL, seen, bad1: [cands[0]!], bad2: [cands[1]!], ok: okList },
    )
    expect(r).toEqual([
      { why: 'model-error', error: 'CatalogDataError' },
      { why: 'model-error', error: 'CatalogDataError' },
      { why: 'personalized' },
    ])
    expect(workers).toHaveLength(1)
  })
})

type Busy = { busy: Promise<{ why: string }> }

test.describe('a denial while a call reads the pack leaves nothing it derives stored', () => {
  for (const from of ['this page', 'another tab'] as const)
    test(`denied from ${from}: the shards that answer afterwards reach no cache, no record or vector is stored`, async ({ page, context }) => {
      test.setTimeout(180_000)
      const name = from === 'this page' ? 'deny-here' : 'deny-tab'
      // Once gated, the pack's shards answer only after the denial: whatever the worker would keep of them comes after it.
      let gated = false
      const held: string[] = []
      let release!: () => void
      const open = new Promise<void>((r) => (release = r))
      await page.route('**/packs/small/shards/*.json', async (route: Route) => {
        if (!gated) return route.continue()
        held.push(new URL(route.request().url()).pathname)
        await open
        // The denial ended the worker: its request may be aborted by now, so its route already handled.
        await route.continue().catch(() => {})
      })
      await openHarness(page)
      await page.evaluate(
        async ({ model, seen, name }) => {
          window.rec = window.inpage.createRecommender({ model, catalog: '/packs/small/', backend: 'wasm', name, consent: 'granted' })
          await window.rec.warmUp()
          for (const s of seen) await window.rec.track({ type: 'view', itemId: s.id, item: s.item })
          await new Promise((r) => setTimeout(r, 1000)) // the track() calls' records are kept (IndexedDB, under the grant)
        },
        { model: MODEL, seen, name },
      )
      const stored = () =>
        page.evaluate(async () => ({
          caches: (await caches.keys()).filter((k) => k.startsWith('inpage-pack:')),
          dbs: (await indexedDB.databases()).map((d) => d.name!).filter((n) => n.startsWith('inpage:')).sort(),
        }))
      expect((await stored()).dbs).toContain(`inpage:${name}:pack`) // the grant did store: the denial has something to erase
      gated = true
      await page.evaluate((cands) => void ((window as unknown as Busy).busy = window.rec.rerank(cands, { budgetMs: 60_000 })), cands)
      await expect.poll(() => held.length, { timeout: 30_000 }).toBeGreaterThan(0) // the call waits on a shard now
      if (from === 'this page') await page.evaluate(() => window.rec.setConsent('denied'))
      else {
        const other = await context.newPage()
        await openHarness(other)
        await other.evaluate(async (name) => {
          const rec = window.inpage.createRecommender({ name, consent: 'pending' })
          await rec.ready()
          await rec.setConsent('denied')
        }, name)
        await other.close()
      }
      release()
      const why = await page.evaluate(async () => (await (window as unknown as Busy).busy).why)
      await page.waitForTimeout(1500) // nothing may be written late
      expect(why).toBe('consent')
      expect(await stored()).toEqual({ caches: [], dbs: [] })
      expect(await page.evaluate(() => window.rec.status().consent)).toBe('denied')
    })
})

test('forget() erases the kept pack records with the history', async ({ page }) => {
  test.setTimeout(120_000)
  await openHarness(page)
  const r = await page.evaluate(
    async ({ model, seen, cands }) => {
      const rec = window.inpage.createRecommender({ model, catalog: '/packs/small/', backend: 'wasm', name: 'fgt', consent: 'granted' })
      await rec.warmUp()
      for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
      await rec.rerank(cands, { budgetMs: 60_000 })
      const before = (await rec.exportData()).packRecords.length
      await rec.forget()
      return { before, after: (await rec.exportData()).packRecords.length }
    },
    { model: MODEL, seen, cands },
  )
  expect(r).toEqual({ before: seen.length, after: 0 })
  expect(await inpageDatabases(page)).toEqual([])
})

test('the script tag pins the pack with data-catalog-key; a malformed key is refused and logged, the page unharmed', async ({ page }) => {
  test.setTimeout(180_000)
  const genuine = packJson('small')
  const other = forgedPack({ keepVersion: false })['/packs/small/pack.json']!
  const otherKey = (JSON.parse(other) as PackJson).signature.publicKey
  const html = (key: string) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<script src="/dist/inpage.iife.js" data-model="${MODEL}" data-catalog="/packs/small/" data-catalog-key='${key}' data-backend="wasm" data-consent="pending" data-name="pin"></script></head>
<body><p>store</p></body></html>`
  let body = ''
  await page.route('**/pin-store.html', (route) =>
    route.fulfill({ contentType: 'text/html; charset=utf-8', headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' }, body }),
  )
  const run = () =>
    page.evaluate(
      async ({ seen, cands }) => {
        const rec = (window as unknown as { InPage: { recommender?: import('../src/index').Recommender } }).InPage.recommender
        if (!rec) return { why: 'no recommender' }
        await rec.warmUp()
        for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
        const r = await rec.rerank(cands, { budgetMs: 60_000 })
        return { why: r.why, error: r.error?.name }
      },
      { seen, cands },
    )
  for (const [key, expected] of [
    [JSON.stringify(genuine.signature.publicKey), { why: 'personalized' }],
    [JSON.stringify(otherKey), { why: 'model-error', error: 'CatalogIntegrityError' }],
  ] as const) {
    body = html(key)
    await page.goto('/pin-store.html')
    await page.waitForFunction(() => Boolean((window as unknown as { InPage?: { recommender?: unknown } }).InPage?.recommender))
    expect(await run()).toMatchObject(expected)
  }
  const logged: string[] = []
  page.on('console', (m) => m.type() === 'error' && logged.push(m.text()))
  body = html('{"kty":"EC","crv":"P-256","x":"short"')
  await page.goto('/pin-store.html')
  await page.waitForTimeout(300)
  expect(await page.evaluate(() => typeof (window as unknown as { InPage?: { createRecommender?: unknown } }).InPage?.createRecommender)).toBe('function')
  expect(await run()).toEqual({ why: 'no recommender' })
  expect(logged.join('\n')).toMatch(/inpage: the script tag's data attributes were refused/)
})
