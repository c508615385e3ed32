// Privacy proofs in real Chromium: a strict Content Security Policy is enough, nothing of the shopper's
// is ever sent (URLs, bodies, headers, cookies), and forget() leaves nothing of inpage's behind.
import { test, expect, type Page, type Worker } from '@playwright/test'
import { readFileSync } from 'node:fs'
import { inCategory } from './catalog'
import { openHarness } from './helpers'
import { footprint as inPageFootprint } from './in-page'
// The policy scripts/serve.mjs sends with *.csp.html pages.
import { STRICT_CSP } from '../scripts/headers.mjs'
import { E2E_ORIGIN } from './ports'

const MODEL = '/models/inpage-sci-v1/'
const ORIGIN = E2E_ORIGIN
// The public vector's length a server would send with a candidate (the shipped model's dims.collab).
const SHIPPED = JSON.parse(readFileSync('public/models/inpage-sci-v1/manifest.json', 'utf8')) as { version: string; dims: { collab: number } }
const COLLAB_DIMS = SHIPPED.dims.collab
const CACHE = `inpage-model:inpage-sci-v1@${SHIPPED.version}`
const ORT_VERSION = (JSON.parse(readFileSync('node_modules/onnxruntime-web/package.json', 'utf8')) as { version: string }).version
const glass = inCategory('Glassware & Labware')
const glue = inCategory('Adhesives & Sealants')
const snap = (g: (typeof glass)[number]) => ({ title: g.title, brand: g.brand, category: g.category })
const seen = glass.slice(0, 4).map((g) => ({ id: g.id, item: snap(g) }))
const cands = [...glue.slice(0, 10), ...glass.slice(6, 16)]

// ---------------------------------------------------------------- Content Security Policy

/** Records every CSP violation: in the document, in every worker (the engine and ORT's threads), and in the console. */
async function watchCsp(page: Page) {
  const violations: string[] = []
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: string[] }
    w.__csp = []
    document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`document: ${e.violatedDirective} ${e.blockedURI}`))
  })
  const workers: Worker[] = []
  page.on('worker', (wk) => {
    workers.push(wk)
    wk.on('console', (m) => /Content Security Policy|Refused to/i.test(m.text()) && violations.push(`worker console: ${m.text()}`))
    void wk
      .evaluate(() => {
        const g = self as unknown as { __csp: string[] }
        g.__csp = []
        self.addEventListener('securitypolicyviolation', (e) => g.__csp.push(`worker: ${e.violatedDirective} ${e.blockedURI}`))
      })
      .catch(() => {})
  })
  page.on('console', (m) => /Content Security Policy|Refused to/i.test(m.text()) && violations.push(`console: ${m.text()}`))
  return async () => {
    // ORT's thread workers may sit in Atomics.wait and never answer: ask each for at most 2 s. A worker that does
    // not answer, or whose listener was never installed, gives null: it was not watched, and is not counted as clean.
    const ask = (w: Worker) =>
      Promise.race([
        w.evaluate(() => (self as unknown as { __csp?: string[] }).__csp ?? null).catch(() => null),
        new Promise<null>((r) => setTimeout(() => r(null), 2000)),
      ])
    const inWorkers = await Promise.all(workers.map(ask))
    const inDoc = await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)
    const watched = inWorkers.filter((v): v is string[] => v !== null)
    return { all: [...violations, ...inDoc, ...watched.flat()], workers: workers.length, watched: watched.length }
  }
}

/** The worker and ORT's files get the page's policy too, so the engine itself runs under it. */
function cspOnEngineFiles(page: Page, policy: string) {
  return page.route(/\/dist\/(inpage\.worker\.js|ort\/.*)$/, async (route) => {
    const res = await route.fetch()
    return route.fulfill({ response: res, headers: { ...res.headers(), 'content-security-policy': policy } })
  })
}

