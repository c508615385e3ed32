// Pack-time adaptation (issue 26): a store's own histories fine-tune how the user vector reads the text space.
// The user vector's text part u becomes u + B·(Aᵀ·u) (A, B: dims × rank), trained for next-item prediction on the
// store's training histories (every prefix → the item that followed), a softmax over the target and `negatives`
// items drawn at random each step, as the general model's projection was trained (inpage_train/encoder.py) but on
// one store. Only the user side moves: item vectors, queries and unknown items stay in the encoder's space, so a
// page never needs the adaptation to encode anything, and one matrix-vector product per call applies it.
// Kept at its best step on a text-only valid criterion (step 0 = none); the tuner then decides on the whole score.

import { rankGain, rankMasked } from './metrics'
import { rng } from './uplift' // mulberry32: training is reproducible per seed
import type { Adaptation } from '../src/ranking/adapt'

export interface AdaptOptions {
  /** The low-rank update's rank. */
  rank?: number
  steps?: number
  /** Training rows (history prefix → next item) per step. */
  batch?: number
  /** Random items each row's target competes with (the whole catalog when it is smaller). */
  negatives?: number
  lr?: number
  /** Steps that fit the softmax's temperature alone (A, B held) before the update trains. */
  calibSteps?: number
  /** Valid check every this many steps (and at 0 and the end); the best is kept. */
  evalEvery?: number
  /** Valid shoppers the check scores at most (evenly spread). */
  validUsers?: number
  seed?: number
  log?: (s: string) => void
}

export const ADAPT_DEFAULTS = Object.freeze({ rank: 32, steps: 400, batch: 128, negatives: 512, lr: 1e-3, calibSteps: 50, evalEvery: 100, validUsers: 1000, seed: 42 })

export interface AdaptInput {
  /** Every item's text vector (the pack's), `dims` long. */
  textVecs: readonly Float32Array[]
  /** Training histories, item indices oldest first (each prefix predicts the item after it). */
  histories: readonly (readonly number[])[]
  /** Valid rows: the history and the held-out next item. */
  valid: readonly { hist: readonly number[]; target: number }[]
  /** The user vector's recency decay (the closed form's), and how many recent items it reads. */
  decay: number
  maxHistory: number
  /**
   * The rest of the score, held fixed while the update trains (the logs' terms and the prior at the tuner's best
   * setting): for the history's first `end` items, every item's part, added to `textScale` × the text part. Without
   * it the update learns the text part alone; with it, what the rest does not already say.
   */
  offset?: (hist: readonly number[], end: number) => ArrayLike<number>
  /** The user vector's scale on the text part (the closed form's `skip`). Default 1. */
  textScale?: number
}

export interface AdaptResult {
  /** The update at its best valid step; undefined when step 0 (no update) was best. */
  adaptation?: Adaptation
  /** Text-only NDCG@10 on valid per checked step. */
  valid: { step: number; ndcg: number }[]
  kept: number
  rows: number
  seconds: number
}

/** The recency-weighted mean of the last `max` items' vectors (the closed-form user vector's text part, up to scale). */
function anchor(E: Float32Array, d: number, hist: readonly number[], end: number, decay: number, max: number, out: Float64Array) {
  out.fill(0)
  const from = Math.max(0, end - max)
  let total = 0
  for (let j = from; j < end; j++) {
    const w = decay ** (end - 1 - j)
    total += w
    const o = hist[j]! * d
    for (let x = 0; x < d; x++) out[x]! += w * E[o + x]!
  }
  if (total > 0) for (let x = 0; x < d; x++) out[x]! /= total
}

function gauss(rand: () => number) {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())
}

class Adam {
  m: Float64Array
  v: Float64Array
  t = 0
  constructor(n: number) {
    this.m = new Float64Array(n)
    this.v = new Float64Array(n)
  }
  step(p: Float32Array | Float64Array, g: Float64Array, lr: number) {
    this.t++
    const b1 = 0.9, b2 = 0.999
    const c1 = 1 - b1 ** this.t, c2 = 1 - b2 ** this.t
    for (let i = 0; i < p.length; i++) {
      this.m[i] = b1 * this.m[i]! + (1 - b1) * g[i]!
      this.v[i] = b2 * this.v[i]! + (1 - b2) * g[i]! * g[i]!
      p[i]! -= (lr * this.m[i]!) / c1 / (Math.sqrt(this.v[i]! / c2) + 1e-8)
    }
  }
}

