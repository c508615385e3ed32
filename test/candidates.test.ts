import { describe, expect, it } from 'vitest'
import { nameOf } from './helpers'
import { validateCandidates, DEFAULT_MAX_CANDIDATES } from '../src/candidates'
import { ShopperHistory, dbNameFor } from '../src/history/history'


describe('validateCandidates', () => {
  it('keeps known fields only and truncates long strings', () => {
    const [c] = validateCandidates([{ id: 'a', title: 'x'.repeat(3000), brand: 'B', category: ['R', 'L'], price: 3, score: 0.5, vector: [1, 2], pinned: true, extra: 1 }])
    expect(Object.keys(c!).sort()).toEqual(['brand', 'category', 'id', 'pinned', 'price', 'score', 'title', 'vector'])
    expect(c!.title.length).toBe(512)
  })
  it.each([
    ['not an array', {}],
    ['a duplicate id', [{ id: 'a', title: 't' }, { id: 'a', title: 'u' }]],
    ['a missing id', [{ title: 't' }]],
    ['an empty id', [{ id: ' ', title: 't' }]],
    ['a missing title', [{ id: 'a' }]],
    ['a NaN score', [{ id: 'a', title: 't', score: NaN }]],
    ['an infinite price', [{ id: 'a', title: 't', price: Infinity }]],
    ['a vector with NaN', [{ id: 'a', title: 't', vector: [1, NaN] }]],
    ['a string vector', [{ id: 'a', title: 't', vector: '1,2' }]],
    ['too many candidates', Array.from({ length: DEFAULT_MAX_CANDIDATES + 1 }, (_, i) => ({ id: `i${i}`, title: 't' }))],
  ])('refuses %s with InvalidCandidatesError', (_, raw) => {
    expect(nameOf(() => validateCandidates(raw))).toBe('InvalidCandidatesError')
  })
  it('honours a configured cap', () => {
    expect(nameOf(() => validateCandidates([{ id: 'a', title: 't' }, { id: 'b', title: 't' }], 1))).toBe('InvalidCandidatesError')
  })
})

describe('consent pending writes nothing', () => {
  it('creates no database at all before a grant', async () => {
    const name = `pending-${Date.now()}`
    const h = new ShopperHistory({ name })
    await h.add({ type: 'view', itemId: 'a', item: { title: 'A' }, ts: Date.now() })
    const names = (await indexedDB.databases()).map((d) => d.name)
    expect(names).not.toContain(dbNameFor(name))
    expect((await h.events()).map((e) => e.itemId)).toEqual(['a'])
  })
})

describe('attached catalog-pack records (Candidate.pack)', () => {
  it('are rebuilt from known keys, and bad ones refused by name', () => {
    const [c] = validateCandidates([{ id: 'a', title: 'A', pack: { p: 3, t: 'AAEC', s: 0.5, n: [['b', 0.25]], f: [['__proto__', 0.5]], extra: 1 } }])
    expect(c!.pack).toEqual({ p: 3, t: 'AAEC', s: 0.5, n: [['b', 0.25]], f: [['__proto__', 0.5]] })
    const f = [['c', 0.5]]
    expect(validateCandidates([{ id: 'a', title: 'A', pack: { p: 1, f } }])[0]!.pack!.f).not.toBe(f)
    const many = Array.from({ length: 1001 }, (_, i) => [`x${i}`, 0.001])
    for (const pack of [{ p: -1 }, { p: NaN }, { p: 1, t: 'not base64!' }, { p: 1, t: 'AAEC' }, { p: 1, n: [['b', Infinity]] }, { p: 1, n: 'b' }, [], { p: 1, f: [['b', NaN]] }, { p: 1, f: { b: 1 } }, { p: 1, f: [[1, 1]] }, { p: 1, f: many }])
      expect(() => validateCandidates([{ id: 'a', title: 'A', pack }])).toThrow(expect.objectContaining({ name: 'InvalidCandidatesError' }))
  })
})
