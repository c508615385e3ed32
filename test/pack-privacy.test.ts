// The pure and Node-side parts of the pack's privacy rules (SECURITY.md, "Requests" and the pack threat
// model): records are checked field by field, a pack's version is its key's, a history item without a kept
// record is scored from the page's own lists, and kept records follow the history's consent rules
// (fake-indexeddb). The browser side runs in e2e/pack-privacy.spec.ts.
import { createHash, generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { checkRecord, checkShard, keyVersion, quantize } from '../src/pack/format'
import { packNeighbors, type CatalogLookup } from '../src/ranking/personalize'
import { RecordStore } from '../workers/records'
import { decodeRecord } from '../workers/decoded'
import { listPackRecords, packDbName } from '../src/storage/erase'
import type { PackItem } from '../src/pack/format'

const vec = (n: number) => Array.from({ length: n }, (_, i) => Math.sin(i + 1))

describe('checkRecord', () => {
  it('accepts a record of the right shape and builds it fresh', () => {
    const r = { ...quantize(vec(8)), p: 3, n: [['b', 0.5]], f: [['__proto__', 0.25]], extra: 'dropped' }
    const out = checkRecord(r, 8)
    expect(out.pop).toBe(3)
    expect(out.neighbors).toEqual([['b', 0.5]])
    expect(out.next).toEqual([['__proto__', 0.25]])
    expect(out.next).not.toBe(r.f)
    expect(out.text).toHaveLength(8)
    expect(Object.keys(out).sort()).toEqual(['neighbors', 'next', 'pop', 'text'])
  })

  it.each([
    ['a text vector of another width', { ...quantize(vec(100)), p: 1 }, /100 floats, the model reads 8/],
    ['neighbours that are not a list', { p: 1, n: 'zz' }, /neighbours/],
    ['a neighbour weight that is not finite', { p: 1, n: [['b', null]] }, /neighbours/],
    ['next items that are not a list', { p: 1, f: { b: 0.5 } }, /f \(next items\) must be a list/],
    ['a next-item pair of the wrong shape', { p: 1, f: [['b']] }, /next items/],
    ['a next-item weight that is not finite', { p: 1, f: [['b', Number.POSITIVE_INFINITY]] }, /next items/],
    ['a next-item id that is not a string', { p: 1, f: [[7, 0.5]] }, /next items/],
    ['a negative popularity', { p: -1 }, /popularity/],
    ['a missing popularity', { n: [] }, /popularity/],
    ['a scale that is not finite', { t: 'AAAA', s: Number.NaN, p: 1 }, /text vector/],
    ['text that is not base64', { t: '!!!!', s: 1, p: 1 }, /base64/],
    ['null', null, /object/],
    ['a list', [1, 2], /object/],
  ])('refuses %s with a message saying what', (_, r, why) => {
    expect(() => checkRecord(r, 8)).toThrow(why)
  })

  it('checkShard refuses items that are not an object of records', () => {
    for (const bad of [{ items: null }, { items: [] }, null, 'x', {}]) expect(() => checkShard(bad)).toThrow(/shard|items/)
    expect(checkShard({ items: { a: { p: 1 } } }).items.a).toEqual({ p: 1 })
  })
})

describe('decodeRecord: a record object is checked and decoded once', () => {
  it('gives the same item for the same record, a fresh one for another object, and keeps text apart from public-only', () => {
    const r = { ...quantize(vec(8)), p: 2, n: [['b', 0.5]] }
    const a = decodeRecord(r, true, 8)
    expect(decodeRecord(r, true, 8)).toBe(a)
    expect(a).toEqual(checkRecord(r, 8))
    expect(decodeRecord({ ...r }, true, 8)).not.toBe(a)
    const pub = decodeRecord(r, false, 8)
    expect(pub.text).toBeUndefined()
    expect(pub).toEqual({ pop: 2, neighbors: [['b', 0.5]], next: [] })
    expect(decodeRecord(r, true, 8)).toBe(a)
  })
  it('refuses a bad record on every call (nothing kept of it), and a text vector of another width', () => {
    const bad = { p: -1 }
    for (let i = 0; i < 2; i++) expect(() => decodeRecord(bad, true, 8)).toThrow(/popularity/)
    const r = { ...quantize(vec(8)), p: 1 }
    decodeRecord(r, true, 8)
    expect(() => decodeRecord(r, true, 16)).toThrow(/8 floats, the model reads 16/)
  })
})

describe("a pack's version is its key's", () => {
  it('keyVersion gives what the builder writes (sha256 of x.y, 16 hex digits)', async () => {
    for (let i = 0; i < 3; i++) {
      const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as { x: string; y: string }
      expect(await keyVersion(jwk)).toBe(createHash('sha256').update(`${jwk.x}.${jwk.y}`).digest('hex').slice(0, 16))
    }
  })
})

describe('packNeighbors: a history item with no record on the device is never fetched for', () => {
  const rec = (n: [string, number][]): PackItem => ({ pop: 1, neighbors: n, next: [] })
  const items = new Map<string, PackItem>([
    ['h1', rec([['c1', 0.9]])],
    ['c1', rec([['h2', 0.4], ['x', 0.1]])],
    ['c2', rec([['h2', 0.2], ['h3', 0.7]])],
  ])
  it("uses its own list when kept, the page's lists for an unknown one, nothing for one known to be absent", () => {
    const lookup: CatalogLookup = { get: (id) => items.get(id), unknown: (id) => id === 'h2' }
    const n = packNeighbors(lookup, ['h1', 'h2', 'h3'], ['c1', 'c2'])
    expect([...n.get('h1')!]).toEqual([['c1', 0.9]])
    expect([...n.get('h2')!]).toEqual([
      ['c1', 0.4],
      ['c2', 0.2],
    ])
    // h3 is absent from the pack (its shard was read): the candidates' mention of it is not used.
    expect([...n.get('h3')!]).toEqual([])
  })
  it("reads a kept record's list as the same Map on every call (made once per record)", () => {
    const lookup: CatalogLookup = { get: (id) => items.get(id) }
    const a = packNeighbors(lookup, ['h1'], ['c1'])
    const b = packNeighbors(lookup, ['h1', 'c1'], ['c2'])
    expect(b.get('h1')).toBe(a.get('h1'))
    expect([...b.get('c1')!]).toEqual([['h2', 0.4], ['x', 0.1]])
  })
  it('without `unknown` (eval, or every record kept) it is the records alone, as before', () => {
    const n = packNeighbors({ get: (id) => items.get(id) }, ['h1', 'h2'], ['c1', 'c2'])
    expect([...n.get('h2')!]).toEqual([])
  })
})

describe('RecordStore follows the history’s consent rules', () => {
  const r = (p: number) => ({ pack: 'p@1', model: 'm@1', r: { p } })
  const dbs = async () => (await indexedDB.databases()).map((d) => d.name)

  it('pending: memory only, no database; a grant writes what memory holds; a new worker reads it back', async () => {
    const name = `rs-${Math.random()}`
    const s = new RecordStore(packDbName(name), 10, 86_400_000)
    await s.put([['__proto__', r(1)], ['constructor', r(2)], ['a', r(3)]])
    expect((await s.get(['__proto__', 'constructor', 'a', 'b'])).size).toBe(3)
    expect(await dbs()).not.toContain(packDbName(name))
    s.persistent = true
    await new Promise((res) => setTimeout(res, 50))
    expect((await listPackRecords(name)).map((x) => x.itemId).sort()).toEqual(['__proto__', 'a', 'constructor'])
    s.close()
    const again = new RecordStore(packDbName(name), 10, 86_400_000)
    again.persistent = true
    const got = await again.get(['__proto__', 'a'])
    expect(got.get('__proto__')?.r).toEqual({ p: 1 })
    expect(got.get('a')?.r).toEqual({ p: 3 })
    again.close()
  })

  it('keeps at most its limit (oldest use goes first) and nothing older than the retention', async () => {
    let now = 1_000_000
    const s = new RecordStore(packDbName(`rs-${Math.random()}`), 2, 1000, () => now)
    await s.put([['a', r(1)]])
    now += 10
    await s.put([['b', r(2)]])
    now += 10
    await s.put([['c', r(3)]])
    expect([...(await s.get(['a', 'b', 'c'])).keys()]).toEqual(['b', 'c'])
    now += 2000
    expect((await s.get(['b', 'c'])).size).toBe(0)
  })

  it('a tampered stored entry is not read back', async () => {
    const name = `rs-${Math.random()}`
    const s = new RecordStore(packDbName(name), 10, 86_400_000)
    s.persistent = true
    await s.put([['a', r(1)]])
    s.close()
    // Another script writes junk into the store.
    await new Promise<void>((res, rej) => {
      const req = indexedDB.open(packDbName(name))
      req.onsuccess = () => {
        const tx = req.result.transaction('kv', 'readwrite')
        tx.objectStore('kv').put({ pack: 1 }, 'a')
        tx.objectStore('kv').put('junk', 'b')
        tx.oncomplete = () => (req.result.close(), res())
        tx.onerror = () => rej(tx.error)
      }
    })
    const again = new RecordStore(packDbName(name), 10, 86_400_000)
    again.persistent = true
    expect((await again.get(['a', 'b'])).size).toBe(0)
    again.close()
  })
})
