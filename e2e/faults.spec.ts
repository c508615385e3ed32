// Faults and hostile input in real Chromium: broken model files and manifests, a full disk, corrupted
// records, an old tab that never lets go of the database, and catalog text that is really HTML.
// Every fault ends as a named error (or a report through 'error' / status()), never in the page.
// (engine.spec.ts already covers one flipped byte and one 404 file; history.spec.ts covers IndexedDB
// being unavailable altogether.)
import { test, expect, type Page } from '@playwright/test'
import { readFileSync } from 'node:fs'
import { inCategory } from './catalog'
import { openHarness } from './helpers'
import type { Recommender } from '../src/index'

const MODEL = '/models/inpage-sci-v1/'
const manifest = JSON.parse(readFileSync('public/models/inpage-sci-v1/manifest.json', 'utf8'))
const glass = inCategory('Glassware & Labware')
const glue = inCategory('Adhesives & Sealants')
const snap = (g: (typeof glass)[number]) => ({ title: g.title, brand: g.brand, category: g.category })

/** Collects uncaught exceptions and unhandled rejections of the page (and its workers, via pageerror). */
async function watchErrors(page: Page) {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
  await page.addInitScript(() => {
    const w = window as unknown as { __rejections: string[] }
    w.__rejections = []
    addEventListener('unhandledrejection', (e) => w.__rejections.push(String((e.reason as Error)?.name ?? e.reason)))
  })
  return async () => [...errors, ...(await page.evaluate(() => (window as unknown as { __rejections: string[] }).__rejections))]
}

// ---------------------------------------------------------------- model faults

type Fault = { what: string; errorName: 'ModelLoadError' | 'ModelIntegrityError'; message: RegExp; bad?: string; route: (page: Page) => Promise<unknown> }
const editManifest = (page: Page, edit: (m: typeof manifest) => void) =>
  page.route(`**${MODEL}manifest.json`, (route) => {
    const m = structuredClone(manifest)
    edit(m)
    return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(m) })
  })

