// Catalog packs (issue 14): the format (round trip, versioning, bad files), the DuckDB aggregates against
// hand-computed values and against the shipped model's own neighbour lists (knn.py), and the builder.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { aggregate, NEXT_TOP_N, writeHistories } from '../catalog/aggregate'
import { buildPack } from '../catalog/build'
import { datasetDir } from '../node/data'
import { createPublicKey, verify } from 'node:crypto'
import {
  checkPackManifest,
  signedMessage,
  splitShardFile,
  decodeRecord,
  dequantize,
  fromBase64,
  quantize,
  shardOf,
  toBase64,
  type PackManifest,
  type Shard,
} from '../src/pack/format'

const tmp = mkdtempSync(join(tmpdir(), 'inpage-catalog-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const MODEL = 'public/models/inpage-sci-v1'

describe('pack format', () => {
  it('base64 matches Node and round-trips any bytes', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 383, 384]) {
      const b = new Uint8Array(n).map((_, i) => (i * 37 + 11) & 255)
      expect(toBase64(b)).toBe(Buffer.from(b).toString('base64'))
      expect([...fromBase64(toBase64(b))]).toEqual([...b])
    }
    expect(() => fromBase64('ab$d')).toThrow(/not base64/)
  })
  it('int8 vectors: every float within half a step, the zero vector stays zero', () => {
    const v = Float32Array.from({ length: 384 }, (_, i) => Math.sin(i) * 0.3)
    const { t, s } = quantize(v)
    const back = dequantize(t, s)
    for (let i = 0; i < v.length; i++) expect(Math.abs(back[i]! - v[i]!)).toBeLessThanOrEqual(s / 2 + 1e-7)
    const z = quantize(new Float32Array(8))
    expect([...dequantize(z.t, z.s)]).toEqual(new Array(8).fill(0))
  })
  it('shard numbers are stable (fnv1a32 of the id) and spread', () => {
    expect(shardOf('B000LEFTOVER', 1)).toBe(0)
    expect(shardOf('abc', 1000)).toBe(shardOf('abc', 1000))
    const counts = new Array(16).fill(0)
    for (let i = 0; i < 16_000; i++) counts[shardOf(`item-${i}`, 16)]++
    for (const c of counts) expect(c).toBeGreaterThan(800)
  })
  it('pack.json: refuses other formats, newer versions, another signature scheme, no shards', () => {
    const good: PackManifest = {
      format: 'inpage-catalog-pack',
      formatVersion: 1,
      name: 'x',
      version: '0123456789abcdef',
      model: 'm@1',
      createdAt: '2026-11-30T00:00:00Z',
      items: 10,
      dims: { text: 384 },
      textVectors: 'int8',
      shards: { count: 3, itemsPerShard: 4, hash: 'fnv1a32' },
      signature: { alg: 'ECDSA-P256-SHA256', publicKey: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' } },
      aggregates: { source: 's', users: 1, events: 1, priorScale: 8, neighbors: { minCount: 2, gamma: 0.8, back: 1, alpha: 0.3, beta: 0.1, topN: 50, window: 50 } },
    }
    expect(checkPackManifest(structuredClone(good)).name).toBe('x')
    const bad: [string, (m: PackManifest) => void, RegExp][] = [
      ['format', (m) => ((m as { format: string }).format = 'zip'), /format/],
      ['version', (m) => (m.formatVersion = 3), /formatVersion 3 is not supported/],
      ['sparse', (m) => (m.formatVersion = 2), /formatVersion 2 requires shards.sparse: true/],
      ['signature', (m) => ((m.signature as { alg: string }).alg = 'RSA'), /signature must be ECDSA-P256-SHA256/],
      ['key', (m) => ((m.signature.publicKey as { crv: string }).crv = 'P-384'), /P-256 public key/],
      ['shards', (m) => (m.shards.count = 0), /shards.count/],
      ['vectors', (m) => ((m as { textVectors: string }).textVectors = 'fp16'), /textVectors/],
    ]
    for (const [, edit, msg] of bad) {
      const m = structuredClone(good)
      edit(m)
      expect(() => checkPackManifest(m)).toThrow(msg)
    }
  })
})