/**
 * Trains the update on `input.histories` and keeps it at its best text-only valid NDCG@10 (step 0, no update,
 * counts). Pure computation; reproducible for a seed.
 */
export function trainAdaptation(input: AdaptInput, opts: AdaptOptions = {}): AdaptResult {
  const o = { ...ADAPT_DEFAULTS, ...opts }
  const t0 = performance.now()
  const N = input.textVecs.length
  const d = input.textVecs[0]?.length ?? 0
  const r = o.rank
  const E = new Float32Array(N * d)
  input.textVecs.forEach((v, i) => E.set(v.subarray(0, d), i * d))
  // Training rows: (history, position) for every position after the first.
  const rowsH: number[] = []
  const rowsK: number[] = []
  input.histories.forEach((h, hi) => {
    for (let k = 1; k < h.length; k++) if (h[k] !== h[k - 1]) (rowsH.push(hi), rowsK.push(k))
  })
  const rand = rng(o.seed)
  const ts = input.textScale ?? 1
  const A = new Float32Array(d * r)
  const B = new Float32Array(d * r) // zero: step 0 is no update
  for (let i = 0; i < A.length; i++) A[i] = gauss(rand) / Math.sqrt(d)
  let logc = Math.log(20)
  const adamA = new Adam(A.length), adamB = new Adam(B.length), adamC = new Adam(1)
  const step = Math.max(1, Math.ceil(input.valid.length / o.validUsers))
  const valid = input.valid.filter((_, i) => i % step === 0)

  const a = new Float64Array(d), at = new Float64Array(r), ua = new Float64Array(d), ga = new Float64Array(d), bg = new Float64Array(r)
  const applyTo = (u: Float64Array, out: Float64Array) => {
    at.fill(0)
    for (let x = 0; x < d; x++) for (let k = 0; k < r; k++) at[k]! += A[x * r + k]! * u[x]!
    for (let x = 0; x < d; x++) {
      let s = u[x]!
      for (let k = 0; k < r; k++) s += B[x * r + k]! * at[k]!
      out[x] = s
    }
  }
  const evaluate = () => {
    let sum = 0
    const inHist = new Uint8Array(N)
    for (const row of valid) {
      anchor(E, d, row.hist, row.hist.length, input.decay, input.maxHistory, a)
      applyTo(a, ua)
      for (const i of row.hist) inHist[i] = 1
      const off = input.offset?.(row.hist, row.hist.length)
      const dotOf = (i: number) => {
        let s = 0
        const o2 = i * d
        for (let x = 0; x < d; x++) s += ua[x]! * E[o2 + x]!
        return ts * s + (off ? off[i]! : 0)
      }
      // eval's rank: ties by index, the history excluded
      sum += rankGain(rankMasked(dotOf, N, row.target, inHist))
      for (const i of row.hist) inHist[i] = 0
    }
    return valid.length ? sum / valid.length : 0
  }

  const history: { step: number; ndcg: number }[] = []
  let best = { ndcg: evaluate(), step: 0, a: A.slice(), b: B.slice() }
  history.push({ step: 0, ndcg: best.ndcg })
  o.log?.(`adaptation: ${rowsH.length} training rows, rank ${r}, step 0 (none) valid NDCG@10 ${best.ndcg.toFixed(4)}`)
  const m = Math.min(o.negatives, N)
  const negs = new Int32Array(m)
  const logits = new Float64Array(m + 1)
  const gA = new Float64Array(A.length), gB = new Float64Array(B.length), gC = new Float64Array(1)
  const inHist = new Uint8Array(N)
  let lossSum = 0
  for (let s = 1; s <= o.steps && rowsH.length; s++) {
    const calib = s <= o.calibSteps
    for (let j = 0; j < m; j++) negs[j] = m === N ? j : Math.floor(rand() * N)
    gA.fill(0), gB.fill(0), gC.fill(0)
    const c = Math.exp(logc)
    for (let bi = 0; bi < o.batch; bi++) {
      const ri = Math.floor(rand() * rowsH.length)
      const hist = input.histories[rowsH[ri]!]!
      const k = rowsK[ri]!
      const target = hist[k]!
      anchor(E, d, hist, k, input.decay, input.maxHistory, a)
      applyTo(a, ua)
      const off = input.offset?.(hist, k)
      for (let j = 0; j < k; j++) inHist[hist[j]!] = 1
      let z0 = 0
      for (let x = 0; x < d; x++) z0 += ua[x]! * E[target * d + x]!
      logits[0] = c * (ts * z0 + (off ? off[target]! : 0))
      let mx = logits[0]!
      for (let j = 0; j < m; j++) {
        const i = negs[j]!
        if (i === target || inHist[i]) {
          logits[j + 1] = -Infinity
          continue
        }
        let z = 0
        const oi = i * d
        for (let x = 0; x < d; x++) z += ua[x]! * E[oi + x]!
        logits[j + 1] = c * (ts * z + (off ? off[i]! : 0))
        if (logits[j + 1]! > mx) mx = logits[j + 1]!
      }
      for (let j = 0; j < k; j++) inHist[hist[j]!] = 0
      let den = 0
      for (let j = 0; j <= m; j++) den += logits[j] === -Infinity ? 0 : Math.exp(logits[j]! - mx)
      lossSum += Math.log(den) + mx - logits[0]!
      // dL/dz_j = p_j − y_j; dL/dlogc = Σ (p_j − y_j) z_j (the logits are c·z)
      ga.fill(0)
      let dc = 0
      for (let j = 0; j <= m; j++) {
        if (logits[j] === -Infinity) continue
        const g = Math.exp(logits[j]! - mx) / den - (j === 0 ? 1 : 0)
        dc += g * logits[j]!
        if (calib) continue
        const oi = (j === 0 ? target : negs[j - 1]!) * d
        const gc = g * c * ts
        for (let x = 0; x < d; x++) ga[x]! += gc * E[oi + x]!
      }
      gC[0]! += dc / o.batch
      if (calib) continue
      // ua = a + B (Aᵀ a): dB = ga ⊗ (Aᵀ a); dA = a ⊗ (Bᵀ ga)
      bg.fill(0)
      for (let x = 0; x < d; x++) for (let kk = 0; kk < r; kk++) bg[kk]! += B[x * r + kk]! * ga[x]!
      for (let x = 0; x < d; x++)
        for (let kk = 0; kk < r; kk++) {
          gB[x * r + kk]! += (ga[x]! * at[kk]!) / o.batch
          gA[x * r + kk]! += (a[x]! * bg[kk]!) / o.batch
        }
    }
    const lc = Float64Array.of(logc)
    adamC.step(lc, gC, calib ? 0.05 : o.lr)
    logc = lc[0]!
    if (!calib) {
      adamA.step(A, gA, o.lr)
      adamB.step(B, gB, o.lr)
    }
    if (s % o.evalEvery === 0 || s === o.steps) {
      const ndcg = evaluate()
      history.push({ step: s, ndcg })
      o.log?.(`adaptation step ${s}: loss ${(lossSum / (o.evalEvery * o.batch)).toFixed(3)}, temperature ${(1 / Math.exp(logc)).toFixed(4)}, valid NDCG@10 ${ndcg.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`)
      lossSum = 0
      if (ndcg > best.ndcg) best = { ndcg, step: s, a: A.slice(), b: B.slice() }
    }
  }
  return {
    ...(best.step > 0 ? { adaptation: { dims: d, rank: r, a: best.a, b: best.b } } : {}),
    valid: history,
    kept: best.step,
    rows: rowsH.length,
    seconds: (performance.now() - t0) / 1000,
  }
}