const FAULTS: Fault[] = [
  {
    what: 'manifest.json answering 404',
    errorName: 'ModelLoadError',
    message: /manifest\.json: HTTP 404/,
    route: (page) => page.route(`**${MODEL}manifest.json`, (r) => r.fulfill({ status: 404, body: 'not found' })),
  },
  {
    what: 'manifest.json that is not JSON (an HTML error page)',
    errorName: 'ModelLoadError',
    message: /not valid JSON/,
    route: (page) => page.route(`**${MODEL}manifest.json`, (r) => r.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><h1>Oops</h1>' })),
  },
  {
    what: 'a truncated encoder file',
    errorName: 'ModelIntegrityError',
    message: new RegExp(`encoder\\.int8\\.onnx: \\d+ bytes, the manifest says ${manifest.files["encoder.int8.onnx"].bytes}`),
    bad: 'encoder.int8.onnx',
    route: (page) =>
      page.route(`**${MODEL}encoder.int8.onnx`, async (route) => {
        const res = await route.fetch()
        const body = (await res.body()).subarray(0, 4_000_000) // the first 4 MB of 13.5
        return route.fulfill({ status: 200, headers: { 'content-type': 'application/octet-stream' }, body })
      }),
  },
  {
    what: 'a connection dropped while downloading',
    errorName: 'ModelLoadError',
    message: /user\.int8\.onnx/,
    bad: 'user.int8.onnx',
    route: (page) => page.route(`**${MODEL}user.int8.onnx`, (r) => r.abort('connectionreset')),
  },
  {
    what: 'a wrong sha256 in the manifest',
    errorName: 'ModelIntegrityError',
    message: /tokenizer\.json: sha256 [0-9a-f]{64} does not match/,
    bad: 'tokenizer.json',
    route: (page) => editManifest(page, (m) => (m.files['tokenizer.json'].sha256 = 'ab'.repeat(32))),
  },
  {
    what: 'a manifest naming a file the server does not have',
    errorName: 'ModelLoadError',
    message: /user-v2\.int8\.onnx: HTTP 404/,
    route: (page) =>
      editManifest(page, (m) => {
        m.files['user-v2.int8.onnx'] = m.files['user.int8.onnx']
        m.user.file = 'user-v2.int8.onnx'
      }),
  },
  {
    what: 'a manifest naming a file it does not list',
    errorName: 'ModelLoadError',
    message: /encoder-v9\.onnx is used but not listed in files/,
    route: (page) => editManifest(page, (m) => (m.encoder.file = 'encoder-v9.onnx')),
  },
]

for (const f of FAULTS) {
  test(`model fault: ${f.what} → ${f.errorName}, server order, the page unaffected`, async ({ page }) => {
    const errors = await watchErrors(page)
    await f.route(page)
    await openHarness(page)
    const r = await page.evaluate(
      async ({ model, seen, cands, bad }) => {
        const rec = window.inpage.createRecommender({ model, consent: 'granted', backend: 'wasm' })
        const reported: string[] = []
        rec.on('error', (e) => reported.push(e.name))
        for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
        const loadError = await rec.warmUp().then(
          () => 'none',
          (e: Error) => e.name,
        )
        const out = await rec.rerank(cands as never, { budgetMs: 30_000 })
        // A second rerank does not retry the broken model on every call, and still answers.
        const again = await rec.rerank(cands as never, { budgetMs: 30_000 })
        // Nothing of a file that failed its check is kept in the Cache API (under any key: entries are keyed by digest).
        let cached = 0
        if (bad) for (const k of await caches.keys()) if (await (await caches.open(k)).match(new URL(bad, new URL(model, location.href)).href, { ignoreSearch: true })) cached++
        // The page still works: tracking, export, its own DOM.
        await rec.track({ type: 'click', itemId: 'after', item: { title: 'After the fault' } })
        const stored = (await rec.exportData()).events.length
        const button = document.body.appendChild(document.createElement('button'))
        let clicked = false
        button.onclick = () => (clicked = true)
        button.click()
        return {
          loadError,
          why: out.why,
          personalized: out.personalized,
          error: out.error,
          again: again.why,
          ids: out.items.map((i) => i.id),
          engine: rec.status().engine,
          reported,
          cached,
          stored,
          clicked,
        }
      },
      { model: MODEL, seen: glass.slice(0, 3).map((g) => ({ id: g.id, item: snap(g) })), cands: glue.slice(0, 6), bad: f.bad },
    )
    expect(r.loadError).toBe(f.errorName)
    expect(r.why).toBe('model-error')
    expect(r.again).toBe('model-error')
    expect(r.personalized).toBe(false)
    expect(r.error?.name).toBe(f.errorName)
    expect(r.error?.message).toMatch(f.message)
    expect(r.ids).toEqual(glue.slice(0, 6).map((g) => g.id)) // the server's order, untouched
    expect(r.engine.state).toBe('error')
    expect(r.engine.error?.name).toBe(f.errorName)
    expect(r.reported).toContain(f.errorName)
    expect(r.cached).toBe(0)
    expect(r.stored).toBe(4)
    expect(r.clicked).toBe(true)
    expect(await errors()).toEqual([])
  })
}

test('onnxruntime-web that never starts in the worker: a fresh worker loads the model once, and the call is personalized', async ({ page }) => {
  test.setTimeout(120_000)
  const stop = await watchErrors(page)
  // The first worker's import of ORT's glue never answers (Firefox ESR's intermittent stall, made certain here);
  // the page's next worker gets it.
  let glueRequests = 0
  await page.route('**/dist/ort/ort-wasm-simd-threaded.mjs', (route) => (++glueRequests === 1 ? new Promise(() => {}) : route.continue()))
  await openHarness(page)
  const r = await page.evaluate(async ({ model, seen, cands }) => {
    const rec = window.inpage.createRecommender({ model, consent: 'granted', backend: 'wasm', name: 'stalled-runtime' })
    const errors: string[] = []
    rec.on('error', (e) => errors.push(e.name))
    for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
    const t0 = performance.now()
    const out = await rec.rerank(cands as never, { budgetMs: 60_000 })
    return { why: out.why, ms: performance.now() - t0, state: rec.status().engine.state, fromCache: rec.status().engine.info?.fromCache, errors }
  }, { model: MODEL, seen: glass.slice(0, 3).map((g) => ({ id: g.id, item: snap(g) })), cands: [...glue.slice(0, 5), ...glass.slice(5, 10)] })
  expect(r).toMatchObject({ why: 'personalized', state: 'ready', fromCache: true, errors: [] })
  expect(r.ms).toBeGreaterThan(10_000) // it waited out the bound (defaults.runtimeStartMs) first
  expect(glueRequests).toBe(2)
  expect(await stop()).toEqual([])
})

// ---------------------------------------------------------------- IndexedDB faults

/** What a quota test drives inside the page: a recommender with its reported errors, and the full disk. */
interface QuotaTest {
  rec: Recommender
  reported: { name: string; message: string }[]
  /** The next `writes` event writes throw QuotaExceededError. */
  fill(writes: number): void
  /** How many writes were refused so far. */
  hits(): number
}
declare global {
  interface Window {
    quotaTest(): QuotaTest
  }
}

/** Opens the harness with IDBObjectStore.put patched to throw QuotaExceededError on demand (window.quotaTest);
 * returns the page's error watcher. */
async function openQuotaHarness(page: Page) {
  const errors = await watchErrors(page)
  await page.addInitScript(() => {
    let quota = 0
    let hits = 0
    const put = IDBObjectStore.prototype.put
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      if (quota > 0 && Array.isArray(key) && key[0] === 'e') {
        quota--
        hits++
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError')
      }
      return put.call(this, value, key)
    } as typeof put
    window.quotaTest = () => {
      const rec = window.inpage.createRecommender({ consent: 'granted' })
      const reported: QuotaTest['reported'] = []
      rec.on('error', (e) => reported.push({ name: e.name, message: e.message }))
      return { rec, reported, fill: (writes) => void (quota = writes), hits: () => hits }
    }
  })
  await openHarness(page)
  return errors
}

