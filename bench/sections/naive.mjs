// Warm rerank against the naive code a developer would write with transformers.js: load the
// same int8 encoder with AutoModel on the main thread, embed every candidate and history item on
// each call, user = mean of the history's vectors, score = dot product.
// One section of `npm run bench`: bench/run.mjs calls it with the shared context.

import { copyFileSync, mkdirSync } from 'node:fs'

export default async function naive({ catalog, openPage, record, median, p95 }) {
  const dir = 'bench/tmp/naive-model'
  mkdirSync(`${dir}/onnx`, { recursive: true })
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(`public/models/inpage-sci-v1/${f}`, `${dir}/${f}`)
  copyFileSync('public/models/inpage-sci-v1/encoder.int8.onnx', `${dir}/onnx/model_quantized.onnx`)
  const history = catalog.slice(2000, 2008)
  const { ctx, page } = await openPage('bench.html')
  const out = await page.evaluate(async ({ cat, history }) => {
    const text = (c) => [c.title, c.category.join(' '), c.brand ?? ''].map((x) => x.trim()).filter(Boolean).join('. ') + '.'
    const { AutoTokenizer, AutoModel, env } = await import('/vendor-transformers/transformers.min.js')
    env.allowRemoteModels = false
    env.allowLocalModels = true
    env.localModelPath = '/bench-tmp/'
    env.backends.onnx.wasm.wasmPaths = '/dist/ort/'
    const tokenizer = await AutoTokenizer.from_pretrained('naive-model')
    const model = await AutoModel.from_pretrained('naive-model', { dtype: 'q8', device: 'wasm' })
    const embed = async (texts) => {
      const inputs = await tokenizer(texts, { padding: true, truncation: true, max_length: 64 })
      const { text_vec } = await model({ input_ids: inputs.input_ids, attention_mask: inputs.attention_mask })
      return text_vec.tolist()
    }
    const naive = async (cands) => {
      const t0 = performance.now()
      const h = await embed(history.map(text))
      const u = h[0].map((_, j) => h.reduce((s, v) => s + v[j], 0) / h.length)
      const c = await embed(cands.map(text))
      const order = c.map((v, i) => [v.reduce((s, x, j) => s + x * u[j], 0), i]).sort((a, b) => b[0] - a[0])
      return { ms: performance.now() - t0, top: order[0][1] }
    }
    const rec = window.inpage.createRecommender({ model: '/models/inpage-sci-v1/', consent: 'granted', backend: 'wasm', name: 'bench-naive' })
    for (const h of history) await rec.track({ type: 'purchase', itemId: h.id, item: { title: h.title, brand: h.brand, category: h.category } })
    await rec.warmUp()
    const cands = cat.slice(0, 100)
    await naive(cands.slice(0, 4))
    await rec.rerank(cands, { budgetMs: 600_000 })
    const res = { naive: [], inpage: [] }
    for (let r = 0; r < 5; r++) {
      res.naive.push((await naive(cands)).ms)
      const t0 = performance.now()
      const out = await rec.rerank(cands, { budgetMs: 600_000 })
      if (!out.personalized) throw new Error(out.why)
      res.inpage.push(performance.now() - t0)
    }
    return res
  }, { cat: catalog, history })
  record({ name: 'warm rerank 100 vs naive transformers.js', median: median(out.inpage), p95: p95(out.inpage), unit: 'ms', baseline_median: median(out.naive), ratio: median(out.naive) / median(out.inpage), runs: out.inpage.length, baseline: 'transformers.js AutoModel on the main thread, embed all each call (ratio = times faster)' })
  await ctx.close()
}
