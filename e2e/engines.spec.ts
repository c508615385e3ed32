// The library's promises in the two other engines shoppers use: Firefox (ESR, over WebDriver BiDi) and
// WebKit (WebKitGTK's MiniBrowser, WebDriver), driven by scripts/engines.mjs against the same built files and
// the same static server as the Chromium suites. Their network is not visible to these drivers, so requests
// are counted at the server (GET /__requests). One browser process per engine, reused across its tests (each
// starts from an empty origin; after a failure Playwright starts a fresh worker, hence a fresh browser); a
// browser that is missing or does not start fails the suite (setup.sh installs both), it never skips.
import { test, expect, type Browser } from '@playwright/test'
import { readFileSync } from 'node:fs'
import { launchEngine, type EngineName, type EngineSession } from '../scripts/engines.mjs'
import { STRICT_CSP } from '../scripts/headers.mjs'
import { inCategory, packPage } from './catalog'
import { item } from './helpers'
import { footprint, libraryLoaded, rerankWith, resetOrigin, trackPurchases, type Bought } from './in-page'
import { E2E_ORIGIN } from './ports'
import type * as InPage from '../src/index'
import type { RerankResult } from '../src/index'

type Win = Window & { inpage: typeof InPage; rec: InPage.Recommender; InPage: typeof InPage & { recommender?: InPage.Recommender; embed?: { refresh(): Promise<RerankResult[]> } }; cspViolations: string[] }

const MODEL = '/models/inpage-sci-v1/'
const SHIPPED = JSON.parse(readFileSync('public/models/inpage-sci-v1/manifest.json', 'utf8')) as { version: string }
const ORT_VERSION = (JSON.parse(readFileSync('node_modules/onnxruntime-web/package.json', 'utf8')) as { version: string }).version
/** The Cache Storage a loaded model leaves: its files, ORT's wasm, and the last manifest read (for offline reloads). */
const CACHES = [`inpage-model:inpage-sci-v1@${SHIPPED.version}`, `inpage-model:onnxruntime-web@${ORT_VERSION}`, 'inpage-model:latest'].sort()
const snap = (g: Bought): Bought => ({ id: g.id, title: g.title, brand: g.brand, category: g.category })
const glass = inCategory('Glassware & Labware').map(snap)
const glue = inCategory('Adhesives & Sealants').map(snap)
// The rerank suite's shopper and page: bought 3 glassware items; 20 adhesives first, then 20 glassware.
const history = glass.slice(0, 3)
const page40 = [...glue.slice(0, 20), ...glass.slice(3, 23)]
/** Scores are the same computation on the same wasm build; engines differ only in float rounding of JS math. */
const SCORE_TOLERANCE = 1e-4

/** What differs by engine, measured on this machine (README, "Browsers"). */
const ENGINE = {
  firefox: {
    // SharedArrayBuffer exists under COOP/COEP: ORT's threads run.
    threads: /^cross-origin isolated: \d threads$/,
    // persist() opens a permission prompt that nobody answers in a headless browser: the answer never comes.
    persistence: 'asking',
    // Firefox implements GPC: its preference turns it on for real.
    gpc: { prefs: { 'privacy.globalprivacycontrol.enabled': true }, page: '/' },
    modelCachedAcrossLoads: true,
  },
  webkit: {
    // crossOriginIsolated is true but there is no SharedArrayBuffer: one thread, and status() says so.
    threads: /^cross-origin isolated, but this browser has no SharedArrayBuffer: 1 thread$/,
    // WebKitGTK has no navigator.storage at all.
    persistence: 'unsupported',
    // No GPC in WebKit: the page sets the signal as a browser exposes it, before the library loads.
    gpc: { prefs: undefined, page: '/gpc.html' },
    // MiniBrowser under WebDriver runs an ephemeral session (a private window): its Cache Storage keeps the
    // cache's name but not its entries across a navigation (IndexedDB survives). So every page load downloads
    // the model again, and verifies it again before use.
    modelCachedAcrossLoads: false,
  },
} as const

interface Logged {
  method: string
  url: string
  headers: Record<string, string>
  bodyBytes: number
  csp: boolean
}
const serverLog = async (): Promise<Logged[]> => (await fetch(`${E2E_ORIGIN}/__requests`)).json()