test('QuotaExceededError once: the oldest events are evicted and the write retried', async ({ page }) => {
  const errors = await openQuotaHarness(page)
  const r = await page.evaluate(async () => {
    const { rec, reported, fill, hits } = window.quotaTest()
    const t0 = Date.now() - 60_000
    for (let i = 0; i < 8; i++) await rec.track({ type: 'view', itemId: `old${i}`, item: { title: `Old ${i}` }, timestamp: t0 + i * 1000 })
    fill(1) // the disk is full for the next write
    await rec.track({ type: 'purchase', itemId: 'NEW', item: { title: 'New' } })
    return { hits: hits(), reported, status: rec.status(), ids: (await rec.exportData()).events.map((e) => e.itemId) }
  })
  expect(r.hits).toBe(1)
  // 8 stored: at least a quarter (2) of the oldest make room, then the retry stores the new one.
  expect(r.ids).toEqual(['old2', 'old3', 'old4', 'old5', 'old6', 'old7', 'NEW'])
  expect(r.reported).toEqual([])
  expect(r.status.lastError).toBeUndefined()
  expect(r.status).toMatchObject({ storage: 'indexeddb', events: 7 })
  // The retried write is really on disk: a fresh recommender (a reload) reads it.
  await page.reload()
  await page.waitForFunction(() => Boolean(window.inpage))
  expect(await page.evaluate(async () => (await window.inpage.createRecommender().exportData()).events.map((e) => e.itemId))).toEqual(r.ids)
  expect(await errors()).toEqual([])
})

