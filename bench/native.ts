// The CPU's ceiling for the cold-encode figure: the same int8 encoder and the same InpageModel code,
// run natively by onnxruntime-node with a given thread count.
import { loadModel } from '../node/model-node'

export async function encodeNative(dir: string, texts: string[], threads: number, runs: number): Promise<number[]> {
  const { model } = await loadModel(dir, { threads })
  await model.encode(texts.slice(0, 8)) // first-run allocations out of the timing
  const times: number[] = []
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now()
    await model.encode(texts)
    times.push(performance.now() - t0)
  }
  await model.release()
  return times
}
