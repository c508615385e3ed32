// Hostile use of the built bundles in real Chromium, organised by the promise each group defends:
//   consent       a denial is final, whatever the interleaving of calls and reloads
//   never-reject  rerank() resolves (server order, a `why`) whatever happens to the worker or model
//   host page     track() and the script tag never throw into the page, whatever the markup or burst
//   forget        erasing is at once, before derived caches, and nothing comes back
//   numbers       bad options are refused by name; non-finite or overflowing numbers are never "personalized"
// The interleavings and numbers are property-based (fast-check, fixed seed; FUZZ_SEED explores others).
import { test, expect, type Page } from '@playwright/test'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { inCategory } from './catalog'
import { inpageDatabases, openHarness } from './helpers'
import type * as Api from '../src/embed/script-tag'

const SEED = Number(process.env.FUZZ_SEED ?? 20261130)
const MODEL = '/models/inpage-sci-v1/'
const SHIPPED = JSON.parse(readFileSync('public/models/inpage-sci-v1/manifest.json', 'utf8')) as { version: string; dims: { collab: number; text: number } }
const glass = inCategory('Glassware & Labware')
const glue = inCategory('Adhesives & Sealants')
const snap = (g: (typeof glass)[number]) => ({ title: g.title, brand: g.brand, category: g.category })
const seen = glass.slice(0, 4).map((g) => ({ id: g.id, item: snap(g) }))
const cands = [...glue.slice(0, 10), ...glass.slice(6, 16)].map((g) => ({ id: g.id, ...snap(g) }))
const WHYS = ['personalized', 'no-history', 'consent', 'warming-up', 'budget', 'engine-error', 'model-error', 'no-model']

