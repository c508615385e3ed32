// rerank(): warm (vectors cached) at 100 and 1,000 candidates, cold at 100 uncached candidates.
// Baseline in the same session: the same engine with nothing cached, i.e. every candidate and
// history item encoded on every call (what a page without inpage's vector cache would do).
// One section of `npm run bench`: bench/run.mjs calls it with the shared context.

import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { baselineDist } from '../baseline.mjs'

/** The same warm 1,000-candidate call with this build and with the library at BENCH_RERANK_BASELINE_REF, alternated. */
const AB_ROUNDS = 3
const AB_CALLS = 60

export default async function rerank({ root, tmp, base, browser, catalog, openPage, record, median, p95 }) {
  const history = catalog.slice(2000, 2008)
  const { ctx, page } = await openPage('bench.html')
  const out = await page.evaluate(async ({ items, history }) => {
    const rec = window.inpage.createRecommender({ model: '/models/inpage-sci-v1/', consent: 'granted', backend: 'wasm', name: 'bench-rerank' })
    for (const h of history) await rec.track({ type: 'purchase', itemId: h.id, item: { title: h.title, brand: h.brand, category: h.category } })
    const t0 = performance.now()
    await rec.warmUp()
    const warmUpMs = performance.now() - t0
    const time = async (cands) => { const s = performance.now(); const r = await rec.rerank(cands, { budgetMs: 600_000 }); if (!r.personalized) throw new Error(r.why); return performance.now() - s }
    const res = { warmUpMs, info: rec.status().engine.info }
    for (const n of [100, 1000]) {
      const cands = items.slice(0, n)
      await time(cands) // fill the vector cache
      res[`warm${n}`] = []
      for (let i = 0; i < 30; i++) res[`warm${n}`].push(await time(cands))
    }
    // The same warm call with the history at its retention cap (1,000 events): what crosses to the worker grows with it.
    for (let i = 0; i < 1000; i++) { const h = items[3000 + (i % 500)]; void rec.track({ type: i % 5 ? 'view' : 'click', itemId: h.id, item: { title: h.title, brand: h.brand, category: h.category } }) }
    await rec.flush()
    await time(items.slice(0, 100))
    res.warm100long = []
    for (let i = 0; i < 30; i++) res.warm100long.push(await time(items.slice(0, 100)))
    res.cold100 = []
    for (let r = 0; r < 5; r++) res.cold100.push(await time(items.slice(0, 100).map((c) => ({ ...c, id: `${c.id}-cold${r}`, title: `${c.title} (${r})` }))))
    return res
  }, { items: catalog, history })
  record({ name: 'rerank 100 candidates, warm (vectors cached)', median: median(out.warm100), p95: p95(out.warm100), unit: 'ms', baseline_median: median(out.cold100), ratio: median(out.cold100) / median(out.warm100), runs: out.warm100.length, baseline: 'same 100, nothing cached' })
  record({ name: 'rerank 1,000 candidates, warm (vectors cached)', median: median(out.warm1000), p95: p95(out.warm1000), unit: 'ms', runs: out.warm1000.length })
  record({ name: 'rerank 100 candidates, warm, 1,000-event history', median: median(out.warm100long), p95: p95(out.warm100long), unit: 'ms', runs: out.warm100long.length })
  record({ name: 'rerank 100 candidates, cold (encode all, WASM)', median: median(out.cold100), p95: p95(out.cold100), unit: 'ms', runs: out.cold100.length })
  record({ name: 'engine warm-up (worker + model + sessions)', median: out.warmUpMs, unit: 'ms', runs: 1 })
  console.log(`engine: ${JSON.stringify(out.info)}`)
  await ctx.close()

  // The machine's speed drifts between runs (cold encoding 1.5× slower in one hour than the next), so the 1,000-candidate
  // figure is compared with the library before the warm-rerank work (issue 25) by alternating the two in this session.
  const ref = process.env.BENCH_RERANK_BASELINE_REF ?? '637bc5f'
  const dirs = { current: `${tmp}/current-ab`, baseline: baselineDist(root, ref) }
  mkdirSync(dirs.current, { recursive: true })
  symlinkSync(`${root}dist`, `${dirs.current}/dist`)
  const html = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="module">import * as inpage from './dist/inpage.js'; window.inpage = inpage; window.ready = true</script>`
  for (const d of Object.values(dirs)) writeFileSync(`${d}/ab.html`, html)
  const url = { current: `${base}/bench-tmp/${tmp.split('/').pop()}/current-ab/ab.html`, baseline: `${base}/bench-tmp/baseline-${ref}/ab.html` }
  const times = { current: [], baseline: [] }
  for (let round = 0; round < AB_ROUNDS; round++)
    for (const lib of ['baseline', 'current']) {
      const ctx = await browser.newContext()
      const page = await ctx.newPage()
      await page.goto(url[lib])
      await page.waitForFunction(() => window.ready)
      times[lib].push(
        ...(await page.evaluate(
          async ({ items, history, calls }) => {
            const rec = window.inpage.createRecommender({ model: '/models/inpage-sci-v1/', consent: 'granted', backend: 'wasm', name: 'bench-ab' })
            for (const h of history) await rec.track({ type: 'purchase', itemId: h.id, item: { title: h.title, brand: h.brand, category: h.category } })
            await rec.warmUp()
            const cands = items.slice(0, 1000)
            await rec.rerank(cands, { budgetMs: 600_000 })
            const t = []
            for (let i = 0; i < calls; i++) {
              const s = performance.now()
              const r = await rec.rerank(cands, { budgetMs: 600_000 })
              if (!r.personalized) throw new Error(r.why)
              t.push(performance.now() - s)
            }
            await rec.dispose()
            return t
          },
          { items: catalog, history, calls: AB_CALLS },
        )),
      )
      await ctx.close()
    }
  const [c, b] = [times.current, times.baseline]
  record({ name: 'rerank 1,000 candidates, warm: this build and the one before, alternated', median: median(c), p95: p95(c), unit: 'ms', baseline_median: median(b), ratio: median(c) / median(b), runs: c.length, baseline: `${ref} (before the warm-rerank work of issue 25), p95 ${p95(b).toFixed(1)} ms; ${AB_ROUNDS} rounds of ${AB_CALLS} calls each, alternated` })
}