describe('aggregates (DuckDB)', () => {
  it('pop, the distinct-shopper threshold, decayed forward/backward weights and top-N, by hand', async () => {
    const dir = join(tmp, 'hand')
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir)
    // items 0..3; shoppers: [0,1,2], [0,1], [1,0,3]
    writeHistories(join(dir, 'valid.inter'), [[0, 1, 2], [0, 1], [1, 0, 3]])
    const items = ['a', 'b', 'c', 'd'].map((id) => ({ id, shard: 0 }))
    const s = { minCount: 2, gamma: 0.5, back: 0.25, alpha: 0, beta: 0, topN: 1, window: 50 }
    const agg = await aggregate(dir, items, s)
    try {
      expect([...agg.pop]).toEqual([3, 3, 1, 1])
      expect({ users: agg.users, events: agg.events }).toEqual({ users: 3, events: 8 })
      const byId = new Map((await agg.shards(0, 1)).get(0)!.map((it) => [it.id, it]))
      // a→b: forward d=1 twice (1 + 1), backward once (0.25 × 1) = 2.25; three shoppers hold both (≥ 2).
      // a→c: forward d=2 (0.5) but one shopper only: dropped. topN 1 keeps only the strongest.
      expect(byId.get('a')!.neighbors).toEqual([['b', 2.25]])
      // b→a: backward twice (0.25 + 0.25) + forward once (1) = 1.5
      expect(byId.get('b')!.neighbors).toEqual([['a', 1.5]])
      expect(byId.get('c')!.neighbors).toEqual([])
      expect(byId.get('d')).toMatchObject({ pop: 1, neighbors: [] })
    } finally {
      agg.close()
    }
  })

  it('next items: P(b | a) over the steps from a (a repeat at once is no step), only where ≥ minCount shoppers made the step', async () => {
    const dir = join(tmp, 'next-hand')
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir)
    // steps from a: a→b (shoppers 0, 1, 3), a→d (shopper 2): 4 in all; a→a (shopper 3) is no step.
    // steps from b: b→c (0), b→a (2): one shopper each, below minCount 2.
    writeHistories(join(dir, 'valid.inter'), [[0, 1, 2], [0, 1], [1, 0, 3], [0, 0, 1]])
    const agg = await aggregate(dir, ['a', 'b', 'c', 'd'].map((id) => ({ id, shard: 0 })), { minCount: 2, gamma: 0.5, back: 0.25, alpha: 0, beta: 0, topN: 1, window: 50 })
    try {
      const byId = new Map((await agg.shards(0, 1)).get(0)!.map((it) => [it.id, it]))
      expect(byId.get('a')!.next).toEqual([['b', 3 / 4]])
      for (const id of ['b', 'c', 'd']) expect(byId.get(id)!.next, id).toEqual([])
    } finally {
      agg.close()
    }
  })

  it("reproduces the shipped model's neighbour lists (training/inpage_train/knn.py) on amazon-scientific exactly", async () => {
    const out = join(tmp, 'sci-none')
    const r = await buildPack({ data: datasetDir('amazon-scientific'), model: MODEL, out, textVectors: 'none', now: () => new Date(0) })
    expect(r.manifest).toMatchObject({ items: 4385, model: 'inpage-sci-v1@2.0.0', textVectors: 'none', aggregates: { users: 8442, neighbors: { minCount: 2 } } })
    const pack: Shard['items'] = {}
    for (const f of readdirSync(join(out, 'shards'))) Object.assign(pack, (JSON.parse(splitShardFile(readFileSync(join(out, 'shards', f), 'utf8')).json) as Shard).items)
    expect(Object.keys(pack).length).toBe(4385)
    const shipped = JSON.parse(readFileSync(join(MODEL, 'neighbors.json'), 'utf8')) as { items: Record<string, [string, number][]> }
    let lists = 0
    for (const [id, list] of Object.entries(shipped.items)) {
      expect(pack[id]!.n, id).toEqual(list)
      lists++
    }
    expect(lists).toBeGreaterThan(2000)
    // Items the shipped lists leave out have none in the pack either.
    expect(Object.entries(pack).filter(([id, rec]) => rec.n && !shipped.items[id])).toEqual([])
    // The next-item lists against a direct count over the same histories (3 digits, the likeliest NEXT_TOP_N).
    expect(r.manifest.aggregates.next).toEqual({ minCount: 2, topN: NEXT_TOP_N })
    const ids = readFileSync(join(datasetDir('amazon-scientific'), 'items.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { asin: string }).asin)
    const steps = new Map<string, Map<string, Set<string>>>()
    const from = new Map<string, number>()
    for (const line of readFileSync(join(datasetDir('amazon-scientific'), 'valid.inter'), 'utf8').trim().split('\n').slice(1)) {
      const [u, h] = line.split('\t')
      const hist = h!.trim().split(/ +/).filter(Boolean).map((i) => ids[Number(i)]!)
      for (let p = 0; p + 1 < hist.length; p++) {
        const [a, b] = [hist[p]!, hist[p + 1]!]
        if (a === b) continue
        from.set(a, (from.get(a) ?? 0) + 1)
        const row = steps.get(a) ?? steps.set(a, new Map()).get(a)!
        const key = `${b}`
        // one entry per occurrence (u and position), so the count is the set's size; shoppers counted apart
        ;(row.get(key) ?? row.set(key, new Set()).get(key)!).add(`${u}@${p}`)
      }
    }
    let withNext = 0
    for (const [id, rec] of Object.entries(pack)) {
      const expected = [...(steps.get(id) ?? [])]
        .filter(([, occ]) => new Set([...occ].map((o) => o.split('@')[0])).size >= 2)
        .map(([b, occ]) => [b, occ.size / from.get(id)!] as [string, number])
        .sort((x, y) => y[1] - x[1] || ids.indexOf(x[0]) - ids.indexOf(y[0]))
        .slice(0, NEXT_TOP_N)
      expect((rec.f ?? []).map(([b]) => b), id).toEqual(expected.map(([b]) => b))
      ;(rec.f ?? []).forEach(([, w], k) => expect(w).toBe(Number(expected[k]![1].toPrecision(3))))
      if (rec.f) withNext++
    }
    expect(withNext).toBeGreaterThan(300)
  }, 60_000)
})

