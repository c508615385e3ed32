// The shipped model, loaded in Node with onnxruntime-node: the same files and the same InpageModel
// class the browser worker builds with onnxruntime-web.

import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { checkManifest } from '../src/model/manifest'
import { InpageModel, type OrtSession } from '../src/model/model'

// CommonJS package: required, so plain Node ESM and vitest see the same module object. Required when a
// model is loaded, not at import: `inpage convert` runs without the optional peer installed.
const requireOrt = () => createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-node')

export interface LoadedModel {
  model: InpageModel
  dir: string
  /** sha256 of the encoder file: keys the item-vector cache. */
  encoderSha: string
}

export async function loadModel(dir: string, opts: { threads?: number } = {}): Promise<LoadedModel> {
  const manifest = checkManifest(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')))
  const bytes = (f: string) => {
    const b = readFileSync(join(dir, f))
    const want = manifest.files[f]
    if (want && createHash('sha256').update(b).digest('hex') !== want.sha256) throw new Error(`${f}: sha256 differs from manifest.json`)
    return b
  }
  const buf = (f: string) => {
    const b = bytes(f)
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer
  }
  const threads = opts.threads ?? 2
  const ort = requireOrt()
  const session = (f: string, n: number) =>
    ort.InferenceSession.create(bytes(f), { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: n, interOpNumThreads: 1 })
  // The user model is tiny and runs one history at a time: one thread is faster than two.
  const [enc, usr] = await Promise.all([session(manifest.encoder.file, threads), session(manifest.user.file, 1)])
  const model = InpageModel.fromFiles(manifest, ort as never, enc as unknown as OrtSession, usr as unknown as OrtSession, buf)
  return { model, dir, encoderSha: manifest.files[manifest.encoder.file]?.sha256 ?? '' }
}