/** Uncaught exceptions and unhandled rejections of the page, for a test to assert there were none. */
async function watchErrors(page: Page) {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.name}: ${e.message}`))
  await page.addInitScript(() => {
    const w = window as unknown as { __rejections: string[] }
    w.__rejections = []
    addEventListener('unhandledrejection', (e) => w.__rejections.push(`unhandledrejection: ${(e.reason as Error)?.name}: ${(e.reason as Error)?.message ?? e.reason}`))
  })
  return async () => [...errors, ...(await page.evaluate(() => (window as unknown as { __rejections: string[] }).__rejections))]
}

async function reloadHarness(page: Page) {
  await page.reload()
  await page.waitForFunction(() => Boolean(window.inpage))
}

// ================================================================ consent

test.describe('consent: a denial is final', () => {
  test('grant then deny without awaiting: after a reload nothing is granted and nothing is stored', async ({ page }) => {
    await openHarness(page)
    const first = await page.evaluate(async () => {
      const rec = window.inpage.createRecommender({ name: 'race' })
      const a = rec.setConsent('granted')
      const b = rec.setConsent('denied')
      await Promise.all([a, b])
      return rec.status().consent
    })
    expect(first).toBe('denied')
    expect(await inpageDatabases(page)).toEqual([])
    await reloadHarness(page)
    const after = await page.evaluate(async () => {
      const rec = window.inpage.createRecommender({ name: 'race' })
      await rec.ready()
      await rec.track({ type: 'search', query: 'beaker' })
      await rec.flush()
      return { consent: rec.status().consent, exported: (await rec.exportData()).events.length }
    })
    expect(after.consent).not.toBe('granted')
    expect(await inpageDatabases(page)).toEqual([])
  })

  test('100 fast grant/deny flips ending in a denial leave no database and no grant', async ({ page }) => {
    await openHarness(page)
    await page.evaluate(async () => {
      const rec = window.inpage.createRecommender({ name: 'flips' })
      const all: Promise<unknown>[] = []
      for (let i = 0; i < 100; i++) {
        all.push(rec.setConsent(i % 2 ? 'denied' : 'granted'))
        all.push(rec.track({ type: 'search', query: `q${i}` }))
      }
      await Promise.all(all)
      await rec.flush()
      await new Promise((r) => setTimeout(r, 300))
    })
    expect(await inpageDatabases(page)).toEqual([])
    await reloadHarness(page)
    const consent = await page.evaluate(async () => {
      const rec = window.inpage.createRecommender({ name: 'flips' })
      await rec.ready()
      return rec.status().consent
    })
    expect(consent).toBe('pending')
  })

  test('property: any interleaving of setConsent/track/forget/rerank, unawaited, ends as the last call says', async ({ page }) => {
    test.setTimeout(180_000)
    const errors = await watchErrors(page)
    await openHarness(page)
    type Op = { op: 'grant' | 'deny' | 'track' | 'forget' | 'rerank' | 'flush' }
    const ops = fc.array(fc.constantFrom<Op>({ op: 'grant' }, { op: 'deny' }, { op: 'track' }, { op: 'track' }, { op: 'forget' }, { op: 'rerank' }, { op: 'flush' }), {
      minLength: 1,
      maxLength: 14,
    })
    let run = 0
    await fc.assert(
      fc.asyncProperty(ops, async (seq) => {
        const name = `prop${run++}`
        // What should survive a reload: the events tracked since the last deny or forget, if the last
        // consent call is a grant (events tracked while denied are dropped); and the grant itself, if no
        // forget() erased its record after it (forget keeps this page's consent, not the stored grant).
        let state: 'pending' | 'granted' | 'denied' = 'pending'
        let kept = 0
        let recorded = false
        for (const { op } of seq) {
          if (op === 'grant') (state = 'granted'), (recorded = true)
          else if (op === 'deny') (state = 'denied'), (kept = 0), (recorded = false)
          else if (op === 'forget') (kept = 0), (recorded = false)
          else if (op === 'track' && state !== 'denied') kept++
        }
        const settled = await page.evaluate(
          async ({ name, seq }) => {
            const rec = window.inpage.createRecommender({ name })
            const calls = seq.map(({ op }, i) => {
              if (op === 'grant') return rec.setConsent('granted')
              if (op === 'deny') return rec.setConsent('denied')
              if (op === 'forget') return rec.forget()
              if (op === 'flush') return rec.flush()
              if (op === 'rerank') return rec.rerank([{ id: 'a', title: 'A' }, { id: 'b', title: 'B' }])
              return rec.track({ type: 'view', itemId: `i${i}`, item: { title: `Item ${i}` } })
            })
            const results = await Promise.allSettled(calls)
            await rec.flush()
            await new Promise((r) => setTimeout(r, 30))
            const dbs = (await indexedDB.databases()).map((d) => d.name!).filter((n) => n.startsWith(`inpage:${name}:`))
            await rec.dispose()
            return { rejected: results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)), dbs }
          },
          { name, seq },
        )
        expect(settled.rejected).toEqual([])
        if (state !== 'granted') expect(settled.dbs).toEqual([])
        const after = await page.evaluate(async (name) => {
          const rec = window.inpage.createRecommender({ name })
          await rec.ready()
          const r = { consent: rec.status().consent, events: (await rec.exportData()).events.length }
          await rec.dispose()
          return r
        }, name)
        expect(after).toEqual({ consent: state === 'granted' && recorded ? 'granted' : 'pending', events: state === 'granted' ? kept : 0 })
      }),
      { numRuns: 25, seed: SEED },
    )
    expect(await errors()).toEqual([])
  })
})

// ================================================================ never-reject

test.describe('never-reject: a broken worker means the server order, at once', () => {
  const withHistory = async (page: Page, opts: Record<string, unknown>, budgetMs: number) =>
    page.evaluate(
      async ({ opts, seen, cands, budgetMs }) => {
        const rec = window.inpage.createRecommender({ consent: 'granted', storage: 'memory', ...opts })
        for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
        const t0 = performance.now()
        const res = await rec.rerank(cands, { budgetMs }).then(
          (r) => ({ why: r.why, personalized: r.personalized, ids: r.items.map((i) => i.id), error: r.error?.name }),
          (e: Error) => ({ rejected: `${e.name}: ${e.message}` }),
        )
        const ms = performance.now() - t0
        const w0 = performance.now()
        const warm = await Promise.race([
          rec.warmUp().then(
            () => 'resolved',
            (e: Error) => e.name,
          ),
          new Promise((r) => setTimeout(() => r('hung'), 15_000)),
        ])
        return { res, ms, warm, warmMs: performance.now() - w0, state: rec.status().engine.state }
      },
      { opts, seen, cands, budgetMs },
    )

  const cases: { what: string; opts: (page: Page) => Promise<Record<string, unknown>> }[] = [
    { what: 'a worker URL on another origin (SecurityError on construction)', opts: async () => ({ model: MODEL, workerUrl: 'http://localhost:4173/dist/inpage.worker.js' }) },
    { what: 'a worker file that 404s', opts: async () => ({ model: MODEL, workerUrl: '/dist/no-such.worker.js' }) },
    {
      what: 'a worker file that throws while it starts',
      opts: async (page) => {
        await page.route('**/dist/broken.worker.js', (r) => r.fulfill({ contentType: 'text/javascript', body: "throw new Error('boom')" }))
        return { model: MODEL, workerUrl: '/dist/broken.worker.js' }
      },
    },
    {
      what: 'a worker file that is not JavaScript',
      opts: async (page) => {
        await page.route('**/dist/html.worker.js', (r) => r.fulfill({ contentType: 'text/html', body: '<!doctype html><h1>Oops</h1>' }))
        return { model: MODEL, workerUrl: '/dist/html.worker.js' }
      },
    },
  ]
  for (const c of cases)
    test(`${c.what}: rerank() resolves with the server order and 'engine-error'; warmUp() rejects by name`, async ({ page }) => {
      const errors = await watchErrors(page)
      await openHarness(page)
      const opts = await c.opts(page)
      const r = await withHistory(page, opts, 4000)
      expect(r.res).toMatchObject({ why: 'engine-error', personalized: false, ids: cands.map((x) => x.id), error: 'EngineError' })
      expect(r.ms).toBeLessThan(4000 + 500)
      expect(r.warm).toBe('EngineError')
      expect(r.state).toBe('error')
      expect(await errors()).toEqual([])
    })
})

test.describe('never-reject: overlapping calls', () => {
  test('reranks fired together, with encoding to do, all come back personalized (ORT runs one inference at a time)', async ({ page }) => {
    test.setTimeout(180_000)
    const errors = await watchErrors(page)
    await openHarness(page)
    const r = await page.evaluate(
      async ({ model, seen, cands }) => {
        const rec = window.inpage.createRecommender({ model, backend: 'wasm', storage: 'memory', consent: 'granted' })
        await rec.warmUp()
        const calls = []
        for (let k = 0; k < 10; k++) {
          // A history one event longer each time (the track takes ms, the reranks seconds: they overlap).
          await rec.track({ type: k % 2 ? 'click' : 'view', itemId: `${seen[k % seen.length]!.id}-${k}`, item: { ...seen[k % seen.length]!.item, title: `${seen[k % seen.length]!.item.title} ${k}` } })
          // Each call brings new texts and a query to encode and a new history: both sessions are asked at once.
          calls.push(rec.rerank(cands.slice(0, 8).map((c) => ({ ...c, id: `${c.id}-${k}`, title: `${c.title} (${k})` })), { budgetMs: 120_000, query: `flask ${k}` }))
        }
        return (await Promise.all(calls)).map((x) => ({ why: x.why, error: x.error?.message }))
      },
      { model: MODEL, seen, cands },
    )
    expect(r).toEqual(Array(10).fill({ why: 'personalized', error: undefined }))
    expect(await errors()).toEqual([])
  })
})

// ================================================================ host page

test.describe('host page: nothing inpage does throws into the page', () => {
  for (const storage of ['auto', 'memory'] as const)
    test(`150,000 track() calls while consent is pending (storage ${storage}) keep the newest events and report nothing`, async ({ page }) => {
      const errors = await watchErrors(page)
      await openHarness(page)
      const r = await page.evaluate(async (storage) => {
        const rec = window.inpage.createRecommender({ name: `burst-${storage}`, storage })
        const reported: string[] = []
        rec.on('error', (e) => reported.push(e.name))
        const now = Date.now()
        for (let i = 0; i < 150_000; i++) void rec.track({ type: 'view', itemId: `i${i}`, item: { title: `Item ${i}` }, timestamp: now - 150_000 + i })
        await rec.flush()
        const events = (await rec.exportData()).events
        return { n: events.length, last: events.at(-1)?.itemId, status: rec.status().events, reported }
      }, storage)
      expect(r).toEqual({ n: 1000, last: 'i149999', status: 1000, reported: [] })
      expect(await errors()).toEqual([])
    })

  test('a burst under a grant is written in bounded batches: no long task over 50 ms while it is flushed', async ({ page }) => {
    const errors = await watchErrors(page)
    await openHarness(page)
    const r = await page.evaluate(async () => {
      const rec = window.inpage.createRecommender({ name: 'burst-granted', consent: 'granted' })
      await rec.ready()
      const now = Date.now()
      for (let i = 0; i < 50_000; i++) void rec.track({ type: 'view', itemId: `i${i}`, item: { title: `Item ${i}`, category: ['A', 'B'] }, timestamp: now - 50_000 + i })
      // From here on, the work is inpage's (the loop above is the page's own task, reported too: skipped).
      const loopEnd = performance.now()
      const long: number[] = []
      const po = new PerformanceObserver((l) => l.getEntries().forEach((e) => e.startTime >= loopEnd && long.push(Math.round(e.duration))))
      po.observe({ type: 'longtask' })
      await rec.flush()
      await new Promise((r) => setTimeout(r, 100))
      po.disconnect()
      const events = (await rec.exportData()).events
      return { long, n: events.length, last: events.at(-1)?.itemId }
    })
    expect(r.n).toBe(1000)
    expect(r.last).toBe('i49999')
    expect(r.long).toEqual([])
    expect(await errors()).toEqual([])
  })

  test('track() with bad input rejects with a named error instead of throwing synchronously', async ({ page }) => {
    await openHarness(page)
    const r = await page.evaluate(() => {
      const rec = window.inpage.createRecommender({ storage: 'memory' })
      try {
        const p = rec.track({ type: 'view', itemId: '', item: { title: '' } })
        return p.then(
          () => 'resolved',
          (e: Error) => `rejected ${e.name}`,
        )
      } catch (e) {
        return `threw ${(e as Error).name}`
      }
    })
    expect(r).toBe('rejected InvalidEventError')
  })

  const scriptPage = (attrs: string, body: string) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<script src="/dist/inpage.iife.js" data-model="${MODEL}" data-backend="wasm" data-consent="granted" data-dwell-ms="50" data-name="hostile"${attrs}></script></head>
<body>${body}</body></html>`
  const serve = (page: Page, html: string) =>
    page.route('**/hostile-store.html', (route) =>
      route.fulfill({ contentType: 'text/html; charset=utf-8', headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' }, body: html }),
    )

  test('a bad data-wasm-paths attribute leaves window.InPage defined and says why', async ({ page }) => {
    const errors = await watchErrors(page)
    const logged: string[] = []
    page.on('console', (m) => m.type() === 'error' && logged.push(m.text()))
    await serve(page, scriptPage(' data-wasm-paths="https://[bad"', '<p>store</p>'))
    await page.goto('/hostile-store.html')
    await page.waitForTimeout(300)
    expect(await page.evaluate(() => typeof (window as unknown as { InPage?: unknown }).InPage)).toBe('object')
    expect(await page.evaluate(() => typeof (window as unknown as { InPage: { createRecommender?: unknown } }).InPage.createRecommender)).toBe('function')
    expect(logged.join('\n')).toMatch(/inpage/)
    expect(await errors()).toEqual([])
  })

  test('property: broken item markup (no title, empty or huge ids, junk attributes) never throws into the page', async ({ page }) => {
    test.setTimeout(120_000)
    const errors = await watchErrors(page)
    const attr = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom('', ' ', 'x'.repeat(300), '__proto__', 'constructor', '>>', 'NaN', '-1', '1e309', '\u0000', '😀'.repeat(200)),
      fc.string({ maxLength: 40 }),
    )
    const item = fc.record({ id: attr, title: attr, price: attr, category: attr, brand: attr, event: attr })
    const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')
    const html = (items: { id?: string; title?: string; price?: string; category?: string; brand?: string; event?: string }[]) =>
      '<ul id="list" data-inpage-rerank="category" data-budget-ms="2000">' +
      items
        .map((it) => {
          const a = (k: string, v?: string) => (v === undefined ? '' : ` ${k}="${esc(v)}"`)
          return `<li style="height:30px" data-inpage-item="${esc(it.id ?? '')}"${a('data-title', it.title)}${a('data-price', it.price)}${a('data-category', it.category)}${a('data-brand', it.brand)}><button${a('data-inpage-event', it.event)}>b</button></li>`
        })
        .join('') +
      '</ul>'
    let run = 0
    await fc.assert(
      fc.asyncProperty(fc.array(item, { minLength: 1, maxLength: 8 }), async (items) => {
        await serve(page, scriptPage(` data-name="hostile${run++}"`, html(items)))
        await page.goto('/hostile-store.html')
        await page.waitForFunction(() => Boolean((window as unknown as { InPage?: { embed?: unknown } }).InPage?.embed))
        await page.evaluate(async () => {
          for (const b of document.querySelectorAll('button')) b.click()
          for (const li of document.querySelectorAll('li')) (li as HTMLElement).click()
          await new Promise((r) => setTimeout(r, 120)) // views after the 50 ms dwell
          await (window as unknown as { InPage: typeof Api }).InPage.embed!.refresh()
          await (window as unknown as { InPage: typeof Api }).InPage.recommender!.flush()
        })
        expect(await errors()).toEqual([])
      }),
      { numRuns: 15, seed: SEED },
    )
  })
})

