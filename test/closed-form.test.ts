// The general model's user graph as the browser computes it without onnxruntime (manifest `user.closedForm`):
// it must be what the int8 graph computes, within 1e-5, for every history length the model reads and any event
// types. Run against the shipped user.int8.onnx with onnxruntime-node.

import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { checkManifest, closedFormUser, coreFiles, requiredFiles, type Manifest } from '../src/model/manifest'

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-node')
const dir = 'public/models/inpage-general-v1/'
const manifest = checkManifest(JSON.parse(readFileSync(`${dir}manifest.json`, 'utf8')))

/** A deterministic stream of floats in [-1, 1) (mulberry32). */
function rng(seed: number) {
  return () => {
    seed |= 0
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1
  }
}

describe('closed-form user model', () => {
  it('is declared by the general model and not by the trained sci model', () => {
    expect(manifest.user.closedForm).toMatchObject({ kind: 'recency-mean', pooled: 384 })
    const sci = checkManifest(JSON.parse(readFileSync('public/models/inpage-sci-v1/manifest.json', 'utf8')))
    expect(sci.user.closedForm).toBeUndefined()
    // A category page with a pack then loads no model file at all; the graph stays listed in the contract.
    expect(coreFiles(manifest, { neighbors: false })).toEqual([])
    expect(coreFiles(sci, { neighbors: false })).toContain(sci.user.file)
    expect(requiredFiles(manifest)).toContain(manifest.user.file)
  })

  it('matches the int8 ONNX graph within 1e-5 for histories of 0 to 50 events', async () => {
    const session = await ort.InferenceSession.create(readFileSync(`${dir}${manifest.user.file}`), { executionProviders: ['cpu'] })
    const d = manifest.dims.item
    const next = rng(7)
    let worst = 0
    for (const L of [0, 1, 2, 3, 5, 8, 13, 21, 34, 50]) {
      // Item vectors as the engine builds them: a unit text vector and the popularity prior in the last dim.
      const vecs = Array.from({ length: L }, () => {
        const v = Float32Array.from({ length: d }, next)
        let n = 0
        for (let i = 0; i < d - 1; i++) n += v[i]! ** 2
        for (let i = 0; i < d - 1; i++) v[i]! /= Math.sqrt(n)
        v[d - 1] = Math.abs(v[d - 1]!) * 0.8
        return v
      })
      const types = vecs.map(() => Math.floor(((next() + 1) / 2) * 4))
      const len = Math.max(1, L) // the engine runs an empty history as one masked slot
      const flat = new Float32Array(len * d)
      vecs.forEach((v, j) => flat.set(v, j * d))
      const res = await session.run({
        hist_vecs: new ort.Tensor('float32', flat, [1, len, d]),
        hist_types: new ort.Tensor('int64', BigInt64Array.from({ length: len }, (_, j) => BigInt(types[j] ?? 0)), [1, len]),
        hist_mask: new ort.Tensor('int64', BigInt64Array.from({ length: len }, (_, j) => (j < L ? 1n : 0n)), [1, len]),
      })
      const graph = res[manifest.user.output]!.data as Float32Array
      const formula = closedFormUser(manifest.user.closedForm!, vecs, d)
      for (let i = 0; i < d; i++) worst = Math.max(worst, Math.abs(graph[i]! - formula[i]!))
    }
    expect(worst).toBeLessThan(1e-5)
    await session.release()
  })

  it('refuses a malformed closed form by name', () => {
    const raw = JSON.parse(readFileSync(`${dir}manifest.json`, 'utf8')) as Manifest
    for (const bad of [{ ...raw.user.closedForm, kind: 'attention' }, { ...raw.user.closedForm, decay: 0 }, { ...raw.user.closedForm, pooled: 9999 }, { ...raw.user.closedForm, bias: [[385, 1]] }, { ...raw.user.closedForm, bias: [['__proto__', 1]] }]) {
      const m = structuredClone(raw)
      m.user.closedForm = bad as never
      expect(() => checkManifest(m)).toThrow(expect.objectContaining({ name: 'ModelLoadError', message: expect.stringMatching(/user\.closedForm/) }))
    }
  })
})
