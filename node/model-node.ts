// The shipped model, loaded in Node with onnxruntime-node: the same files, the same check of each against the
// manifest (src/model/files.ts) and the same InpageModel class the browser worker builds with onnxruntime-web.

import { readFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { checkManifest, coreFiles, encoderFiles } from '../src/model/manifest'
import { loadVerified } from '../src/model/files'
import { InpageModel } from '../src/model/model'

// CommonJS package: required, so plain Node ESM and vitest see the same module object. Required when a
// model is loaded, not at import: `inpage convert` runs without the optional peer installed.
const requireOrt = () => createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-node')

export interface LoadedModel {
  model: InpageModel
  dir: string
  /** sha256 of the encoder file: keys the item-vector cache. */
  encoderSha: string
}

/** The model of folder `dir`: every file it reads is checked against manifest.json first (ModelIntegrityError). */
export async function loadModel(dir: string, opts: { threads?: number } = {}): Promise<LoadedModel> {
  const manifest = checkManifest(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')))
  const names = [...coreFiles(manifest, { neighbors: true }), ...encoderFiles(manifest)]
  const files = await loadVerified(names, manifest.files, (f) => readFile(join(dir, f)))
  const buf = (f: string) => {
    const b = files.get(f)
    if (!b) throw new Error(`${f}: not among the model's files (${names.join(', ')})`)
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer
  }
  const threads = opts.threads ?? 2
  const ort = requireOrt()
  const session = (f: string, n: number) =>
    ort.InferenceSession.create(files.get(f)!, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: n, interOpNumThreads: 1 })
  // The user model is tiny and runs one history at a time: one thread is faster than two.
  // Where the manifest declares the user graph's closed form, the model computes it (as the browser does): no session.
  const [enc, usr] = await Promise.all([session(manifest.encoder.file, threads), manifest.user.closedForm ? undefined : session(manifest.user.file, 1)])
  const model = InpageModel.fromFiles(manifest, ort, enc, usr, buf)
  return { model, dir, encoderSha: manifest.files[manifest.encoder.file]?.sha256 ?? '' }
}