// ================================================================ forget

test.describe('forget: at once, history first, nothing comes back', () => {
  test('forget() and a denial while the worker encodes 2,000 candidates: fast, and no database comes back', async ({ page }) => {
    test.setTimeout(180_000)
    const errors = await watchErrors(page)
    await openHarness(page)
    const many = Array.from({ length: 2000 }, (_, i) => ({ id: `c${i}`, title: `Candidate number ${i} with a long enough title to encode`, category: ['Lab', `Cat ${i % 17}`] }))
    const r = await page.evaluate(
      async ({ model, seen, many }) => {
        const names = async () => (await indexedDB.databases()).map((d) => d.name!).filter((n) => n.startsWith('inpage:')).sort()
        const rec = window.inpage.createRecommender({ model, consent: 'granted', backend: 'wasm', name: 'busy' })
        for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
        await rec.warmUp()
        const out: Record<string, unknown> = {}
        for (const verb of ['forget', 'deny'] as const) {
          if (verb === 'deny') {
            await rec.setConsent('granted')
            for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
          }
          const busy = rec.rerank(many.map((c) => ({ ...c, id: `${verb}-${c.id}` })), { budgetMs: 120_000 })
          await new Promise((r) => setTimeout(r, 1500)) // the worker is encoding by now
          const t0 = performance.now()
          if (verb === 'forget') await rec.forget()
          else await rec.setConsent('denied')
          const ms = performance.now() - t0
          const exported = (await rec.exportData()).events.length
          const res = await busy
          await new Promise((r) => setTimeout(r, 1500)) // nothing may be written late
          out[verb] = { ms: Math.round(ms), exported, why: res.why, dbs: await names() }
        }
        return out
      },
      { model: MODEL, seen, many },
    )
    for (const verb of ['forget', 'deny']) {
      const v = r[verb] as { ms: number; exported: number; why: string; dbs: string[] }
      expect(v.ms, verb).toBeLessThan(3000)
      expect(v.exported, verb).toBe(0)
      expect(['no-history', 'consent'], verb).toContain(v.why)
      expect(v.dbs, verb).toEqual([])
    }
    expect(await errors()).toEqual([])
  })

  test('exportData() lists the item-vector cache keys (items this shopper was shown)', async ({ page }) => {
    test.setTimeout(120_000)
    await openHarness(page)
    const doc = await page.evaluate(
      async ({ model, seen, cands }) => {
        const rec = window.inpage.createRecommender({ model, consent: 'granted', backend: 'wasm', name: 'exported' })
        for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
        await rec.warmUp()
        await rec.rerank(cands, { budgetMs: 60_000 })
        await new Promise((r) => setTimeout(r, 800))
        return rec.exportData()
      },
      { model: MODEL, seen, cands },
    )
    const cached = (doc as unknown as { itemVectorCache?: { itemId: string; model: string }[] }).itemVectorCache ?? []
    expect(new Set(cached.map((c) => c.itemId))).toEqual(new Set([...seen.map((s) => s.id), ...cands.map((c) => c.id)]))
    expect(cached.every((c) => c.model === `inpage-sci-v1@${SHIPPED.version}`)).toBe(true)
  })
})

