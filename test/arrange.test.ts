import { describe, expect, it } from 'vitest'
import { arrangeTop, calibrate, miscalibration, NEAR_DUPLICATE_COSINE, NEAR_DUPLICATES_PER_KIND, spreadNearDuplicates, TOP_POOL } from '../src/ranking/arrange'
import { rankCandidates } from '../src/ranking/rerank'
import { leaveOneOutRows } from '../src/ranking/reasons'
import { validateRerankOptions } from '../src/options'
import { nearDuplicatePairs } from '../eval/exposure'
import type { Candidate } from '../src/ranking/types'

/** A unit vector along axis `a`, tilted by `t` towards axis a + 1 (t = 0.1: cosine 0.995 with the untilted one). */
const vec = (a: number, t = 0): number[] => {
  const v = new Array<number>(32).fill(0)
  v[a] = 1
  v[(a + 1) % 32] = t
  return v
}

describe('near-duplicates (RerankOptions.nearDuplicates)', () => {
  // 0–3 are one product in four colours; 4, 5, 6 are other products.
  const vectors = [vec(0), vec(0, 0.1), vec(0, 0.05), vec(0, 0.08), vec(2), vec(4), vec(6)]
  const order = [0, 1, 2, 3, 4, 5, 6]
  expect(NEAR_DUPLICATES_PER_KIND).toBe(2)

  it('keeps two of a kind in the top k; the others wait just after it, nothing is dropped', () => {
    expect(spreadNearDuplicates(order, vectors, [], { k: 4 })).toEqual([0, 1, 4, 5, 2, 3, 6])
    expect(spreadNearDuplicates(order, vectors, [], { k: 7 }).slice(0, 5)).toEqual([0, 1, 4, 5, 6])
  })

  it('a near-duplicate in the history allows one more of its kind', () => {
    expect(spreadNearDuplicates(order, vectors, [vec(0, 0.02)], { k: 4 })).toEqual([0, 1, 2, 4, 3, 5, 6])
    expect(spreadNearDuplicates(order, vectors, [vec(0, 0.02), vec(0, 0.03)], { k: 4 })).toEqual(order)
    // A history item that is not a near-duplicate asks for nothing.
    expect(spreadNearDuplicates(order, vectors, [vec(2)], { k: 4 })).toEqual([0, 1, 4, 5, 2, 3, 6])
  })

  it('the threshold is eval’s: pairs under it stay, and the top 10 eval measures holds fewer near-duplicate pairs', () => {
    const far = [vec(0), vec(0, 0.5), vec(0, -0.5)] // cosines 0.89 with the first
    expect(spreadNearDuplicates([0, 1, 2], far, [], { k: 3 })).toEqual([0, 1, 2])
    const many = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? vec(0, i / 1000) : vec(i + 1)))
    const ids = many.map((_, i) => i)
    const pairs = (o: number[]) => nearDuplicatePairs(o.slice(0, 10).map((i) => many[i]!), NEAR_DUPLICATE_COSINE).dup
    expect(pairs(ids)).toBe(6) // four of a kind: six pairs
    expect(pairs(spreadNearDuplicates(ids, many, [], { k: 10 }))).toBe(1)
  })

  it('reads only the first TOP_POOL items: a long list costs the same', () => {
    const n = 1000
    const vs = Array.from({ length: n }, () => vec(0)) // all one product
    const out = spreadNearDuplicates(vs.map((_, i) => i), vs, [], { k: 10 })
    expect(out.slice(0, 2)).toEqual([0, 1])
    expect(out.slice(TOP_POOL)).toEqual(vs.map((_, i) => i).slice(TOP_POOL))
    expect(new Set(out).size).toBe(n)
  })

  it('a k over TOP_POOL arranges only the first TOP_POOL slots; a k the API refuses loses no item', () => {
    const n = 200
    const vs = Array.from({ length: n }, () => vec(0))
    const ids = vs.map((_, i) => i)
    const out = arrangeTop(ids, { scores: ids.map((i) => -i), categories: ids.map(() => ''), vectors: vs, historyCategories: [] }, { k: 150, calibration: 0, nearDuplicates: 'spread' })
    expect(out.slice(0, 2)).toEqual([0, 1])
    expect(out.slice(TOP_POOL)).toEqual(ids.slice(TOP_POOL))
    for (const k of [0, -3, 0.5, NaN, Infinity])
      expect(arrangeTop(ids, { scores: ids, categories: ids.map((i) => `c${i % 3}`), vectors: vs, historyCategories: ['c1'] }, { k, calibration: 0.5, nearDuplicates: 'spread' }).slice().sort((a, b) => a - b)).toEqual(ids)
  })

  it('rankCandidates spreads by default and keeps them under "keep"', () => {
    const candidates: Candidate[] = vectors.map((_, i) => ({ id: `c${i}`, title: `Item ${i}` }))
    const personal = [7, 6, 5, 4, 3, 2, 1]
    const scores = { candidates, personal, vectors }
    expect(rankCandidates(scores, { personalWeight: 1, k: 4 }).items.map((i) => i.id)).toEqual(['c0', 'c1', 'c4', 'c5', 'c2', 'c3', 'c6'])
    expect(rankCandidates(scores, { personalWeight: 1, k: 4, nearDuplicates: 'keep' }).items.map((i) => i.id)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6'])
    // Weight 0 is the server's order, near-duplicates and all.
    expect(rankCandidates(scores, { personalWeight: 0, k: 4 }).items.map((i) => i.id)).toEqual(candidates.map((c) => c.id))
  })
})