test('QuotaExceededError that persists: reported through error and status(), events kept in memory, nothing thrown', async ({ page }) => {
  const errors = await openQuotaHarness(page)
  const r = await page.evaluate(async () => {
    const { rec, reported, fill, hits } = window.quotaTest()
    for (let i = 0; i < 4; i++) await rec.track({ type: 'view', itemId: `s${i}`, item: { title: `Stored ${i}` } })
    fill(1e9) // full for good
    let thrown = 'none'
    try {
      await rec.track({ type: 'view', itemId: 'M1', item: { title: 'Kept in memory 1' } })
      await rec.track({ type: 'search', query: 'kept in memory' })
      await rec.track({ type: 'add_to_cart', itemId: 'M2', item: { title: 'Kept in memory 2' } })
      await rec.flush()
    } catch (e) {
      thrown = (e as Error).name
    }
    const doc = await rec.exportData()
    const out = await rec.rerank([{ id: 'x', title: 'X' }])
    return { thrown, hits: hits(), reported, status: rec.status(), ids: doc.events.map((e) => e.itemId ?? e.query), why: out.why }
  })
  expect(r.thrown).toBe('none')
  expect(r.hits).toBeGreaterThanOrEqual(6) // three writes, each tried twice
  expect(r.reported.length).toBe(3)
  expect(r.reported.every((e) => e.name === 'QuotaExceededError')).toBe(true)
  expect(r.status.lastError?.name).toBe('QuotaExceededError')
  expect(r.status.storage).toBe('indexeddb')
  // Every failed write made room first (the oldest stored events went); what is left is still there,
  // and the three new events live on in this page's memory, where ranking reads them.
  expect(r.ids.slice(-3)).toEqual(['M1', 'kept in memory', 'M2'])
  expect(r.status.events).toBe(r.ids.length)
  expect(r.why).toBe('no-model')
  expect(await errors()).toEqual([])
})

test('corrupted records of the wrong shape are skipped and counted; the rest ranks as before', async ({ page }) => {
  test.setTimeout(120_000)
  const errors = await watchErrors(page)
  await openHarness(page)
  const seen = glass.slice(0, 3).map((g) => ({ id: g.id, item: snap(g) }))
  await page.evaluate(async (seen) => {
    const rec = window.inpage.createRecommender({ consent: 'granted' })
    for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
    await rec.dispose()
  }, seen)
  // Another script (a bug, an extension, a hand in devtools) writes garbage into inpage's store.
  const bad = await page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((res, rej) => {
      const r = indexedDB.open('inpage:default:history')
      r.onsuccess = () => res(r.result)
      r.onerror = () => rej(r.error)
    })
    const now = Date.now()
    const records: unknown[] = [
      { garbage: true },
      'a string',
      null,
      [1, 2, 3],
      { type: 'teleport', ts: now },
      { type: 'view', ts: 'yesterday', itemId: 'z0', item: { title: 'ts is a string' } },
      { type: 'view', ts: now, itemId: 'z1', item: 42 },
      { type: 'view', ts: now, itemId: 'z2', item: { title: 5, category: 'a > b' } },
      { type: 'click', ts: now, itemId: { evil: 1 }, item: { title: 'id is an object' } },
      { type: 'view', ts: now, itemId: 'z3', item: { title: 'price', price: 'free' } },
    ]
    const tx = db.transaction('kv', 'readwrite')
    records.forEach((r, i) => tx.objectStore('kv').put(r, ['e', now, 'x', i]))
    await new Promise((res, rej) => ((tx.oncomplete = res), (tx.onerror = () => rej(tx.error))))
    db.close()
    return records.length
  })
  await page.reload()
  await page.waitForFunction(() => Boolean(window.inpage))
  const r = await page.evaluate(
    async ({ model, cands }) => {
      const rec = window.inpage.createRecommender({ model, backend: 'wasm' })
      await rec.ready()
      const status = rec.status()
      const ids = (await rec.exportData()).events.map((e) => e.itemId)
      await rec.warmUp()
      const out = await rec.rerank(cands as never, { budgetMs: 30_000 })
      await rec.track({ type: 'purchase', itemId: 'P1', item: { title: 'Still writable' } })
      return { status, ids, why: out.why, personalized: out.personalized, after: (await rec.exportData()).events.map((e) => e.itemId), status2: rec.status() }
    },
    { model: MODEL, cands: [...glue.slice(0, 8), ...glass.slice(10, 18)] },
  )
  expect(r.status).toMatchObject({ consent: 'granted', storage: 'indexeddb', events: 3, skipped: bad })
  expect(r.ids).toEqual(seen.map((s) => s.id))
  expect(r.why).toBe('personalized') // the engine never sees a malformed event
  expect(r.personalized).toBe(true)
  expect(r.after).toEqual([...seen.map((s) => s.id), 'P1'])
  expect(r.status2.skipped).toBe(bad)
  expect(await errors()).toEqual([])
})