// ================================================================ numbers

test.describe('numbers: refused by name, or the server order, never NaN served as personal', () => {
  test('bad or unknown rerank options get InvalidOptionsError, per call and as rerankDefaults', async ({ page }) => {
    await openHarness(page)
    const r = await page.evaluate(async () => {
      const rec = window.inpage.createRecommender({ storage: 'memory' })
      const bad = [{ personalWeight: NaN }, { personalWeight: 2 }, { queryWeight: -Infinity }, { k: 0 }, { k: 2.5 }, { budgetMs: -1 }, { maxDisplacement: NaN }, { diversity: { lambda: 3 } }, { diversity: { maxPerCategory: 0 } }, { popularityPrior: 'no' }, { query: 5 }, { surface: {} }, { persomalWeight: 0.5 }, JSON.parse('{"__proto__": {"k": 1}}'), { calibration: NaN }, { calibration: -0.1 }, { calibration: '0.5' }, { nearDuplicates: '__proto__' }]
      const out: string[] = []
      for (const o of bad)
        out.push(
          await rec.rerank([{ id: 'a', title: 'A' }], o as never).then(
            () => 'resolved',
            (e: Error) => e.name,
          ),
        )
      const refused = (o: object) => {
        try {
          window.inpage.createRecommender(o as never)
          return 'created'
        } catch (e) {
          return `${(e as Error).name}: ${(e as Error).message}`
        }
      }
      // A misspelt key is refused, not dropped (the built bundle keeps the check).
      return { out, defaults: refused({ rerankDefaults: { personalWeight: NaN } }), typo: refused({ rerankDefaults: { persomalWeight: 0.5 } }) }
    })
    expect(r.out).toEqual(Array(18).fill('InvalidOptionsError'))
    expect(r.defaults).toMatch(/^InvalidOptionsError: rerankDefaults.personalWeight must be a number from 0 to 1, got NaN$/)
    expect(r.typo).toMatch(/^InvalidOptionsError: unknown option "persomalWeight" in rerankDefaults \(did you mean "personalWeight"\?\); valid: surface, query, k,/)
  })

  test('property: extreme but finite scores and candidate vectors give finite personal orders or model-error, never NaN', async ({ page }) => {
    test.setTimeout(240_000)
    const errors = await watchErrors(page)
    await openHarness(page)
    await page.evaluate(
      async ({ model, seen }) => {
        window.rec = window.inpage.createRecommender({ model, consent: 'granted', storage: 'memory', backend: 'wasm' })
        for (const s of seen) await window.rec.track({ type: 'view', itemId: s.id, item: s.item })
        await window.rec.warmUp()
      },
      { model: MODEL, seen },
    )
    const extreme = fc.oneof(
      fc.constantFrom(Number.MAX_VALUE, -Number.MAX_VALUE, 1.7e308, -1.7e308, 1e307, Number.MIN_VALUE, -0, 0, 1e-300),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
    )
    const dims = SHIPPED.dims.collab
    const vector = fc.oneof(
      fc.constant(undefined),
      fc.array(extreme, { minLength: dims, maxLength: dims }),
      fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 1, maxLength: dims * 2 }), // any dimension
    )
    const hostile = fc.array(fc.record({ score: fc.option(extreme, { nil: undefined }), vector }), { minLength: 2, maxLength: 12 })
    // The designated subset: moderate scores and vectors of the model's size. These must personalize, so the property
    // fails if personalization silently stops (a server order for every case would pass the checks above it).
    const sane = fc.array(
      fc.record({
        score: fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { nil: undefined }),
        vector: fc.option(fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: dims, maxLength: dims }), { nil: undefined }),
      }),
      { minLength: 2, maxLength: 12 },
    )
    const cases = fc.oneof(hostile.map((xs) => ({ xs, sane: false })), sane.map((xs) => ({ xs, sane: true })))
    const ran = { sane: 0, personalized: 0 }
    await fc.assert(
      fc.asyncProperty(cases, async ({ xs, sane }) => {
        const cs = xs.map((x, i) => ({ ...cands[i]!, ...(x.score === undefined ? {} : { score: x.score }), ...(x.vector ? { vector: x.vector } : {}) }))
        const r = await page.evaluate(async (cs) => {
          const res = await window.rec.rerank(cs, { budgetMs: 30_000 })
          return { why: res.why, personalized: res.personalized, ids: res.items.map((i) => i.id), scores: res.items.map((i) => [i.score, i.personal]).flat() }
        }, cs)
        expect(WHYS).toContain(r.why)
        expect([...r.ids].sort()).toEqual(cs.map((c) => c.id).sort())
        if (sane) {
          ran.sane++
          expect(r.why).toBe('personalized')
        }
        if (r.personalized) {
          ran.personalized++
          expect(r.why).toBe('personalized')
          for (const s of r.scores) expect(Number.isFinite(s)).toBe(true)
        } else {
          expect(r.ids).toEqual(cs.map((c) => c.id))
        }
        const wrongDims = xs.some((x) => x.vector && x.vector.length !== dims)
        if (wrongDims) expect(r.why).toBe('model-error')
      }),
      { numRuns: 40, seed: SEED },
    )
    // A fair share of the 40 cases went through the personal branch (about half are the sane ones).
    expect(ran.sane).toBeGreaterThanOrEqual(10)
    expect(ran.personalized).toBeGreaterThanOrEqual(ran.sane)
    expect(await errors()).toEqual([])
  })

  test('a tampered vector-cache entry (NaN, wrong length) is re-encoded, not served', async ({ page }) => {
    test.setTimeout(120_000)
    await openHarness(page)
    const r = await page.evaluate(
      async ({ model, seen, cands, version, text }) => {
        const rec = window.inpage.createRecommender({ model, consent: 'granted', backend: 'wasm', name: 'tamper' })
        for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
        await rec.warmUp()
        const a = await rec.rerank(cands, { budgetMs: 60_000 })
        await new Promise((r) => setTimeout(r, 800))
        const db = await new Promise<IDBDatabase>((res) => {
          const q = indexedDB.open('inpage:tamper:vectors')
          q.onsuccess = () => res(q.result)
        })
        const tx = db.transaction('kv', 'readwrite')
        const st = tx.objectStore('kv')
        const keys = (await new Promise((res) => (st.getAllKeys().onsuccess = (e) => res((e.target as IDBRequest).result)))) as string[]
        keys.filter((k) => k.startsWith(`inpage-sci-v1@${version}|`)).forEach((k, i) => st.put(i % 2 ? new Float32Array(text).fill(NaN) : new Float32Array(7), k))
        await new Promise((r) => (tx.oncomplete = r))
        db.close()
        await rec.dispose()
        const fresh = window.inpage.createRecommender({ model, consent: 'granted', backend: 'wasm', name: 'tamper' })
        await fresh.warmUp()
        const b = await fresh.rerank(cands, { budgetMs: 60_000 })
        return { a: a.items.map((i) => i.id), b: b.items.map((i) => i.id), why: b.why, finite: b.items.every((i) => Number.isFinite(i.score)) }
      },
      { model: MODEL, seen, cands, version: SHIPPED.version, text: SHIPPED.dims.text },
    )
    expect(r.why).toBe('personalized')
    expect(r.finite).toBe(true)
    expect(r.b).toEqual(r.a)
  })
})