async function cspSession(page: Page) {
  await page.goto('/harness.csp.html')
  await page.waitForFunction(() => Boolean((window as unknown as { InPage?: unknown }).InPage))
  return page.evaluate(
    async ({ model, seen, cands }) => {
      const InPage = (window as unknown as { InPage: typeof window.inpage }).InPage
      const rec = InPage.createRecommender({ model, consent: 'granted' })
      await rec.track({ type: 'search', query: 'graduated beaker' })
      for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
      await rec.track({ type: 'add_to_cart', itemId: seen[0]!.id, item: seen[0]!.item })
      const warm = await rec.warmUp().then(
        () => 'ready',
        (e: Error) => `${e.name}: ${e.message}`,
      )
      const a = await rec.rerank(cands as never, { budgetMs: 60_000 })
      const b = await rec.rerank(cands as never, { budgetMs: 60_000, query: 'beaker', surface: 'search' })
      const st = rec.status()
      return {
        warm,
        policyIsStrict: document.querySelectorAll('script:not([src])').length === 0,
        a: { personalized: a.personalized, why: a.why, error: a.error, reasons: a.items.some((i) => i.reasons.length > 0) },
        b: { personalized: b.personalized, why: b.why },
        backend: st.engine.info?.backend,
        threads: st.engine.info?.threads,
        isolated: crossOriginIsolated,
      }
    },
    { model: MODEL, seen, cands },
  )
}

test('a strict CSP page (no unsafe-eval, no inline script) tracks, warms up and personalizes with zero violations', async ({ page }) => {
  test.setTimeout(180_000)
  const cspHeader: string[] = []
  page.on('response', (r) => r.url().endsWith('/harness.csp.html') && cspHeader.push(r.headers()['content-security-policy'] ?? ''))
  const violations = await watchCsp(page)
  await cspOnEngineFiles(page, STRICT_CSP)
  const r = await cspSession(page)
  expect(cspHeader).toEqual([STRICT_CSP])
  expect(STRICT_CSP).not.toMatch(/(^|\s)'unsafe-eval'/) // 'wasm-unsafe-eval' only
  expect(STRICT_CSP).toContain("script-src 'self' 'wasm-unsafe-eval'")
  expect(STRICT_CSP).toContain("worker-src 'self'")
  expect(r.warm).toBe('ready')
  expect(r.a).toMatchObject({ personalized: true, why: 'personalized', reasons: true })
  expect(r.b).toMatchObject({ personalized: true, why: 'personalized' })
  expect(r.backend).toBe('wasm')
  expect(r.isolated).toBe(true)
  const v = await violations()
  expect(v.watched).toBeGreaterThanOrEqual(1) // the engine worker answered with its own list: it was watched too
  expect(v.all).toEqual([])
})

test('control: the same checks do see violations, and without wasm-unsafe-eval the engine fails by name', async ({ page }) => {
  test.setTimeout(120_000)
  const violations = await watchCsp(page)
  // The engine's files under a policy that forbids compiling WebAssembly.
  await cspOnEngineFiles(page, "default-src 'self'; script-src 'self'; worker-src 'self'")
  const r = await cspSession(page)
  // A script from elsewhere is refused by the page's policy, and the listener hears it.
  await page.evaluate(() => {
    const s = document.createElement('script')
    s.src = 'https://example.invalid/x.js'
    document.body.append(s)
  })
  await expect.poll(async () => (await violations()).all.some((v) => v.includes('example.invalid'))).toBe(true)
  expect(r.warm).toMatch(/^(ModelLoadError|EngineError)/)
  expect(r.a.personalized).toBe(false)
  expect(['model-error', 'engine-error']).toContain(r.a.why)
  // The worker compiles ORT's wasm itself: the refusal comes in the named error, directive and all (the
  // browser logs nothing for it in the worker).
  expect(r.warm).toMatch(/^ModelLoadError: .*WebAssembly cannot be compiled here: .*Content Security Policy.*script-src/)
})

// ---------------------------------------------------------------- network audit

