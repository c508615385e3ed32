// Cold encode of 100 item texts in the worker (WASM 1 and 2 threads; WebGPU on the fallback
// adapter, 10 texts, for the record) against onnxruntime-node natively with the same threads.
// One section of `npm run bench`: bench/run.mjs calls it with the shared context.

export default async function encode({ bundle, openPage, record, median }) {
  const RUNS = 3
  const native = await bundle('bench/native.ts')
  for (const threads of [1, 2]) {
    const { ctx, page } = await openPage('engine.html')
    const web = await page.evaluate(async ({ texts, threads, RUNS }) => {
      await window.startEngine({ backend: 'wasm', numThreads: threads })
      await window.engine.encode(texts.slice(0, 8))
      const out = []
      for (let r = 0; r < RUNS; r++) { const t0 = performance.now(); await window.engine.encode(texts); out.push(performance.now() - t0) }
      return out
    }, { texts: texts100, threads, RUNS })
    await ctx.close()
    const nat = await native.encodeNative('public/models/inpage-sci-v1', texts100, threads, RUNS)
    record({ name: `encode 100 texts, worker WASM ${threads} thread${threads > 1 ? 's' : ''}`, median: median(web), unit: 'ms', baseline_median: median(nat), ratio: median(web) / median(nat), runs: RUNS, baseline: `onnxruntime-node, ${threads} thread${threads > 1 ? 's' : ''}` })
  }
  const { ctx, page } = await openPage('engine.html')
  const gpu = await page.evaluate(async (texts) => {
    await window.startEngine({ backend: 'webgpu' })
    await window.engine.encode(texts.slice(0, 2))
    const t0 = performance.now(); await window.engine.encode(texts.slice(0, 10)); return performance.now() - t0
  }, texts100)
  await ctx.close()
  record({ name: 'encode 10 texts, worker WebGPU (SwiftShader fallback)', median: gpu, unit: 'ms', runs: 1, baseline: 'for the record: a software adapter' })
}