describe('buildPack', () => {
  it('writes signed shards with the text vectors of the given encoder; a changed byte fails verification; refuses to overwrite', async () => {
    const data = join(tmp, 'tiny')
    mkdirSync(data, { recursive: true })
    const ids = Array.from({ length: 40 }, (_, i) => `sku-${i}`)
    writeFileSync(join(data, 'items.jsonl'), ids.map((asin, i) => JSON.stringify({ item: i, asin, title: `Thing ${i}`, brand: null, categories: ['Root'], description: null })).join('\n') + '\n')
    writeHistories(join(data, 'valid.inter'), [[0, 1, 2], [0, 1, 3], [1, 0], [5, 6, 5, 6]])
    const encode = async (texts: string[]) => texts.map((t) => Float32Array.from({ length: 384 }, (_, j) => Math.cos(j + t.length)))
    const out = join(tmp, 'tiny-pack')
    const r = await buildPack({ data, model: MODEL, out, itemsPerShard: 4, encode, name: 'tiny' })
    const m = checkPackManifest(JSON.parse(readFileSync(join(out, 'pack.json'), 'utf8')))
    expect(m).toMatchObject({ name: 'tiny', items: 40, textVectors: 'int8', shards: { count: 10, itemsPerShard: 4 } })
    expect(r.encodedItems).toBe(40)
    const key = createPublicKey({ key: m.signature.publicKey, format: 'jwk' })
    const ok = (i: number, text: string) => {
      const { signature, json } = splitShardFile(text)
      return verify('sha256', signedMessage(i, json), { key, dsaEncoding: 'ieee-p1363' }, signature)
    }
    let seen = 0
    for (let sh = 0; sh < 10; sh++) {
      const text = readFileSync(join(out, `shards/${sh}.json`), 'utf8')
      expect(ok(sh, text)).toBe(true)
      expect(ok((sh + 1) % 10, text)).toBe(false) // a shard cannot stand in for another
      expect(ok(sh, text.replace('"p":', '"p" :'))).toBe(false) // one changed byte
      for (const [id, rec] of Object.entries((JSON.parse(splitShardFile(text).json) as Shard).items)) {
        expect(shardOf(id, 10)).toBe(sh)
        expect(decodeRecord(rec).text!.length).toBe(384)
        seen++
      }
    }
    expect(seen).toBe(40)
    await expect(buildPack({ data, model: MODEL, out, encode })).rejects.toThrow(/holds a pack: pass --force/)
    // Each build signs with a key of its own: a new version, so browsers never mix shards of two builds.
    const again = await buildPack({ data, model: MODEL, out, itemsPerShard: 4, encode, name: 'tiny', force: true })
    expect(again.manifest.version).not.toBe(m.version)
    expect(again.manifest.version).toMatch(/^[0-9a-f]{16}$/)
  }, 60_000)
})