const SECRETS = {
  query: 'zqx-hydrofluoric-safety-goggles', // a search the shopper typed (tracked, and passed to rerank)
  rerankQuery: 'qzv-private-rerank-query',
  vector: 0.7315926535, // a distinctive float in the candidates' public vectors
  surface: 'zz-secret-surface',
}

test('network audit: a full session sends only GETs of its own library, model and wasm files, with nothing of the shopper in them', async ({ page, context }) => {
  test.setTimeout(180_000)
  const log: { method: string; url: string; body: string | null; headers: Record<string, string>; type: string; phase: string }[] = []
  let phase = 'page load'
  context.on('request', async (r) => {
    const entry = { method: r.method(), url: r.url(), body: r.postData(), headers: {} as Record<string, string>, type: r.resourceType(), phase }
    log.push(entry)
    entry.headers = await r.allHeaders().catch(() => ({}))
  })
  const setCookies: string[] = []
  context.on('response', async (r) => {
    const c = await r.headerValue('set-cookie').catch(() => null)
    if (c) setCookies.push(`${r.url()}: ${c}`)
  })
  const sockets: string[] = []
  page.on('websocket', (ws) => sockets.push(ws.url()))
  await openHarness(page)
  phase = 'session'
  const out = await page.evaluate(
    async ({ model, seen, cands, S, dims }) => {
      const rec = window.inpage.createRecommender({ model, consent: 'granted', backend: 'wasm' })
      await rec.track({ type: 'search', query: S.query, surface: S.surface })
      for (const s of seen) {
        await rec.track({ type: 'view', itemId: s.id, item: s.item, surface: S.surface })
        await rec.track({ type: 'dwell', itemId: s.id, item: s.item, dwellMs: 4200 })
      }
      await rec.track({ type: 'purchase', itemId: seen[0]!.id, item: seen[0]!.item })
      await rec.warmUp()
      const withVectors = cands.map((c, i) => ({ ...c, vector: Array.from({ length: dims }, (_, j) => (j === i % dims ? S.vector : 0.01 * j)) }))
      const a = await rec.rerank(withVectors as never, { budgetMs: 30_000, surface: S.surface })
      const b = await rec.rerank(withVectors as never, { budgetMs: 30_000, query: S.rerankQuery, surface: 'search' })
      const c = await rec.rerank(cands as never, { budgetMs: 30_000, query: S.query })
      await rec.exportData()
      await new Promise((r) => setTimeout(r, 1000)) // anything sent late (beacons, timers) is caught too
      return { why: [a.why, b.why, c.why], cookie: document.cookie, local: localStorage.length, session: sessionStorage.length }
    },
    { model: MODEL, seen, cands, S: SECRETS, dims: COLLAB_DIMS },
  )
  expect(out.why).toEqual(['personalized', 'personalized', 'personalized'])
  expect(sockets).toEqual([])
  expect(out.cookie).toBe('')
  expect(await context.cookies()).toEqual([])
  expect([out.local, out.session]).toEqual([0, 0])

  const secrets = [SECRETS.query, SECRETS.rerankQuery, SECRETS.surface, String(SECRETS.vector), ...seen.map((s) => s.id), 'hydrofluoric', 'private-rerank']
  // Headers a browser sends by itself; inpage adds none of its own.
  const browserHeaders = /^(accept|accept-encoding|accept-language|user-agent|referer|origin|range|cache-control|pragma|connection|host|upgrade-insecure-requests|sec-ch-ua(-.*)?|sec-fetch-(site|mode|dest|user|storage-access)|sec-purpose|if-none-match|if-modified-since|priority)$/
  expect(log.length).toBeGreaterThan(5)
  expect(log.filter((r) => Object.keys(r.headers).length === 0)).toEqual([]) // every request's headers were read
  for (const r of log) {
    const where = `${r.method} ${r.url} (${r.phase})`
    expect(r.method, where).toBe('GET')
    expect(r.body, where).toBeNull()
    const u = new URL(r.url)
    expect(u.origin, where).toBe(ORIGIN)
    expect(u.search + u.hash, where).toBe('')
    expect(u.username + u.password, where).toBe('')
    for (const name of Object.keys(r.headers)) expect(name, `${where}: header ${name}`).toMatch(browserHeaders)
    expect(r.headers.cookie, where).toBeUndefined()
    const blob = `${r.url}\n${JSON.stringify(r.headers)}`
    for (const s of secrets) expect(blob, `${where} carries "${s}"`).not.toContain(s)
    if (r.phase === 'page load') expect(u.pathname, where).toMatch(/^\/(|dist\/inpage\.js)$/)
    // During the session: the worker, ORT's glue and wasm (plain, or asyncify for WebGPU), and the model's files. Nothing else.
    else expect(u.pathname, where).toMatch(/^\/(dist\/inpage\.worker\.js|dist\/ort\/ort-wasm-simd-threaded(\.asyncify)?\.(mjs|wasm)|models\/inpage-sci-v1\/[\w.-]+)$/)
  }
  const paths = log.filter((r) => r.phase === 'session').map((r) => new URL(r.url).pathname)
  expect(paths.some((p) => p.endsWith('.wasm'))).toBe(true)
  expect(paths.filter((p) => p.endsWith('.onnx')).length).toBe(2)
  expect(paths.filter((p) => p.endsWith('/manifest.json')).length).toBe(1)
  // Each model file is fetched once per session: rerank calls send nothing.
  const modelPaths = paths.filter((p) => p.startsWith(MODEL))
  expect(new Set(modelPaths).size).toBe(modelPaths.length)
  // No response set a cookie either.
  expect(setCookies).toEqual([])
})