test('an old tab that never closes its connection: forget() and opening are not hung', async ({ context }) => {
  test.setTimeout(90_000)
  const [a, old] = [await context.newPage(), await context.newPage()]
  const errors = await watchErrors(a)
  await Promise.all([openHarness(a), openHarness(old)])
  await a.evaluate(async () => {
    window.rec = window.inpage.createRecommender({ consent: 'granted' })
    await window.rec.track({ type: 'view', itemId: 'A1', item: { title: 'Before forget' } })
  })
  // The old tab (an older build, a devtools session) holds the database open and ignores versionchange.
  await old.evaluate(async () => {
    ;(window as unknown as { held: IDBDatabase }).held = await new Promise<IDBDatabase>((res, rej) => {
      const r = indexedDB.open('inpage:default:history')
      r.onsuccess = () => res(r.result)
      r.onerror = () => rej(r.error)
    })
  })
  const forgot = await a.evaluate(async () => {
    const reported: { name: string; message: string }[] = []
    window.rec.on('error', (e) => reported.push(e))
    const t0 = performance.now()
    const res = await Promise.race([
      window.rec.forget().then(() => 'done', (e: Error) => `rejected ${e.name}`),
      new Promise((r) => setTimeout(() => r('hung'), 15_000)),
    ])
    const ms = performance.now() - t0
    // Tracking right after is not hung either: the open waits behind the pending delete, then gives up.
    const t1 = performance.now()
    const tracked = await Promise.race([
      window.rec.track({ type: 'view', itemId: 'A2', item: { title: 'After forget' } }).then(() => 'done'),
      new Promise((r) => setTimeout(() => r('hung'), 15_000)),
    ])
    return { res, ms, tracked, trackMs: performance.now() - t1, reported, status: window.rec.status(), ids: (await window.rec.exportData()).events.map((e) => e.itemId) }
  })
  expect(forgot.res).toBe('done')
  expect(forgot.ms).toBeLessThan(10_000)
  expect(forgot.tracked).toBe('done')
  expect(forgot.reported[0]?.name).toBe('StorageError')
  expect(forgot.reported[0]?.message).toMatch(/another tab/)
  expect(forgot.status.lastError?.name).toBe('StorageError')
  expect(forgot.ids).toEqual(['A2']) // A1 is gone from this page; A2 is kept in memory
  // A new tab opening now is not hung either (its open queues behind the pending delete).
  const fresh = await context.newPage()
  await openHarness(fresh)
  const opened = await fresh.evaluate(async () => {
    const rec = window.inpage.createRecommender({ consent: 'granted' })
    const res = await Promise.race([rec.ready().then(() => 'done'), new Promise((r) => setTimeout(() => r('hung'), 15_000))])
    return { res, status: rec.status() }
  })
  expect(opened.res).toBe('done')
  expect(opened.status.storage).toBe('memory') // says so, rather than waiting for the other tab
  expect(opened.status.storageFallback).toMatch(/StorageError/)
  // When the old tab lets go, the queued delete runs: A1 is erased for good.
  await old.evaluate(() => (window as unknown as { held: IDBDatabase }).held.close())
  await fresh.close()
  const check = await context.newPage()
  await openHarness(check)
  await expect
    .poll(async () => check.evaluate(async () => (await window.inpage.createRecommender().exportData()).events.map((e) => e.itemId)), { timeout: 10_000 })
    .not.toContain('A1')
  expect(await errors()).toEqual([])
})