let chromiumOrder: Promise<RerankResult> | undefined
/** Chromium's personalized order for the same shopper and page, computed once in this run. */
function chromiumReference(browser: Browser) {
  chromiumOrder ??= (async () => {
    const page = await browser.newPage({ baseURL: E2E_ORIGIN })
    await page.goto('/')
    await page.evaluate(libraryLoaded)
    await page.evaluate(trackPurchases, { model: MODEL, events: history, consent: 'granted' as const, name: 'parity' })
    const out = await page.evaluate(rerankWith, { candidates: page40 })
    await page.close()
    return out
  })()
  return chromiumOrder
}

for (const name of ['firefox', 'webkit'] as const satisfies readonly EngineName[]) {
  test.describe(name, () => {
    // A slow engine on a busy 2-core machine: each test loads the model from scratch (WebKit: one thread).
    test.describe.configure({ timeout: 180_000 })
    const expected = ENGINE[name]
    let s: EngineSession
    let ua = ''
    /** Requests since `from` (the server log's length then): all of them this engine's, none without its user agent. */
    const requestsSince = async (from: number) => {
      const since = (await serverLog()).slice(from)
      expect(since.filter((r) => r.headers['user-agent'] !== ua).map((r) => r.url)).toEqual([])
      return since
    }
    /** The model's files (not its manifest, which every load asks for) and ORT's wasm this engine fetched since `from`. */
    const modelFilesSince = async (from: number) =>
      (await requestsSince(from)).map((r) => r.url).filter((u) => (u.startsWith(MODEL) && !u.endsWith('/manifest.json')) || u.endsWith('.wasm')).sort()
    /** The harness page with the library loaded. */
    const reload = async () => {
      await s.goto(`${E2E_ORIGIN}/`)
      await s.run(libraryLoaded)
    }
    /** The harness page on a fresh origin: nothing of earlier tests. */
    const open = async () => {
      await reload()
      // The previous page's worker may still be finishing a write (a model file into Cache Storage) as it dies: the
      // origin is empty only once it stays empty.
      for (let i = 0; i < 10; i++) {
        await s.run(resetOrigin)
        await new Promise((r) => setTimeout(r, 300))
        const left = await s.run(footprint)
        if (!left.databases.length && !left.caches.length) return
      }
      throw new Error('the origin kept being written to after reset')
    }

    test.beforeAll(async () => {
      test.setTimeout(120_000)
      s = await launchEngine(name)
      await s.goto(`${E2E_ORIGIN}/`)
      ua = await s.run(() => navigator.userAgent)
      console.log(`${name}: ${s.version}`)
    })
    test.afterAll(async () => {
      await s?.close()
    })
    test.afterEach(() => {
      expect(s.errors.splice(0)).toEqual([]) // uncaught page errors, where the driver sees them (Firefox)
    })

    test('history persists across a reload; the grant is remembered', async () => {
      await open()
      await s.run(async (it) => {
        const w = window as unknown as Win
        const rec = w.inpage.createRecommender({ consent: 'granted' })
        await rec.track({ type: 'view', itemId: 'A1', item: it, surface: 'category' })
        await rec.track({ type: 'purchase', itemId: 'A1', item: it })
      }, item(1))
      await reload()
      const after = await s.run(async () => {
        const rec = (window as unknown as Win).inpage.createRecommender()
        await rec.ready()
        return { consent: rec.status().consent, events: (await rec.exportData()).events.map((e) => `${e.type}:${e.itemId}`) }
      })
      expect(after).toEqual({ consent: 'granted', events: ['view:A1', 'purchase:A1'] })
    })

    test('two documents writing 500 events each at once keep all 1,000', async () => {
      // Two same-origin iframes, each with its own recommender (own tab id and connection): WebDriver runs one
      // script at a time per session, so the two writers live in one page's frames rather than two windows.
      await open()
      const ids = await s.run(async () => {
        const frames = await Promise.all(
          ['a', 'b'].map(
            (tag) =>
              new Promise<{ tag: string; win: Win }>((ok) => {
                const f = document.createElement('iframe')
                f.src = '/'
                f.onload = async () => {
                  const win = f.contentWindow as unknown as Win
                  while (!win.inpage) await new Promise((r) => setTimeout(r, 20))
                  ok({ tag, win })
                }
                document.body.append(f)
              }),
          ),
        )
        await Promise.all(
          frames.map(async ({ tag, win }) => {
            const rec = win.inpage.createRecommender({ consent: 'granted' })
            await rec.ready()
            const writes = []
            for (let i = 0; i < 500; i++) {
              writes.push(rec.track({ type: 'view', itemId: `${tag}${i}`, item: { title: `t${i}` } }))
              if (i % 50 === 49) await new Promise((r) => setTimeout(r, 0)) // interleave the two writers' batches
            }
            await Promise.all(writes)
          }),
        )
        return (await (window as unknown as Win).inpage.createRecommender().exportData()).events.map((e) => e.itemId!)
      })
      expect(ids).toHaveLength(1000)
      expect(new Set(ids).size).toBe(1000)
    })

    test('consent: pending stores nothing, granted stores and only then asks for persistent storage, denied erases', async () => {
      await open()
      const pending = await s.run(async (it) => {
        const w = window as unknown as Win
        w.rec = w.inpage.createRecommender()
        await w.rec.track({ type: 'view', itemId: 'P', item: it })
        await new Promise((r) => setTimeout(r, 100))
        const st = w.rec.status()
        return { consent: st.consent, events: st.events, persistence: st.persistence, dbs: (await indexedDB.databases()).map((d) => d.name).filter((n) => n?.startsWith('inpage')) }
      }, item(3))
      expect(pending).toEqual({ consent: 'pending', events: 1, persistence: 'not-asked', dbs: [] })

      const granted = await s.run(async (it) => {
        const w = window as unknown as Win
        await w.rec.setConsent('granted')
        await w.rec.track({ type: 'view', itemId: 'G', item: it })
        await new Promise((r) => setTimeout(r, 200))
        return { persistence: w.rec.status().persistence, ids: (await w.rec.exportData()).events.map((e) => e.itemId) }
      }, item(4))
      expect(granted).toEqual({ persistence: expected.persistence, ids: ['P', 'G'] })
      await reload()
      expect(await s.run(async () => (await (window as unknown as Win).inpage.createRecommender().exportData()).events.map((e) => e.itemId))).toEqual(['P', 'G'])

      const denied = await s.run(async (it) => {
        const w = window as unknown as Win
        const rec = w.inpage.createRecommender()
        await rec.setConsent('denied')
        await rec.track({ type: 'view', itemId: 'D', item: it })
        return { events: (await rec.exportData()).events.length, dbs: (await indexedDB.databases()).map((d) => d.name).filter((n) => n?.startsWith('inpage')) }
      }, item(5))
      expect(denied).toEqual({ events: 0, dbs: [] })
    })

    test('Global Privacy Control means denied until the site grants', async () => {
      // Firefox: a second browser process with GPC on in its preferences. WebKit: the emulating page.
      const gpc = expected.gpc.prefs ? await launchEngine(name, { prefs: expected.gpc.prefs }) : s
      try {
        await gpc.goto(`${E2E_ORIGIN}${expected.gpc.page}`)
        await gpc.run(libraryLoaded)
        await gpc.run(resetOrigin)
        const r = await gpc.run(async (it) => {
          const rec = (window as unknown as Win).inpage.createRecommender()
          await rec.ready()
          const before = rec.status().consent
          await rec.track({ type: 'view', itemId: 'N', item: it })
          const kept = (await rec.exportData()).events.length
          await rec.setConsent('granted') // the site asked the shopper, who said yes
          await rec.track({ type: 'view', itemId: 'Y', item: it })
          return { signal: (navigator as Navigator & { globalPrivacyControl?: boolean }).globalPrivacyControl, before, kept, after: rec.status().consent, ids: (await rec.exportData()).events.map((e) => e.itemId) }
        }, item(6))
        expect(r).toEqual({ signal: true, before: 'denied', kept: 0, after: 'granted', ids: ['Y'] })
      } finally {
        if (gpc !== s) await gpc.close()
      }
    })

    test('a vanished history (the browser erased storage between visits) is a cold start, never an error', async () => {
      await open()
      await s.run(async (it) => {
        await (window as unknown as Win).inpage.createRecommender({ consent: 'granted' }).track({ type: 'purchase', itemId: 'V1', item: it })
      }, item(7))
      await reload()
      expect(await s.run(footprint)).toMatchObject({ databases: ['inpage:default:history'] })
      // What Safari does after 7 days without a visit, or when a private window closes: the origin's storage is gone.
      await s.run(resetOrigin)
      await reload()
      const r = await s.run(async ({ model, candidates }) => {
        const w = window as unknown as Win
        const errors: string[] = []
        const rec = w.inpage.createRecommender({ model, backend: 'wasm' })
        rec.on('error', (e) => errors.push(e.name))
        const out = await rec.rerank(candidates as never, { budgetMs: 60_000 })
        return { why: out.why, personalized: out.personalized, ids: out.items.map((i) => i.id), consent: rec.status().consent, lastError: rec.status().lastError ?? null, errors }
      }, { model: MODEL, candidates: page40 })
      expect(r).toEqual({ why: 'no-history', personalized: false, ids: page40.map((c) => c.id), consent: 'pending', lastError: null, errors: [] })
    })

    test('the model loads verified, on WASM with the threads status() reports, and is cached (a reload fetches no model bytes where the engine keeps Cache Storage)', async () => {
      await open()
      const first = await serverLog().then((l) => l.length)
      const info = await s.run(async (model) => {
        const w = window as unknown as Win
        w.rec = w.inpage.createRecommender({ model, consent: 'granted' }) // backend 'auto'
        await w.rec.warmUp()
        return { ...w.rec.status().engine.info!, cores: navigator.hardwareConcurrency, sab: typeof SharedArrayBuffer, isolated: crossOriginIsolated }
      }, MODEL)
      expect(info.backend).toBe('wasm')
      expect(info.dropped).toEqual([{ backend: 'webgpu', reason: 'navigator.gpu is not available in this browser or context' }])
      expect(info.isolated).toBe(true)
      expect(info.threadsReason).toMatch(expected.threads)
      expect(info.threads).toBe(info.sab === 'function' ? Math.min(4, info.cores) : 1)
      expect(info.fromCache).toBe(false)
      const fetched = await modelFilesSince(first)
      expect(fetched.filter((u) => u.endsWith('.onnx')).length).toBe(2)
      expect(fetched.filter((u) => u.endsWith('.wasm'))).toEqual(['/dist/ort/ort-wasm-simd-threaded.wasm']) // the plain build: no WebGPU here

      await reload()
      const again = await serverLog().then((l) => l.length)
      const cached = await s.run(async (model) => {
        const w = window as unknown as Win
        const rec = w.inpage.createRecommender({ model, consent: 'granted', backend: 'wasm' })
        await rec.warmUp()
        return { fromCache: rec.status().engine.info!.fromCache, caches: (await caches.keys()).sort() }
      }, MODEL)
      expect(cached).toEqual({ fromCache: expected.modelCachedAcrossLoads, caches: CACHES })
      // Cached: only the manifest. Not kept by the engine: every file again (each verified: fromCache false, loaded).
      expect(await modelFilesSince(again)).toEqual(expected.modelCachedAcrossLoads ? [] : fetched)
    })

    test("a personalized rerank with reasons gives Chromium's order on the same inputs", async ({ browser }) => {
      test.setTimeout(300_000) // Chromium's reference run too
      const reference = await chromiumReference(browser)
      await open()
      await s.run(trackPurchases, { model: MODEL, events: history, consent: 'granted' as const, name: 'parity' })
      const out = await s.run(rerankWith, { candidates: page40 })
      expect(reference.why).toBe('personalized')
      expect(out).toMatchObject({ personalized: true, why: 'personalized', backend: 'wasm' })
      expect(out.items.map((i) => i.id)).toEqual(reference.items.map((i) => i.id)) // the same top 10, in the same order
      let worst = 0
      out.items.forEach((it, i) => {
        const ref = reference.items[i]!
        worst = Math.max(worst, Math.abs(it.score - ref.score), Math.abs(it.personal - ref.personal))
        expect(it.reasons.map((r) => r.itemId)).toEqual(ref.reasons.map((r) => r.itemId))
      })
      console.log(`${name}: largest score difference to Chromium ${worst.toExponential(2)}`)
      expect(worst).toBeLessThan(SCORE_TOLERANCE)
      expect(out.items.some((i) => i.reasons.length > 0 && /^Because you (viewed|bought) '/.test(i.reasons[0]!.text))).toBe(true)
    })

    test('the general model with a pack: a 100-item category page personalized with no onnxruntime or model file, which load at idle; then a search runs on WASM', async () => {
      await open()
      const first = await serverLog().then((l) => l.length)
      const { seen, cands } = packPage(100)
      const r = await s.run(async ({ seen, cands }) => {
        const w = window as unknown as Win
        w.rec = w.inpage.createRecommender({ model: '/models/inpage-general-v1/', catalog: '/packs/general/', consent: 'granted', name: 'general' })
        for (const x of seen) await w.rec.track({ type: 'view', itemId: x.id, item: x.item })
        const out = await w.rec.rerank(cands as never, { budgetMs: 120_000 })
        const e = w.rec.status().engine
        return { why: out.why, backend: out.backend, moved: out.items.some((it, i) => it.id !== cands[i]!.id), info: e.info, encoder: e.encoder }
      }, { seen, cands })
      expect(r).toMatchObject({ why: 'personalized', backend: 'js', moved: true, encoder: 'on-demand', info: { userModel: 'closed-form', runtimeLoaded: false } })
      const before = (await requestsSince(first)).map((x) => x.url)
      expect(before.filter((u) => /\/ort\/|\.onnx$|tokenizer/.test(u))).toEqual([])
      // preload 'idle': onnxruntime and the encoder follow without a call; a search then runs on them.
      const later = await s.run(async ({ cands }) => {
        const w = window as unknown as Win
        const t = performance.now()
        while (w.rec.status().engine.encoder !== 'ready' && performance.now() - t < 150_000) await new Promise((r) => setTimeout(r, 200))
        const q = await w.rec.rerank(cands as never, { query: 'glass beaker', budgetMs: 120_000 })
        return { encoder: w.rec.status().engine.encoder, runtime: w.rec.status().engine.info?.runtimeLoaded, why: q.why, backend: q.backend }
      }, { cands })
      expect(later).toEqual({ encoder: 'ready', runtime: true, why: 'personalized', backend: 'wasm' })
      expect((await requestsSince(first)).map((x) => x.url)).toEqual(expect.arrayContaining(['/models/inpage-general-v1/encoder.int8.onnx', '/dist/ort/ort-wasm-simd-threaded.wasm']))
    })

    test('a tampered model is refused with ModelIntegrityError and the server order', async () => {
      await open()
      const r = await s.run(async ({ model, candidates }) => {
        const rec = (window as unknown as Win).inpage.createRecommender({ model, consent: 'granted', backend: 'wasm', name: 'tampered' })
        await rec.track({ type: 'view', itemId: 'h1', item: { title: 'Digital caliper', category: ['Industrial & Scientific', 'Measuring'] } })
        const loadError = await rec.warmUp().then(() => 'loaded', (e: Error) => e.name)
        const out = await rec.rerank(candidates as never, { budgetMs: 60_000 })
        return { loadError, why: out.why, error: out.error?.name, ids: out.items.map((i) => i.id), engine: rec.status().engine.state }
      }, { model: `/tampered${MODEL}`, candidates: page40.slice(0, 5) })
      expect(r).toEqual({ loadError: 'ModelIntegrityError', why: 'model-error', error: 'ModelIntegrityError', ids: page40.slice(0, 5).map((c) => c.id), engine: 'error' })
    })

    test('forget() after a full session leaves no IndexedDB database, Cache Storage entry or storage key', async () => {
      await open()
      await s.run(trackPurchases, { model: MODEL, events: history, consent: 'granted' as const })
      const why = await s.run(async (arg) => {
        const out = await (window as unknown as Win).rec.rerank(arg.candidates as never, { budgetMs: 60_000, query: 'flask' })
        await new Promise((r) => setTimeout(r, 500)) // the vector cache writes after answering
        return out.why
      }, { candidates: page40 })
      expect(why).toBe('personalized')
      expect(await s.run(footprint)).toMatchObject({ databases: ['inpage:default:history', 'inpage:default:vectors'], caches: CACHES })
      await s.run(async () => {
        await (window as unknown as Win).rec.forget()
        await new Promise((r) => setTimeout(r, 1000)) // nothing comes back late
      })
      const empty = { databases: [], caches: [], local: [], session: [], cookie: '' }
      expect(await s.run(footprint)).toEqual(empty)
      await reload()
      expect(await s.run(async () => (await (window as unknown as Win).inpage.createRecommender().exportData()).events.length)).toBe(0)
      expect(await s.run(footprint)).toEqual(empty)
    })

    test('the script tag reorders a list under the strict CSP (page, library, worker and ORT files), with no violation', async () => {
      await open()
      const from = await serverLog().then((l) => l.length)
      await s.goto(`${E2E_ORIGIN}/csp/script-tag.csp.html`)
      const r = await s.run(async () => {
        const w = window as unknown as Win
        while (!w.InPage?.recommender) await new Promise((r) => setTimeout(r, 20))
        const ids = () => [...document.querySelectorAll<HTMLElement>('ul[data-inpage-rerank] > li')].map((e) => e.dataset.inpageItem!)
        const before = ids()
        const nodes = [...document.querySelectorAll('ul[data-inpage-rerank] > li')]
        for (const id of ['csp-g1', 'csp-g2']) document.querySelector<HTMLElement>(`[data-inpage-item="${id}"] button`)!.click()
        await w.InPage.recommender!.flush()
        const [res] = await w.InPage.embed!.refresh()
        const after = ids()
        return {
          before,
          after,
          res: { personalized: res!.personalized, why: res!.why, error: res!.error ? `${res!.error.name}: ${res!.error.message}` : null, ids: res!.items.map((i) => i.id), personal: res!.items.map((i) => [i.id, i.personal] as const) },
          sameNodes: [...document.querySelectorAll('ul[data-inpage-rerank] > li')].every((el) => nodes.includes(el)),
          purchases: (await w.InPage.recommender!.exportData()).events.filter((e) => e.type === 'purchase').length,
          violations: w.cspViolations,
          inlineScripts: document.querySelectorAll('script:not([src])').length,
        }
      })
      expect(r.purchases).toBe(2)
      expect(r.res).toMatchObject({ personalized: true, why: 'personalized', error: null })
      expect(r.after).toEqual(r.res.ids)
      expect(r.after).not.toEqual(r.before)
      expect(r.after[0]!.startsWith('csp-g')).toBe(true)
      const personal = (kind: string) => r.res.personal.filter(([id]) => id.startsWith(kind)).map(([, p]) => p)
      expect(Math.min(...personal('csp-g'))).toBeGreaterThan(Math.max(...personal('csp-a')))
      expect(r.sameNodes).toBe(true) // the page's own nodes, moved
      expect(r.violations).toEqual([])
      expect(r.inlineScripts).toBe(0)
      // Every file the page and its worker ran came with the strict policy.
      const served = await requestsSince(from)
      const scripts = served.filter((q) => /\.(html|js|mjs|wasm)$/.test(q.url))
      expect(scripts.map((q) => q.url)).toEqual(expect.arrayContaining(['/csp/script-tag.csp.html', '/csp/dist/inpage.iife.js', '/csp/dist/inpage.worker.js']))
      expect(scripts.filter((q) => !q.csp)).toEqual([])
      expect(STRICT_CSP).not.toMatch(/(^|\s)'unsafe-eval'/)
    })

    test('no request carries the history: only GETs of the library, worker, ORT and model files', async () => {
      await open()
      const from = await serverLog().then((l) => l.length)
      const secrets = ['zqx-hydrofluoric-goggles', 'qzv-private-rerank-query', 'zz-secret-surface', ...history.map((h) => h.id)]
      const why = await s.run(async ({ model, history, candidates, secrets }) => {
        const w = window as unknown as Win
        const rec = w.inpage.createRecommender({ model, consent: 'granted', backend: 'wasm' })
        await rec.track({ type: 'search', query: secrets[0]!, surface: secrets[2] })
        for (const h of history) await rec.track({ type: 'purchase', itemId: h.id, item: { title: h.title, brand: h.brand, category: h.category }, surface: secrets[2] })
        const out = await rec.rerank(candidates as never, { budgetMs: 60_000, query: secrets[1], surface: 'search' })
        await rec.exportData()
        await new Promise((r) => setTimeout(r, 1000)) // anything sent late is caught too
        return out.why
      }, { model: MODEL, history, candidates: page40, secrets })
      expect(why).toBe('personalized')
      const sent = await requestsSince(from)
      expect(sent.length).toBeGreaterThan(3)
      for (const r of sent) {
        expect(r.method, r.url).toBe('GET')
        expect(r.bodyBytes, r.url).toBe(0)
        expect(r.url, r.url).not.toContain('?')
        expect(r.headers.cookie, r.url).toBeUndefined()
        expect(r.url).toMatch(/^\/(dist\/inpage\.worker\.js|dist\/ort\/ort-wasm-simd-threaded\.(mjs|wasm)|models\/inpage-sci-v1\/[\w.-]+)$/)
        const blob = `${r.url}\n${JSON.stringify(r.headers)}`
        for (const secret of secrets) expect(blob, `${r.url} carries ${secret}`).not.toContain(secret)
      }
    })
  })
}