// ---------------------------------------------------------------- forget()

const footprint = (page: Page) => page.evaluate(inPageFootprint)

test('forget() after a full session leaves nothing of inpage in IndexedDB, the Cache API, web storage or cookies', async ({ page }) => {
  test.setTimeout(180_000)
  await openHarness(page)
  const before = await page.evaluate(
    async ({ model, seen, cands }) => {
      window.rec = window.inpage.createRecommender({ model, consent: 'granted', backend: 'wasm' })
      await window.rec.track({ type: 'search', query: 'volumetric flask' })
      for (const s of seen) await window.rec.track({ type: 'view', itemId: s.id, item: s.item })
      await window.rec.warmUp()
      const a = await window.rec.rerank(cands as never, { budgetMs: 30_000, query: 'flask' })
      await new Promise((r) => setTimeout(r, 500)) // the vector cache writes after answering
      return { why: a.why }
    },
    { model: MODEL, seen, cands },
  )
  expect(before.why).toBe('personalized')
  const full = await footprint(page)
  expect(full.databases).toEqual(['inpage:default:history', 'inpage:default:vectors'])
  // The model's files, ORT's wasm (issue 15) and the last manifest read (for an offline reload): all public, all erased below.
  expect([...full.caches].sort()).toEqual([CACHE, 'inpage-model:latest', `inpage-model:onnxruntime-web@${ORT_VERSION}`].sort())
  expect(await page.evaluate(async (name) => (await caches.open(name)).keys().then((k) => k.length), CACHE)).toBeGreaterThan(4)

  await page.evaluate(async () => {
    await window.rec.forget()
    await new Promise((r) => setTimeout(r, 1000)) // nothing comes back late (vector writes, other tabs)
  })
  expect(await footprint(page)).toEqual({ databases: [], caches: [], local: [], session: [], cookie: '' })
  expect(await page.evaluate(async () => ({ events: window.rec.status().events, exported: (await window.rec.exportData()).events.length }))).toEqual({
    events: 0,
    exported: 0,
  })

  // A reload finds nothing either: no history, no remembered grant.
  await page.reload()
  await page.waitForFunction(() => Boolean(window.inpage))
  const fresh = await page.evaluate(async () => {
    const rec = window.inpage.createRecommender()
    await rec.ready()
    return { consent: rec.status().consent, events: (await rec.exportData()).events.length }
  })
  expect(fresh).toEqual({ consent: 'pending', events: 0 })
  expect(await footprint(page)).toEqual({ databases: [], caches: [], local: [], session: [], cookie: '' })
})

