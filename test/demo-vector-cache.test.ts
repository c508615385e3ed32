// The demo pack job's text-vector cache (demo/pack-job.ts cachedEncoder): a rebuild encodes only texts it has
// not seen, returns the vectors it stored bit for bit, and survives a file torn by a killed build.
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cachedEncoder } from '../demo/pack-job'

const D = 4
/** A deterministic encoder that records what it was asked. */
function encoder() {
  const asked: string[] = []
  const encode = async (texts: string[]) => {
    asked.push(...texts)
    return texts.map((t) => Float32Array.from({ length: D }, (_, i) => t.length * 0.1 + i + Math.PI * t.charCodeAt(0)))
  }
  return { asked, encode }
}

let dir: string
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('cachedEncoder', () => {
  it('encodes each new text once, and a second build none of them', async () => {
    dir = mkdtempSync(join(tmpdir(), 'inpage-vec-'))
    const file = join(dir, 'cache', 'enc.bin')
    const first = encoder()
    const a = cachedEncoder(file, D, first.encode)
    const got = await a.encode(['gloves. Lab.', 'beaker. Lab.', 'gloves. Lab.'])
    expect(first.asked).toEqual(['gloves. Lab.', 'beaker. Lab.'])
    expect(got[0]).toEqual(got[2])
    expect(a.hits).toBe(0)
    expect(statSync(file).size).toBe(2 * (16 + 4 * D))

    const second = encoder()
    const b = cachedEncoder(file, D, second.encode)
    const again = await b.encode(['beaker. Lab.', 'flask. Lab.', 'gloves. Lab.'])
    expect(second.asked).toEqual(['flask. Lab.'])
    expect(b.hits).toBe(2)
    // Bit for bit what the encoder made the first time.
    expect(Buffer.from(again[0]!.buffer)).toEqual(Buffer.from(got[1]!.buffer))
    expect(Buffer.from(again[2]!.buffer)).toEqual(Buffer.from(got[0]!.buffer))
  })

  it('keys by the whole text: a changed title is encoded again', async () => {
    dir = mkdtempSync(join(tmpdir(), 'inpage-vec-'))
    const file = join(dir, 'enc.bin')
    await cachedEncoder(file, D, encoder().encode).encode(['gloves. Lab.'])
    const e = encoder()
    await cachedEncoder(file, D, e.encode).encode(['gloves . Lab.', 'Gloves. Lab.'])
    expect(e.asked).toEqual(['gloves . Lab.', 'Gloves. Lab.'])
  })

  it('leaves out a torn last entry (a build killed while appending) and keeps the rest', async () => {
    dir = mkdtempSync(join(tmpdir(), 'inpage-vec-'))
    const file = join(dir, 'enc.bin')
    await cachedEncoder(file, D, encoder().encode).encode(['gloves. Lab.', 'beaker. Lab.'])
    const whole = readFileSync(file)
    appendFileSync(file, whole.subarray(0, 16 + 5)) // half an entry
    const e = encoder()
    const c = cachedEncoder(file, D, e.encode)
    await c.encode(['gloves. Lab.', 'beaker. Lab.'])
    expect(e.asked).toEqual([])
    expect(c.hits).toBe(2)
  })
})
