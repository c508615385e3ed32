// One typed ORT adapter and one verified-file check, shared by the worker (onnxruntime-web, fetched files) and
// Node (onnxruntime-node, files on disk): src/model/ort.ts and src/model/files.ts.
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type * as OrtWeb from 'onnxruntime-web/webgpu'
import type * as OrtNode from 'onnxruntime-node'
import { afterAll, describe, expect, it } from 'vitest'
import { loadModel } from '../node/model-node'
import { checkFile, fileMatches, loadVerified, sha256Hex } from '../src/model/files'
import { floatOutput, type OrtRuntime, type OrtSession, type OrtTensor } from '../src/model/ort'

// Type level (`npm run typecheck`): both runtimes satisfy the adapter as they are. A runtime, or an adapter,
// that changes so that one no longer does fails the typecheck here, before any cast could hide it.
type Satisfies<T extends U, U> = T
export type Runtimes = [Satisfies<typeof OrtWeb, OrtRuntime>, Satisfies<typeof OrtNode, OrtRuntime>]
export type Sessions = [Satisfies<OrtWeb.InferenceSession, OrtSession>, Satisfies<OrtNode.InferenceSession, OrtSession>]

const MODEL = 'public/models/inpage-sci-v1'
const manifest = JSON.parse(readFileSync(join(MODEL, 'manifest.json'), 'utf8')) as { files: Record<string, { bytes: number; sha256: string }> }
const name = async (p: Promise<unknown>) => p.then(() => 'resolved', (e: Error) => `${e.name}: ${e.message}`)

describe('the verified-file check (src/model/files.ts)', () => {
  const bytes = new TextEncoder().encode('abc')
  const entry = { bytes: 3, sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' } // FIPS 180-2's "abc"

  it('hashes with Web Crypto: the FIPS test vector', async () => {
    expect(await sha256Hex(bytes)).toBe(entry.sha256)
    expect(await fileMatches(bytes, entry)).toBe(true)
  })

  it('refuses a wrong size, a wrong digest and a file the manifest does not list, by name', async () => {
    expect(await name(checkFile('a.bin', bytes, entry))).toBe('resolved')
    expect(await name(checkFile('a.bin', bytes.subarray(0, 2), entry))).toBe('ModelIntegrityError: a.bin: 2 bytes, the manifest says 3')
    expect(await name(checkFile('a.bin', new TextEncoder().encode('abd'), entry))).toMatch(/^ModelIntegrityError: a\.bin: sha256 [0-9a-f]{64} does not match the manifest$/)
    expect(await name(checkFile('a.bin', bytes, undefined))).toBe('ModelIntegrityError: a.bin: not listed in the manifest')
    expect(await fileMatches(new TextEncoder().encode('abd'), entry)).toBe(false)
  })

  it('uses the digest it is given', async () => {
    const seen: number[] = []
    const digest = async (b: ArrayBuffer | Uint8Array) => (seen.push(b.byteLength), entry.sha256)
    const out = await loadVerified(['a', 'b'], { a: entry, b: entry }, async () => bytes, digest)
    expect([...out.keys()]).toEqual(['a', 'b'])
    expect(seen).toEqual([3, 3])
  })
})

describe('the model in Node reads only verified files (node/model-node.ts)', () => {
  const dirs: string[] = []
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))
  /** The shipped model folder with `file` replaced by `edit` of its bytes (the rest linked). */
  const tampered = (file: string, edit: (b: Buffer) => Buffer) => {
    const dir = mkdtempSync(join(tmpdir(), 'inpage-model-'))
    dirs.push(dir)
    for (const f of readdirSync(MODEL)) if (f !== file) symlinkSync(resolve(MODEL, f), join(dir, f))
    writeFileSync(join(dir, file), edit(readFileSync(join(MODEL, file))))
    return dir
  }

  it('a flipped byte in the user model is ModelIntegrityError, before any session', async () => {
    const dir = tampered('user.int8.onnx', (b) => {
      const c = Buffer.from(b)
      c[c.length >> 1]! ^= 1
      return c
    })
    expect(await name(loadModel(dir, { threads: 1 }))).toMatch(/^ModelIntegrityError: user\.int8\.onnx: sha256 [0-9a-f]{64} does not match the manifest$/)
  })

  it('a truncated tokenizer is ModelIntegrityError naming both sizes', async () => {
    const dir = tampered('tokenizer.json', (b) => b.subarray(0, 1000))
    expect(await name(loadModel(dir, { threads: 1 }))).toBe(`ModelIntegrityError: tokenizer.json: 1000 bytes, the manifest says ${manifest.files['tokenizer.json']!.bytes}`)
  })

  it('the untouched folder loads, and onnxruntime-node runs through the adapter', async () => {
    const { model } = await loadModel(MODEL, { threads: 1 })
    const [v] = await model.encode(['Borosilicate glass beaker, 250 ml'])
    expect(v).toBeInstanceOf(Float32Array)
    expect(v!.length).toBe(model.manifest.dims.text)
    expect(v!.every(Number.isFinite)).toBe(true)
    await model.release()
  }, 60_000)
})

describe('floatOutput', () => {
  const tensor = (type: string, data: unknown): OrtTensor => ({ type, data, dims: [1] })
  it('gives float32 data and refuses anything else as ModelDataError', async () => {
    const f = new Float32Array([1, 2])
    expect(floatOutput({ out: tensor('float32', f) }, 'out')).toBe(f)
    expect(await name((async () => floatOutput({ out: tensor('int64', new BigInt64Array(1)) }, 'out'))())).toBe('ModelDataError: the model\'s output "out" is int64, not float32 data')
    expect(await name((async () => floatOutput({}, 'out'))())).toBe('ModelDataError: the model\'s output "out" is missing, not float32 data')
  })
})