test("setConsent('denied') after a session erases the item-vector cache too, not only the history", async ({ page }) => {
  test.setTimeout(120_000)
  await openHarness(page)
  const r = await page.evaluate(
    async ({ model, seen, cands }) => {
      const rec = window.inpage.createRecommender({ model, consent: 'granted', backend: 'wasm' })
      for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
      await rec.warmUp()
      const a = await rec.rerank(cands as never, { budgetMs: 30_000 })
      await new Promise((r) => setTimeout(r, 500))
      const names = async () => (await indexedDB.databases()).map((d) => d.name!).filter((n) => n.startsWith('inpage')).sort()
      const during = await names()
      await rec.setConsent('denied')
      await new Promise((r) => setTimeout(r, 500))
      return { why: a.why, during, after: await names(), caches: (await caches.keys()).filter((k) => k.startsWith('inpage')) }
    },
    { model: MODEL, seen, cands },
  )
  expect(r.why).toBe('personalized')
  expect(r.during).toEqual(['inpage:default:history', 'inpage:default:vectors'])
  // The vector cache's keys are item ids of what this shopper viewed: denied keeps none of it.
  expect(r.after).toEqual([])
  expect(r.caches).toEqual([])

  // Denied from the start (the site's option after a revocation, or GPC): leftovers of an earlier grant go too.
  await page.evaluate(async ({ model, version }) => {
    const rec = window.inpage.createRecommender({ model, consent: 'granted', backend: 'wasm' })
    await rec.warmUp() // model files cached again
    const db = await new Promise<IDBDatabase>((res) => {
      const q = indexedDB.open('inpage:default:vectors')
      q.onupgradeneeded = () => q.result.createObjectStore('kv')
      q.onsuccess = () => res(q.result)
    })
    const tx = db.transaction('kv', 'readwrite')
    tx.objectStore('kv').put(new Float32Array(4), `inpage-sci-v1@${version}|B000LEFTOVER|x`)
    await new Promise((r) => (tx.oncomplete = r))
    db.close()
    await rec.dispose()
  }, { model: MODEL, version: SHIPPED.version })
  await page.reload()
  await page.waitForFunction(() => Boolean(window.inpage))
  const later = await page.evaluate(async (model) => {
    const rec = window.inpage.createRecommender({ model, consent: 'denied' })
    await rec.ready()
    await new Promise((r) => setTimeout(r, 500))
    return {
      dbs: (await indexedDB.databases()).map((d) => d.name!).filter((n) => n.startsWith('inpage')),
      caches: (await caches.keys()).filter((k) => k.startsWith('inpage')),
    }
  }, MODEL)
  expect(later).toEqual({ dbs: [], caches: [] })
})

test('consent pending: reranking with the in-memory history writes no database (item-vector cache included)', async ({ page }) => {
  // The item-vector cache's keys (`<model>|<itemId>|<hash>`) tell which items this shopper saw, so the
  // worker keeps it in memory only until consent is granted.
  test.setTimeout(120_000)
  await openHarness(page)
  const r = await page.evaluate(
    async ({ model, seen, cands }) => {
      const rec = window.inpage.createRecommender({ model, backend: 'wasm' }) // consent: pending
      for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
      await rec.warmUp()
      const a = await rec.rerank(cands as never, { budgetMs: 30_000 })
      await new Promise((r) => setTimeout(r, 800))
      return { consent: rec.status().consent, why: a.why, dbs: (await indexedDB.databases()).map((d) => d.name!).filter((n) => n.startsWith('inpage')) }
    },
    { model: MODEL, seen, cands },
  )
  expect(r.consent).toBe('pending')
  expect(r.why).toBe('personalized') // pending still personalizes, from memory
  expect(r.dbs).toEqual([])
})
