// First personalized rerank after page load: model from the network vs from the Cache API,
// plus long tasks on the main thread and the memory the page and its worker hold after warm-up.
// One section of `npm run bench`: bench/run.mjs calls it with the shared context.

export default async function first({ base, browser, catalog, record, median }) {
  const hist = catalog.slice(2000, 2006).map((c) => ({ id: c.id, item: { title: c.title, category: c.category } }))
  const cands = catalog.slice(0, 100).map((c) => ({ id: c.id, title: c.title, category: c.category }))
  const ctx = await browser.newContext()
  const page = await ctx.newPage()
  const first = async () => {
    await page.goto(`${base}/bench.html`)
    await page.waitForFunction(() => window.ready)
    return page.evaluate(async ({ hist, cands }) => {
      const t0 = performance.now()
      const rec = window.inpage.createRecommender({ model: '/models/inpage-sci-v1/', consent: 'granted', backend: 'wasm', name: 'bench-first' })
      for (const h of hist) await rec.track({ type: 'purchase', itemId: h.id, item: h.item })
      let r
      do r = await rec.rerank(cands, { budgetMs: 60_000 })
      while (!r.personalized)
      const ms = performance.now() - t0
      let memory
      try { memory = (await performance.measureUserAgentSpecificMemory()).bytes } catch {}
      return { ms, fromCache: rec.status().engine.info.fromCache, longTasks: window.longTasks.filter((d) => d > 50).length, memory }
    }, { hist, cands })
  }
  const net = await first()
  const cached = await first()
  record({ name: 'first rerank after page load, model from Cache API', median: cached.ms, unit: 'ms', baseline_median: net.ms, ratio: cached.ms / net.ms, runs: 1, baseline: 'model from the network (first visit)' })
  record({ name: 'long tasks (> 50 ms) on the main thread, load + track + rerank', median: net.longTasks + cached.longTasks, unit: 'tasks', runs: 2 })
  if (cached.memory) record({ name: 'page + worker memory after warm-up', median: cached.memory / 2 ** 20, unit: 'MiB', runs: 1 })
  await ctx.close()
}