describe('calibration (RerankOptions.calibration, Steck 2018)', () => {
  // The history is half tools, half gloves; the list's best items are all tools.
  const categories = ['tools', 'tools', 'tools', 'tools', 'gloves', 'gloves']
  const scores = [1, 0.95, 0.9, 0.85, 0.5, 0.4]
  const order = [0, 1, 2, 3, 4, 5]
  const history = ['tools', 'gloves']

  it('λ = 0 keeps the order; λ > 0 brings the history’s other category into the top k and lowers the divergence', () => {
    expect(calibrate(order, scores, categories, history, { k: 4, lambda: 0 })).toEqual(order)
    const gloves = (o: number[]) => o.slice(0, 4).filter((i) => categories[i] === 'gloves').length
    const kl = (o: number[]) => miscalibration(history, o.slice(0, 4).map((i) => categories[i]!))
    const some = calibrate(order, scores, categories, history, { k: 4, lambda: 0.5 })
    const full = calibrate(order, scores, categories, history, { k: 4, lambda: 0.9 })
    expect([gloves(order), gloves(some), gloves(full)]).toEqual([0, 1, 2])
    expect(kl(some)).toBeLessThan(kl(order))
    expect(kl(full)).toBeLessThan(kl(some))
    expect(new Set(full).size).toBe(6)
  })

  it('is a no-op without categories on the candidates or in the history', () => {
    expect(calibrate(order, scores, ['', '', '', '', '', ''], history, { k: 4, lambda: 1 })).toEqual(order)
    expect(calibrate(order, scores, categories, [], { k: 4, lambda: 1 })).toEqual(order)
    expect(calibrate(order, scores, categories, ['', ''], { k: 4, lambda: 1 })).toEqual(order)
    // One category for all (amazon-beauty): an order that is not by score (MMR's) stays as it is.
    expect(calibrate([2, 0, 1, 3], scores, categories.map(() => 'Beauty'), ['Beauty'], { k: 4, lambda: 0.5 })).toEqual([2, 0, 1, 3])
  })

  it('reads only the first TOP_POOL items', () => {
    const n = 1000
    const cats = Array.from({ length: n }, (_, i) => (i < 900 ? 'tools' : 'gloves'))
    const out = calibrate(cats.map((_, i) => i), cats.map((_, i) => n - i), cats, ['gloves'], { k: 10, lambda: 1 })
    expect(out.slice(0, 10).every((i) => i < TOP_POOL)).toBe(true) // the gloves at 900+ are out of reach
    expect(out.slice(TOP_POOL)).toEqual(cats.map((_, i) => i).slice(TOP_POOL))
  })

  it('rankCandidates reads the history events’ categories', () => {
    const candidates: Candidate[] = categories.map((c, i) => ({ id: `c${i}`, title: `Item ${i}`, category: ['Root', c] }))
    const events = [
      { type: 'purchase' as const, itemId: 'h0', title: 'A drill', category: ['Root', 'tools'] },
      { type: 'purchase' as const, itemId: 'h1', title: 'Nitrile gloves', category: ['Root', 'gloves'] },
    ]
    const input = { candidates, personal: scores, events, without: leaveOneOutRows([scores, scores]) }
    const top = (calibration: number) => rankCandidates(input, { personalWeight: 1, k: 4, calibration }).items.slice(0, 4).map((i) => i.id)
    expect(top(0)).toEqual(['c0', 'c1', 'c2', 'c3'])
    expect(top(0.5)).toContain('c4')
    // The same events without categories: nothing to calibrate to.
    const plain = { ...input, events: events.map(({ category: _, ...e }) => e) }
    expect(rankCandidates(plain, { personalWeight: 1, k: 4, calibration: 0.5 }).items.slice(0, 4).map((i) => i.id)).toEqual(['c0', 'c1', 'c2', 'c3'])
  })

  it('arrangeTop calibrates, then spreads near-duplicates', () => {
    const vectors = [vec(0), vec(0, 0.01), vec(0, 0.02), vec(4), vec(5), vec(6)]
    const out = arrangeTop(order, { scores, categories, vectors, historyCategories: history }, { k: 4, calibration: 0.9, nearDuplicates: 'spread' })
    expect(out.slice(0, 4)).not.toContain(2)
    expect(out.slice(0, 4).filter((i) => categories[i] === 'gloves').length).toBe(2)
  })
})

