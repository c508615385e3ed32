// The same two figures in each engine, as ratios to Chromium in this run: a warm rerank of 100
// candidates (vectors cached), and the first personalized rerank after a page load with the model in the
// Cache API (where the engine keeps it: WebKitGTK's automation session does not, see README "Browsers").
// One section of `npm run bench`: bench/run.mjs calls it with the shared context.

export default async function engines({ base, browser, catalog, openPage, record, median, p95 }) {
  const { launchEngine } = await import('../../scripts/engines.mjs')
  const history = catalog.slice(2000, 2008).map((c) => ({ id: c.id, item: { title: c.title, brand: c.brand, category: c.category } }))
  const cands = catalog.slice(0, 100).map((c) => ({ id: c.id, title: c.title, brand: c.brand, category: c.category }))
  const arg = { history, cands, runs: 20 }
  // Both run in the page as their source: only their argument and the page's globals.
  const warm = async ({ history, cands, runs }) => {
    while (!window.ready) await new Promise((r) => setTimeout(r, 20))
    const rec = window.inpage.createRecommender({ model: '/models/inpage-sci-v1/', consent: 'granted', backend: 'wasm', name: 'bench-engines' })
    for (const h of history) await rec.track({ type: 'purchase', itemId: h.id, item: h.item })
    await rec.warmUp()
    const once = async () => { const t0 = performance.now(); const r = await rec.rerank(cands, { budgetMs: 600_000 }); if (!r.personalized) throw new Error(r.why); return performance.now() - t0 }
    await once() // fills the vector cache
    const ms = []
    for (let i = 0; i < runs; i++) ms.push(await once())
    const info = rec.status().engine.info
    return { ms, threads: info.threads }
  }
  const first = async ({ cands }) => {
    while (!window.ready) await new Promise((r) => setTimeout(r, 20))
    const t0 = performance.now()
    const rec = window.inpage.createRecommender({ model: '/models/inpage-sci-v1/', consent: 'granted', backend: 'wasm', name: 'bench-engines' })
    let r
    do r = await rec.rerank(cands, { budgetMs: 60_000 })
    while (!r.personalized)
    return { ms: performance.now() - t0, fromCache: rec.status().engine.info.fromCache }
  }
  const measured = {}
  {
    const { ctx, page } = await openPage('bench.html')
    const w = await page.evaluate(warm, arg)
    await page.goto(`${base}/bench.html`)
    measured.chromium = { name: `Chromium ${browser.version()}`, warm: w, first: await page.evaluate(first, arg) }
    await ctx.close()
  }
  for (const engine of ['firefox', 'webkit']) {
    const s = await launchEngine(engine)
    try {
      await s.goto(`${base}/bench.html`)
      const w = await s.run(warm, arg)
      await s.goto(`${base}/bench.html`)
      measured[engine] = { name: s.version, warm: w, first: await s.run(first, arg) }
    } finally {
      await s.close()
    }
  }
  const ref = measured.chromium
  for (const m of Object.values(measured)) {
    const engine = `${m.name} (WASM, ${m.warm.threads} thread${m.warm.threads > 1 ? 's' : ''})`
    const baseline = `${ref.name}, this run (ratio > 1: slower)`
    record({ name: `${engine}: rerank 100 candidates, warm`, median: median(m.warm.ms), p95: p95(m.warm.ms), unit: 'ms', baseline_median: median(ref.warm.ms), ratio: median(m.warm.ms) / median(ref.warm.ms), runs: m.warm.ms.length, baseline })
    record({ name: `${engine}: first rerank after page load, model ${m.first.fromCache ? 'from Cache API' : 'fetched again (not kept)'}`, median: m.first.ms, unit: 'ms', baseline_median: ref.first.ms, ratio: m.first.ms / ref.first.ms, runs: 1, baseline })
  }
}