// ---------------------------------------------------------------- HTML in catalog text

const PAYLOADS = [
  '<img src=x onerror="window.__xss=(window.__xss||0)+1">',
  '"><script>window.__xss=(window.__xss||0)+1</script>',
  '<svg onload="window.__xss=(window.__xss||0)+1"></svg>',
  "javascript:window.__xss=(window.__xss||0)+1",
  '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
  '{{constructor.constructor("window.__xss=1")()}}',
]

test('candidate and history text that is HTML creates no element and runs no script', async ({ page }) => {
  test.setTimeout(120_000)
  const errors = await watchErrors(page)
  const requests: string[] = []
  page.on('request', (r) => requests.push(new URL(r.url()).pathname))
  await openHarness(page)
  const r = await page.evaluate(
    async ({ model, payloads, glass }) => {
      const added: string[] = []
      const mo = new MutationObserver((recs) => recs.forEach((m) => m.addedNodes.forEach((n) => added.push(n.nodeName))))
      mo.observe(document, { childList: true, subtree: true, attributes: true, characterData: true })
      const rec = window.inpage.createRecommender({ model, consent: 'granted', backend: 'wasm' })
      // The shopper's history holds hostile titles too: they come back in reasons.
      for (let i = 0; i < payloads.length; i++)
        await rec.track({ type: 'view', itemId: `h${i}`, item: { title: `${payloads[i]} ${glass[i]!.title}`, brand: payloads[i], category: [...glass[i]!.category, payloads[i]!] } })
      await rec.track({ type: 'search', query: payloads[0]! })
      const cands = payloads.flatMap((p, i) => [
        { id: `c${i}`, title: p, brand: p, category: ['Industrial & Scientific', p], description: p },
        { id: `g${i}`, title: `${glass[10 + i]!.title} ${p}`, category: glass[10 + i]!.category },
      ])
      await rec.warmUp()
      const out = await rec.rerank(cands, { budgetMs: 30_000, query: payloads[1] })
      await new Promise((r) => setTimeout(r, 500)) // time for any injected handler to fire
      mo.disconnect()
      const reasons = out.items.flatMap((i) => i.reasons.map((x) => x.text))
      return {
        personalized: out.personalized,
        added,
        xss: (window as unknown as { __xss?: number }).__xss ?? 0,
        hostileReasons: reasons.filter((t) => t.includes('<')).length,
        bodyHTML: document.body.innerHTML,
      }
    },
    { model: MODEL, payloads: PAYLOADS, glass: glass.map(snap) },
  )
  expect(r.personalized).toBe(true)
  expect(r.hostileReasons).toBeGreaterThan(0) // reasons carry the text as text: rendering it is the site's job (textContent)
  expect(r.added).toEqual([]) // not one node added to the document by inpage
  expect(r.xss).toBe(0)
  expect(r.bodyHTML).not.toContain('onerror')
  expect(requests.filter((p) => p === '/x' || p.endsWith('/x'))).toEqual([]) // no <img src=x> was ever parsed
  expect(await errors()).toEqual([])
})

test('the built files contain no HTML sink and no eval: inpage never builds HTML', () => {
  const html = /\binnerHTML\b|\bouterHTML\b|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser|srcdoc|\beval\s*\(|new Function\s*\(|setTimeout\(\s*["'`]/
  // The page-side bundles create no element at all (the script-tag wiring only moves the page's own
  // nodes, holding their slots with comments). The worker has no DOM; ORT's canvas probe there is inert.
  const page = new RegExp(`${html.source}|\\bcreateElement\\s*\\(|setAttribute\\s*\\(|\\.src\\s*=`)
  for (const [f, re] of [['dist/inpage.js', page], ['dist/inpage.iife.js', page], ['dist/inpage.worker.js', html]] as const) {
    const m = readFileSync(f, 'utf8').match(re)
    expect(m?.[0] ?? 'none', `${f} has an HTML sink or eval`).toBe('none')
  }
})
