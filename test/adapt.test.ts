// The store's adaptation of the user vector (issue 26): the update's arithmetic, its pack form, and the trainer:
// on histories whose next item the text space cannot predict (the next item comes from another cluster), it must
// learn the jump and be kept; on histories the text space already predicts it changes little; it is reproducible.
import { describe, expect, it } from 'vitest'
import { adaptation, adaptUser, packAdapt, type Adaptation } from '../src/ranking/adapt'
import { checkTuning, MAX_ADAPT_SCALE } from '../src/pack/format'
import { trainAdaptation } from '../eval/adapt'

function rng(seed: number) {
  let s = seed
  return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
}
const normed = (v: Float32Array) => {
  const n = Math.hypot(...v)
  return v.map((x) => x / n)
}

/** 8 clusters of 25 items in 16 dimensions; a shopper's next item is from cluster `jump(c)` of the item before. */
function clustered(jump: (c: number) => number, seed = 1) {
  const r = rng(seed)
  const d = 16, C = 8, per = 25
  const centers = Array.from({ length: C }, () => normed(Float32Array.from({ length: d }, () => r() - 0.5)))
  const vecs = Array.from({ length: C * per }, (_, i) => normed(centers[Math.floor(i / per)]!.map((x) => x + 0.15 * (r() - 0.5))))
  const pick = (c: number) => c * per + Math.floor(r() * per)
  const hist = () => {
    let c = Math.floor(r() * C)
    const h = [pick(c)]
    for (let k = 0; k < 5; k++) h.push(pick((c = jump(c))))
    return h
  }
  const histories = Array.from({ length: 600 }, hist)
  const valid = Array.from({ length: 300 }, () => {
    const h = hist()
    return { hist: h.slice(0, -1), target: h.at(-1)! }
  })
  return { textVecs: vecs, histories, valid, decay: 0.5, maxHistory: 50 }
}

const small = { rank: 8, steps: 200, batch: 32, negatives: 200, lr: 0.01, calibSteps: 20, evalEvery: 50 }

describe('the adaptation', () => {
  it('adaptUser is u + B (Aᵀ u) on the text part; the rest of the vector is kept', () => {
    const ad: Adaptation = { dims: 3, rank: 2, a: Float32Array.of(1, 0, 0, 1, 1, 1), b: Float32Array.of(0.5, 0, 0, 0.5, 1, -1) }
    const u = Float32Array.of(1, 2, 3, 7)
    // Aᵀu = [1 + 3, 2 + 3] = [4, 5]; B·[4, 5] = [2, 2.5, -1]
    expect([...adaptUser(u, ad)]).toEqual([3, 4.5, 2, 7])
    expect([...u]).toEqual([1, 2, 3, 7])
  })

  it('its pack form is int8 per matrix, passes the reader, and decodes within half a step of each value', () => {
    const r = rng(3)
    const ad: Adaptation = { dims: 12, rank: 4, a: Float32Array.from({ length: 48 }, () => r() - 0.5), b: Float32Array.from({ length: 48 }, () => (r() - 0.5) / 10) }
    const p = packAdapt(ad)
    const checked = checkTuning({ adapt: JSON.parse(JSON.stringify(p)), chosenOn: { split: 'valid', users: 1, protocols: [], gain: 0 } }, 12).adapt!
    const back = adaptation(checked)
    expect(back.dims).toBe(12)
    ad.a.forEach((x, i) => expect(Math.abs(back.a[i]! - x)).toBeLessThanOrEqual(p.scale[0] / 2 + 1e-9))
    ad.b.forEach((x, i) => expect(Math.abs(back.b[i]! - x)).toBeLessThanOrEqual(p.scale[1] / 2 + 1e-9))
    // A NaN or Infinity is refused, not quantized to 0.
    expect(() => packAdapt({ ...ad, b: Float32Array.of(...ad.b.slice(1), NaN) })).toThrow(/not a finite number/)
    expect(() => packAdapt({ ...ad, a: Float32Array.of(Infinity, ...ad.a.slice(1)) })).toThrow(/not a finite number/)
    // The reader checks the size against the pack's dims, and the scale's bound.
    expect(() => checkTuning({ adapt: checked, chosenOn: { split: 'valid', users: 1, protocols: [], gain: 0 } }, 16)).toThrow(/tuning\.adapt\.a holds 48 values, not 16 × 4/)
    expect(() => checkTuning({ adapt: { ...checked, scale: [MAX_ADAPT_SCALE * 2, 0.01] }, chosenOn: { split: 'valid', users: 1, protocols: [], gain: 0 } }, 12)).toThrow(/tuning\.adapt\.scale\[0\]/)
  })

  it('learns a jump the text space cannot see, and is kept at its best valid step', () => {
    const data = clustered((c) => (c + 3) % 8)
    const res = trainAdaptation(data, small)
    expect(res.rows).toBe(600 * 5)
    expect(res.valid[0]!.step).toBe(0)
    expect(res.kept).toBeGreaterThan(0)
    expect(res.adaptation).toBeDefined()
    const best = res.valid.find((v) => v.step === res.kept)!.ndcg
    expect(best).toBe(Math.max(...res.valid.map((v) => v.ndcg)))
    expect(best).toBeGreaterThan(3 * res.valid[0]!.ndcg + 0.05)
    // Reproducible for a seed; another seed trains another update.
    const again = trainAdaptation(data, small)
    expect(again.valid).toEqual(res.valid)
    expect([...again.adaptation!.b]).toEqual([...res.adaptation!.b])
    expect([...trainAdaptation(data, { ...small, seed: 7 }).adaptation!.b]).not.toEqual([...res.adaptation!.b])
  })

  it('with the rest of the score in its softmax (offset), it learns only what the rest does not say', () => {
    const jump = (c: number) => (c + 3) % 8
    const data = clustered(jump)
    // An offset that already scores the jump: +2 for every item of the cluster after the last history item's.
    const offset = (hist: readonly number[], end: number) => {
      const c = jump(Math.floor(hist[end - 1]! / 25))
      return Float64Array.from({ length: 200 }, (_, i) => (Math.floor(i / 25) === c ? 2 : 0))
    }
    const plain = trainAdaptation(data, small)
    const withOffset = trainAdaptation({ ...data, offset }, small)
    // The valid check scores the whole: the offset alone beats the text part alone by far.
    expect(withOffset.valid[0]!.ndcg).toBeGreaterThan(plain.valid[0]!.ndcg + 0.1)
    // What the update adds on valid: the jump without the offset, little with it (the offset said it already).
    const gain = (r: typeof plain) => Math.max(...r.valid.map((v) => v.ndcg)) - r.valid[0]!.ndcg
    expect(gain(plain)).toBeGreaterThan(0.1)
    expect(gain(withOffset)).toBeLessThan(gain(plain) / 4)
  })

  it('keeps nothing when no step beats none, and trains nothing without rows', () => {
    // The next item is in the same cluster: the text space already predicts it, and a tiny learning rate moves nothing.
    const same = trainAdaptation(clustered((c) => c), { ...small, lr: 1e-9, steps: 100 })
    expect(same.kept).toBe(0)
    expect(same.adaptation).toBeUndefined()
    const none = trainAdaptation({ ...clustered((c) => c), histories: [[1], [2]] }, small)
    expect(none.rows).toBe(0)
    expect(none.adaptation).toBeUndefined()
  })
})
