// A shopper's first visit (issues 15 and 25): a category page of a store with a catalog pack (general model,
// text vectors in the pack), empty caches, Chromium's network emulated at 10 Mbit/s down and 40 ms RTT, files
// served as a store serves them (brotli copies, `no-cache` with ETag and Last-Modified: every script and manifest
// revalidated). Pages of 20 and 100 items; then the first search of the visit, a cached second visit, and the same
// with immutable (versioned) hosting. Baseline in the same run: the library before issue 25 (BENCH_BASELINE_REF,
// built into bench/tmp), which ran the user graph in onnxruntime and so fetched its wasm and the user model.
// One section of `npm run bench`: bench/run.mjs calls it with the shared context.

import { execFileSync, spawn } from 'node:child_process'
import { existsSync, statSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { baselineDist } from '../baseline.mjs'

const SIZES = [20, 100]

export default async function firstVisit({ root, tmp, base, browser, catalog, bundle, record, fileTables }) {
  if (!existsSync('e2e/.packs/general/pack.json')) await (await bundle('e2e/packs.ts')).buildTestPacks()
  const ref = process.env.BENCH_BASELINE_REF ?? 'ef7a02b'
  const baseDir = baselineDist(root, ref)
  // One HTML file per page and library, as a store renders it: the candidates (and, for the server-attached path,
  // their pack records) are in the HTML, and the page's own module script tracks the shopper's views and reranks
  // as soon as it runs, so the times are the page's own (performance.now() from navigation), not the harness's.
  const libs = { current: `bench-tmp/${process.pid}/current`, baseline: `bench-tmp/baseline-${ref}` }
  const glass = catalog.filter((c) => c.category[2] === 'Glassware & Labware')
  const glue = catalog.filter((c) => c.category[2] === 'Adhesives & Sealants')
  const seen = glass.slice(0, 3).map((c) => ({ id: c.id, item: { title: c.title, brand: c.brand, category: c.category } }))
  /** A category page of `n` items the pack holds: half adhesives, half glassware (not the viewed ones). */
  const pageOf = (n) => [...glue.slice(0, n / 2), ...glass.slice(6, 6 + n / 2)].map((c) => ({ id: c.id, title: c.title, brand: c.brand, category: c.category }))
  // The recommended path: the store's server attaches each candidate's pack record (catalog/read.ts), so the page
  // fetches no shard. The baseline predates Candidate.pack, so it has only the shard pages.
  const { readPackRecords } = await bundle('catalog/read.ts')
  const attach = (cands) => {
    const recs = readPackRecords('e2e/.packs/general', cands.map((c) => c.id))
    return cands.map((c) => (recs.has(c.id) ? { ...c, pack: recs.get(c.id) } : c))
  }
  const pageHtml = (lib, cands) => `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="application/json" id="page">${JSON.stringify({ seen, cands, catalog: lib === 'baseline' ? '/packs/general-dense/' : '/packs/general/' }).replace(/</g, '\\u003c')}</script>
<script type="module">
  import * as inpage from './dist/inpage.js'
  window.longTasks = []
  new PerformanceObserver((l) => window.longTasks.push(...l.getEntries().map((e) => e.duration))).observe({ type: 'longtask', buffered: true })
  const { seen, cands, catalog } = JSON.parse(document.getElementById('page').textContent)
  window.result = (async () => {
    const tCreate = performance.now()
    const rec = (window.rec = inpage.createRecommender({ model: '/models/inpage-general-v1/', catalog, consent: 'granted', name: 'bench-first-visit' }))
    for (const s of seen) await rec.track({ type: 'view', itemId: s.id, item: s.item })
    let r
    do r = await rec.rerank(cands, { budgetMs: 120_000 })
    while (!r.personalized)
    const tFirst = performance.now()
    return { tCreate, tFirst, backend: r.backend, info: rec.status().engine.info, longTasks: window.longTasks.filter((d) => d > 50).length, timeOrigin: performance.timeOrigin }
  })().catch((e) => ({ error: String(e) }))
</script>`
  const dirs = { current: `${tmp}/current`, baseline: baseDir }
  mkdirSync(dirs.current, { recursive: true })
  symlinkSync(`${root}dist`, `${dirs.current}/dist`)
  for (const [lib, dir] of Object.entries(dirs))
    for (const n of SIZES) {
      writeFileSync(`${dir}/page-${n}.html`, pageHtml(lib, pageOf(n)))
      if (lib === 'current') writeFileSync(`${dir}/page-${n}-attached.html`, pageHtml(lib, attach(pageOf(n))))
    }
  const NET = { offline: false, latency: 40, downloadThroughput: 10e6 / 8, uploadThroughput: 5e6 / 8 }

  /** One visit: navigate to a page; its script tracks the shopper's first views and reranks until personalized. */
  const visit = async (page, traffic, lib, file, origin = base) => {
    traffic.start()
    await page.goto(`${origin}/${lib}/${file}`)
    const out = await page.evaluate(() => window.result)
    if (out.error) throw new Error(`${lib}/${file}: ${out.error}`)
    const files = await traffic.stop(out.timeOrigin)
    return { ...out, files }
  }
  const mounts = [['/models/', 'public/models/'], ['/packs/', 'e2e/.packs/'], ['/bench-tmp/', 'bench/tmp/']]
  const diskSize = (path) => {
    const m = mounts.find(([p]) => path.startsWith(p))
    try {
      return m ? statSync(m[1] + path.slice(m[0].length)).size : 0
    } catch {
      return 0
    }
  }
  const trafficOf = (ctx) => {
    let rows = []
    ctx.on('requestfinished', (r) => rows.push((async () => {
      const [sizes, res] = await Promise.all([r.sizes(), r.response()])
      const t = r.timing()
      const path = new URL(r.url()).pathname
      // Sent: the body as the server sent it (Content-Length; Chromium under-reports a worker's own script) plus
      // headers; a 304 sends none. Raw: the file's decoded size on disk.
      const length = res.status() === 304 ? 0 : Number((await res.headerValue('content-length')) ?? sizes.responseBodySize)
      return { path, status: res.status(), encoding: (await res.headerValue('content-encoding')) ?? '', wire: length + sizes.responseHeadersSize, raw: res.status() === 304 ? 0 : diskSize(path), start: t.startTime, end: t.startTime + t.responseEnd }
    })().catch(() => null))) // a request that ends as its context closes (an idle preload) is not part of a visit

    return {
      start: () => void (rows = []),
      stop: async (origin) => (await Promise.all(rows)).filter(Boolean).map((f) => ({ ...f, start: f.start - origin, end: f.end - origin })).sort((a, b) => a.start - b.start),
    }
  }
  // The same files over HTTP/2 (TLS, a throwaway self-signed certificate), as a store's CDN serves them: a page's
  // pack files share one connection instead of HTTP/1.1's six.
  const tls = `${tmp}/tls`
  mkdirSync(tls, { recursive: true })
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${tls}/key.pem`, '-out', `${tls}/cert.pem`, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
  const h2port = Number(new URL(base).port) + 1
  const h2 = spawn(process.execPath, ['scripts/serve.mjs'], { env: { ...process.env, PORT: String(h2port), INPAGE_TLS_DIR: tls }, stdio: ['ignore', 'pipe', 'inherit'] })
  process.on('exit', () => h2.kill())
  await new Promise((resolve) => h2.stdout.once('data', resolve))
  const h2base = `https://127.0.0.1:${h2port}`
  /** A fresh context (empty caches) with the network emulated. */
  const fresh = async () => {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true })
    const page = await ctx.newPage()
    const cdp = await ctx.newCDPSession(page)
    await cdp.send('Network.enable')
    await cdp.send('Network.emulateNetworkConditions', NET)
    return { ctx, page, traffic: trafficOf(ctx) }
  }
  const sum = (files, k) => files.reduce((s, f) => s + f[k], 0)
  const bytes = (v) => sum(v.files, 'wire')
  const runs = {}
  for (const [name, lib] of Object.entries(libs)) {
    runs[name] = {}
    for (const n of SIZES) {
      const { ctx, page, traffic } = await fresh()
      const first = await visit(page, traffic, lib, `page-${n}.html`)
      const run = { first }
      if (n === 100) {
        // The first search of the visit, right after the category page (the shopper typed at once: no idle time).
        traffic.start()
        const search = await page.evaluate(async ({ cands }) => {
          const t = performance.now()
          let q
          do q = await window.rec.rerank(cands, { query: 'glass beaker', budgetMs: 120_000 })
          while (!q.personalized)
          return { ms: performance.now() - t, backend: q.backend, timeOrigin: performance.timeOrigin }
        }, { cands: pageOf(n) })
        run.search = { ...search, files: await traffic.stop(search.timeOrigin) }
        run.cached = await visit(page, traffic, lib, `page-${n}.html`)
        // The same cached visit with the page and scripts served as versioned files (immutable): no revalidation.
        // The first /cached/ visit fills the HTTP cache; the second is measured.
        await visit(page, traffic, `cached/${lib}`, `page-${n}.html`)
        run.immutable = await visit(page, traffic, `cached/${lib}`, `page-${n}.html`)
      }
      await ctx.close()
      if (name === 'current') {
        // The recommended path, in a fresh context: the server attached the page's pack records.
        const fresh2 = await fresh()
        run.attached = await visit(fresh2.page, fresh2.traffic, lib, `page-${n}-attached.html`)
        await fresh2.ctx.close()
        const fresh3 = await fresh()
        run.h2 = await visit(fresh3.page, fresh3.traffic, lib, `page-${n}.html`, h2base)
        await fresh3.ctx.close()
      }
      runs[name][n] = run
    }
  }
  h2.kill()
  const cur = runs.current
  const old = runs.baseline
  const was = `before issue 25 (${ref}): the user graph in onnxruntime`
  for (const n of SIZES) {
    const c = cur[n].first
    const o = old[n].first
    record({ name: `first visit, ${n}-item category page: bytes before the first personalized rerank, as sent`, median: bytes(c) / 1e6, unit: 'MB', baseline_median: bytes(o) / 1e6, ratio: bytes(c) / bytes(o), runs: 1, baseline: `${was}; target 0.5 MB` })
    record({ name: `first visit, ${n}-item category page: navigation → first personalized rerank, 10 Mbit/s, 40 ms RTT`, median: c.tFirst, unit: 'ms', baseline_median: o.tFirst, ratio: c.tFirst / o.tFirst, runs: 1, baseline: `${was}; target 1,000 ms` })
    record({ name: `  of which (${n} items): page + library until createRecommender()`, median: c.tCreate, unit: 'ms', runs: 1 })
    record({ name: `  of which (${n} items): manifests and model files (none with the closed form), onnxruntime if needed`, median: c.info.loadMs, unit: 'ms', runs: 1 })
    record({ name: `  of which (${n} items): the rest (worker start, history, pack shards, rerank, messages)`, median: c.tFirst - c.tCreate - c.info.loadMs, unit: 'ms', runs: 1 })
    const h = cur[n].h2
    record({ name: `first visit, ${n}-item category page over HTTP/2 (TLS, one connection): navigation → first personalized rerank`, median: h.tFirst, unit: 'ms', baseline_median: c.tFirst, ratio: h.tFirst / c.tFirst, runs: 1, baseline: `the same page over HTTP/1.1 in this run; target 1,000 ms` })
    const a = cur[n].attached
    record({ name: `first visit, ${n}-item page, pack records attached by the store's server: bytes (page included)`, median: bytes(a) / 1e6, unit: 'MB', baseline_median: bytes(o) / 1e6, ratio: bytes(a) / bytes(o), runs: 1, baseline: `${was} (shards); target 0.5 MB` })
    record({ name: `first visit, ${n}-item page, pack records attached by the store's server: navigation → first personalized rerank`, median: a.tFirst, unit: 'ms', baseline_median: o.tFirst, ratio: a.tFirst / o.tFirst, runs: 1, baseline: `${was} (shards); target 1,000 ms` })
  }
  const c = cur[100]
  const o = old[100]
  record({ name: 'first visit: where the first personalized rerank ran', median: c.first.backend === 'js' ? 0 : 1, unit: c.first.backend, runs: 1, baseline: `baseline: ${o.first.backend}` })
  record({ name: 'second visit (cache kept), 100 items, no-cache + ETag: navigation → first personalized rerank', median: c.cached.tFirst, unit: 'ms', baseline_median: o.cached.tFirst, ratio: c.cached.tFirst / o.cached.tFirst, runs: 1, baseline: `${was}; target 300 ms` })
  record({ name: '  of which (second visit): page + library until createRecommender() (scripts revalidated: 304s)', median: c.cached.tCreate, unit: 'ms', runs: 1 })
  record({ name: '  of which (second visit): manifests (304) and files from the Cache API', median: c.cached.info.loadMs, unit: 'ms', runs: 1 })
  record({ name: 'second visit, page and scripts immutable (versioned hosting): navigation → first personalized rerank', median: c.immutable.tFirst, unit: 'ms', baseline_median: o.immutable.tFirst, ratio: c.immutable.tFirst / o.immutable.tFirst, runs: 1, baseline: `${was}; target 300 ms` })
  record({ name: 'second visit: bytes as sent', median: bytes(c.cached) / 1e3, unit: 'kB', baseline_median: bytes(o.cached) / 1e3, ratio: bytes(c.cached) / bytes(o.cached), runs: 1, baseline: was })
  record({ name: 'first search of the first visit, right after the 100-item category page: time to personalized, 10 Mbit/s', median: c.search.ms, unit: 'ms', baseline_median: o.search.ms, ratio: c.search.ms / o.search.ms, runs: 1, baseline: `${was}; target 1,500 ms; this run: ${c.search.backend}` })
  record({ name: 'first search of the first visit: bytes as sent', median: bytes(c.search) / 1e6, unit: 'MB', baseline_median: bytes(o.search) / 1e6, runs: 1, baseline: was })
  record({ name: 'long tasks (> 50 ms) on the main thread, first + second visit', median: c.first.longTasks + c.cached.longTasks, unit: 'tasks', baseline_median: o.first.longTasks + o.cached.longTasks, runs: 2, baseline: `${was}; target 0` })
  for (const [name, files] of [['first visit (100 items), current', c.first.files], ['first visit (100 items), records attached by the server', c.attached.files], ['first visit (100 items), HTTP/2', c.h2.files], ['first visit (100 items), baseline', o.first.files], ['first search, current', c.search.files], ['second visit (no-cache + ETag), current', c.cached.files]]) {
    fileTables.push({ name, files })
    console.log(`\n${name}:`)
    for (const f of files) console.log(`  ${f.path.padEnd(60)} ${f.status} raw ${String(f.raw).padStart(9)}  sent ${String(f.wire).padStart(9)} ${f.encoding.padEnd(4)} at ${f.start.toFixed(0).padStart(6)}–${f.end.toFixed(0).padStart(6)} ms`)
  }
  console.log(`engine: ${JSON.stringify(c.first.info)}`)
}
