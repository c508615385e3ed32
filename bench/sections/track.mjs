// track(): throughput and per-call latency vs the naive one-put-per-event idb-keyval code.
// One section of `npm run bench`: bench/run.mjs calls it with the shared context.

export default async function track({ openPage, record, median, p95 }) {
  const RUNS = 5
  const N = 500
  const { ctx, page } = await openPage('bench.html')
  const runs = []
  for (let r = 0; r < RUNS; r++) {
    runs.push(
      await page.evaluate(async ({ N, r }) => {
        const item = { title: 'Nitrile gloves, box of 100', brand: 'Acme', category: ['Industrial & Scientific', 'Lab'], price: 12 }
        // inpage: validate + batch into one transaction per tick.
        const rec = window.inpage.createRecommender({ name: `bench${r}`, consent: 'granted', retention: { maxEvents: 100000 } })
        await rec.ready()
        const lat = []
        let t0 = performance.now()
        const writes = []
        for (let i = 0; i < N; i++) {
          const s = performance.now()
          writes.push(rec.track({ type: 'view', itemId: `i${i}`, item }))
          lat.push(performance.now() - s)
        }
        await Promise.all(writes)
        const inpageMs = performance.now() - t0
        // Baseline: what a developer writes without inpage: one IndexedDB put per event.
        const db = await new Promise((res, rej) => {
          const q = indexedDB.open(`naive${r}`)
          q.onupgradeneeded = () => q.result.createObjectStore('kv')
          q.onsuccess = () => res(q.result)
          q.onerror = () => rej(q.error)
        })
        t0 = performance.now()
        await Promise.all(Array.from({ length: N }, (_, i) => new Promise((res) => {
          const tx = db.transaction('kv', 'readwrite')
          tx.objectStore('kv').put({ type: 'view', itemId: `i${i}`, item, ts: Date.now() }, i)
          tx.oncomplete = res
        })))
        const naiveMs = performance.now() - t0
        return { inpageMs, naiveMs, lat }
      }, { N, r }),
    )
  }
  const thr = runs.map((x) => (N / x.inpageMs) * 1000)
  const base_ = runs.map((x) => (N / x.naiveMs) * 1000)
  record({ name: 'track() throughput (500 events, to IndexedDB)', median: median(thr), unit: 'events/s', baseline_median: median(base_), ratio: median(thr) / median(base_), runs: RUNS, baseline: 'one IndexedDB put per event' })
  const lat = runs.flatMap((x) => x.lat)
  record({ name: 'track() call latency on the main thread', median: median(lat), p95: p95(lat), unit: 'ms', runs: lat.length })
  await ctx.close()
}