describe('hostile values of the new options', () => {
  it('calibration and nearDuplicates are refused by name when wrong, copied when right', () => {
    for (const calibration of [NaN, -0.1, 1.5, Infinity, '0.5', null, {}, [0.5], true])
      expect(() => validateRerankOptions({ calibration })).toThrow(expect.objectContaining({ name: 'InvalidOptionsError', message: expect.stringMatching(/^calibration must be a number from 0 to 1/) }))
    for (const nearDuplicates of ['hide', '__proto__', 'toString', 'constructor', 1, {}, ['spread']])
      expect(() => validateRerankOptions({ nearDuplicates })).toThrow(expect.objectContaining({ name: 'InvalidOptionsError', message: expect.stringMatching(/^nearDuplicates must be one of 'spread', 'keep'/) }))
    expect(() => validateRerankOptions(JSON.parse('{"__proto__": {"calibration": 1}}'))).toThrow(expect.objectContaining({ name: 'InvalidOptionsError' }))
    expect(validateRerankOptions({ calibration: 0.2, nearDuplicates: 'keep' })).toEqual({ calibration: 0.2, nearDuplicates: 'keep' })
    expect(({} as Record<string, unknown>).calibration).toBeUndefined()
  })

  it('category names are compared as strings: "__proto__" and "constructor" are categories like any other', () => {
    const categories = ['constructor', 'constructor', 'constructor', '__proto__']
    const out = calibrate([0, 1, 2, 3], [1, 0.9, 0.8, 0.1], categories, ['constructor', '__proto__'], { k: 2, lambda: 0.9 })
    expect(out.slice(0, 2).sort()).toEqual([0, 3])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.getPrototypeOf({})).toBe(Object.prototype)
  })
})
