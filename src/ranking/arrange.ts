// The top of a ranked list rearranged for what accuracy alone does not see: calibration to the history's category
// mix (Steck 2018) and near-duplicates spread out. Each reads only the first TOP_POOL items, so its cost does not
// grow with the list. Pure: the worker, eval and the tests run the same functions.

import { cosine, type Vec } from './vectors'
import type { NearDuplicatePolicy } from './types'

/** Steck's smoothing: the list's mix is mixed with α of the history's so the divergence stays finite. */
export const CALIBRATION_ALPHA = 0.01
/** Two items whose text vectors have at least this cosine are near-duplicates (the same product in another size or colour). */
export const NEAR_DUPLICATE_COSINE = 0.95
/** How far down the list calibration and near-duplicate spreading look for the top k (at least k). */
export const TOP_POOL = 50
/**
 * Items of one kind (near-duplicates of each other) the top k holds before the history asks for more. Valid, category
 * pages, 4,000 shoppers: 1 cut near-duplicate pairs 0.053 → 0.007 but NDCG@10 by 1.5 %; 2 cut them to 0.025 for 0.2 %.
 */
export const NEAR_DUPLICATES_PER_KIND = 2

/** Share of each category in `xs` (each entry counts once). */
function mix(xs: readonly string[]): Map<string, number> {
  const m = new Map<string, number>()
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1 / xs.length)
  return m
}

/** KL(p ‖ q̃) with q̃ = (1 − α)·q + α·p: p the history's category mix, q the list's (Steck 2018, eq. 4). */
export function miscalibration(history: readonly string[], list: readonly string[], alpha = CALIBRATION_ALPHA): number {
  const p = mix(history)
  const q = mix(list)
  let kl = 0
  for (const [c, pc] of p) kl += pc * Math.log(pc / ((1 - alpha) * (q.get(c) ?? 0) + alpha * pc))
  return kl
}

/**
 * Steck's greedy calibrated re-ranking of the top k: each slot takes the item of the first TOP_POOL (max k) that
 * maximises (1 − λ)·relevance − λ·KL(history mix ‖ mix of the picks with it), relevance being the score scaled to
 * [0, 1] over that pool. The rest keep their order after the picks. `categories[i]` is item i's category ('' for
 * none); `history` the history's categories (one per event, '' left out). λ = 0, a history without a category, or a
 * pool of one category (a catalog with one, e.g. amazon-beauty; or none): the order as it is. Relevance is the score,
 * so where MMR (`diversity.lambda`) reordered the top, calibration weighs the score, not that order.
 */
export function calibrate(order: readonly number[], scores: readonly number[], categories: readonly string[], history: readonly string[], o: { k: number; lambda: number }): number[] {
  const p = mix(history.filter((c) => c !== ''))
  const pool = order.slice(0, Math.max(o.k, TOP_POOL))
  // One category in the pool: every pick changes the divergence alike, so nothing is gained (and an order that is not
  // by score, MMR's, must not be re-sorted by it).
  if (!(o.lambda > 0) || !p.size || new Set(pool.map((i) => categories[i])).size < 2) return order.slice()
  let lo = Infinity
  let hi = -Infinity
  for (const i of pool) (lo = Math.min(lo, scores[i]!)), (hi = Math.max(hi, scores[i]!))
  const rel = (i: number) => (hi > lo ? (scores[i]! - lo) / (hi - lo) : 1)
  const counts = new Map<string, number>()
  const picked: number[] = []
  const left = pool.slice()
  while (picked.length < o.k && left.length) {
    const n = picked.length + 1
    let best = 0
    let bestVal = -Infinity
    for (let j = 0; j < left.length; j++) {
      const cat = categories[left[j]!]!
      // Only the history's categories enter the divergence: the list's other items count through n alone.
      let kl = 0
      for (const [c, pc] of p) kl += pc * Math.log(pc / (((1 - CALIBRATION_ALPHA) * ((counts.get(c) ?? 0) + (c === cat ? 1 : 0))) / n + CALIBRATION_ALPHA * pc))
      const val = (1 - o.lambda) * rel(left[j]!) - o.lambda * kl
      if (val > bestVal) (bestVal = val), (best = j) // strict: ties keep the earlier item
    }
    const i = left.splice(best, 1)[0]!
    picked.push(i)
    counts.set(categories[i]!, (counts.get(categories[i]!) ?? 0) + 1)
  }
  return [...picked, ...left, ...order.slice(pool.length)]
}

/**
 * Near-duplicates spread out of the top k: walking the first TOP_POOL items (max k) in order, an item waits until
 * after the top k when the top already holds NEAR_DUPLICATES_PER_KIND near-duplicates of it (text cosine ≥
 * NEAR_DUPLICATE_COSINE), unless the history asks for more: each history item that is a near-duplicate of it allows
 * one more of its kind (a shopper who bought two colours of a filament is shown four). Items without a vector never
 * wait. Nothing is dropped.
 */
export function spreadNearDuplicates(order: readonly number[], vectors: readonly (Vec | undefined)[], history: readonly (Vec | undefined)[], o: { k: number }): number[] {
  const pool = order.slice(0, Math.max(o.k, TOP_POOL))
  const picked: number[] = []
  const waiting: number[] = []
  let j = 0
  for (; j < pool.length && picked.length < o.k; j++) {
    const i = pool[j]!
    const v = vectors[i]
    let dups = 0
    if (v) for (const p of picked) if (vectors[p] && cosine(v, vectors[p]!) >= NEAR_DUPLICATE_COSINE) dups++
    // The history is read only for an item that has a near-duplicate above it.
    let allowed = NEAR_DUPLICATES_PER_KIND
    if (dups) for (const h of history) if (h && cosine(v!, h) >= NEAR_DUPLICATE_COSINE) allowed++
    ;(dups < allowed ? picked : waiting).push(i)
  }
  return [...picked, ...waiting, ...pool.slice(j), ...order.slice(pool.length)]
}

/** What arrangeTop reads, per item of the list (indices into these arrays) and of the history. */
export interface TopInputs {
  scores: readonly number[]
  /** Leaf category per item ('' for none). */
  categories: readonly string[]
  vectors?: readonly (Vec | undefined)[]
  /** Leaf category per history event ('' for none). */
  historyCategories: readonly string[]
  historyVectors?: readonly (Vec | undefined)[]
}

/**
 * Calibration, then near-duplicates spread, as RerankOptions set them, over the top min(k, TOP_POOL) slots (a larger k
 * would make both quadratic in it): what rankCandidates and eval's full ranking run.
 */
export function arrangeTop(order: readonly number[], x: TopInputs, o: { k: number; calibration: number; nearDuplicates: NearDuplicatePolicy }): number[] {
  const k = Math.min(o.k, TOP_POOL)
  let out = o.calibration > 0 ? calibrate(order, x.scores, x.categories, x.historyCategories, { k, lambda: o.calibration }) : order.slice()
  if (o.nearDuplicates === 'spread' && x.vectors) out = spreadNearDuplicates(out, x.vectors, x.historyVectors ?? [], { k })
  return out
}
