// From scores to an order: blend with the server, diversity, then the guardrails.

import { cosine, zscore, type Vec } from './vectors'
import type { Candidate, Coverage } from './types'

/** The server's signal per candidate: its score when every candidate has one, else its position. */
export function serverSignal(candidates: readonly Candidate[]): number[] {
  const scored = candidates.length > 0 && candidates.every((c) => typeof c.score === 'number' && Number.isFinite(c.score))
  return zscore(candidates.map((c, r) => (scored ? c.score! : -Math.log2(r + 2))))
}

/** (1 - w) · server + w · personal, each as standard scores over the list. */
export function blend(server: readonly number[], personal: readonly number[], personalWeight: number): number[] {
  const p = zscore(personal)
  return server.map((s, i) => (1 - personalWeight) * s + personalWeight * p[i]!)
}

/** Candidates sorted by score (ties keep the server order). */
export function byScore(scores: readonly number[]): number[] {
  return scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b)
}

export function leafCategory(c: { category?: readonly string[] }): string {
  return c.category?.at(-1) ?? ''
}

/**
 * Maximal marginal relevance over the first k picks: each pick maximises
 * λ·relevance − (1−λ)·(max similarity to what is already picked), relevance scaled to [0, 1];
 * an item whose leaf category already has `maxPerCategory` picks waits unless nothing else is left.
 * The rest keep their relevance order.
 */
export function diversify(
  order: readonly number[],
  scores: readonly number[],
  opts: { k: number; lambda: number; maxPerCategory?: number; vectors?: readonly (Vec | undefined)[]; categories: readonly string[] },
): number[] {
  const { k, lambda, maxPerCategory, vectors, categories } = opts
  if (lambda >= 1 && !maxPerCategory) return order.slice()
  let lo = Infinity
  let hi = -Infinity
  for (const i of order) (lo = Math.min(lo, scores[i]!)), (hi = Math.max(hi, scores[i]!)) // no Math.min(...xs): unbounded lists
  const rel = (i: number) => (hi > lo ? (scores[i]! - lo) / (hi - lo) : 1)
  const left = order.slice()
  const picked: number[] = []
  const perCat = new Map<string, number>()
  while (picked.length < k && left.length) {
    let best = -1
    let bestVal = -Infinity
    for (let pass = 0; pass < 2 && best < 0; pass++) {
      for (let j = 0; j < left.length; j++) {
        const i = left[j]!
        const cat = categories[i]!
        if (pass === 0 && maxPerCategory && cat && (perCat.get(cat) ?? 0) >= maxPerCategory) continue
        let sim = 0
        const v = vectors?.[i]
        if (lambda < 1 && v) for (const p of picked) sim = Math.max(sim, vectors?.[p] ? cosine(v, vectors[p]!) : 0)
        const val = lambda * rel(i) - (1 - lambda) * sim
        if (val > bestVal) {
          bestVal = val
          best = j
        }
      }
    }
    const i = left.splice(best, 1)[0]!
    picked.push(i)
    perCat.set(categories[i]!, (perCat.get(categories[i]!) ?? 0) + 1)
  }
  return [...picked, ...left]
}

/**
 * Places items into slots. Pinned and sponsored candidates keep their server slot. The others fill
 * the free slots in `preference` order, except that with `maxDisplacement` d no item moves more than
 * d slots up, and an item about to fall more than d slots down takes the slot first.
 */
export function placeInSlots(candidates: readonly Candidate[], preference: readonly number[], maxDisplacement?: number): number[] {
  const n = preference.length
  const slots = new Array<number>(n).fill(-1)
  const present = new Set(preference)
  const fixed = new Set<number>()
  // Fixed items keep their server index when it is still a slot in the (possibly shorter) list.
  for (const i of preference) if ((candidates[i]!.pinned || candidates[i]!.sponsored) && i < n && slots[i] === -1) {
    slots[i] = i
    fixed.add(i)
  }
  const d = maxDisplacement ?? Infinity
  if (!fixed.size && d === Infinity) return [...preference] // nothing holds a slot: the preference is the order
  const free = preference.filter((i) => !fixed.has(i))
  for (let s = 0; s < n; s++) {
    if (slots[s] !== -1) continue
    let pick = -1
    // An item that would fall more than d below its server slot goes first (smallest server rank).
    for (let j = 0; j < free.length; j++) if (free[j]! + d <= s && (pick < 0 || free[j]! < free[pick]!)) pick = j
    if (pick < 0) pick = free.findIndex((i) => i - s <= d)
    if (pick < 0) pick = 0
    slots[s] = free.splice(pick, 1)[0]!
  }
  return slots.filter((i) => present.has(i))
}

export function coverage(candidates: readonly Candidate[], order: readonly number[], k: number): Coverage {
  const top = order.slice(0, k).map((i) => candidates[i]!)
  return {
    k,
    categories: new Set(top.map(leafCategory)).size,
    // Items without a brand are not one more brand: a catalog without brands (Beauty) spans 0.
    brands: new Set(top.flatMap((c) => (c.brand ? [c.brand] : []))).size,
  }
}
