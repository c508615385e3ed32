// What a top 10 shows besides accuracy, per system: calibration against the history's category mix (Steck 2018),
// exposure across brands and the long tail, near-duplicates, items already bought; and for the inpage systems,
// how varied and how faithful their reasons are. eval/README.md defines each row.

import { cosine, type Vec } from '../src/ranking/vectors'
import { miscalibration, NEAR_DUPLICATE_COSINE } from '../src/ranking/arrange'
import type { RankedItem } from '../src/ranking/types'
import type { Scores } from '../src/ranking/rerank'
import { gini } from './metrics'
import { leafCategories } from '../node/data'

/** Long tail: items outside the most popular 20 % of the catalogue (training-history counts). */
export const HEAD_SHARE = 0.2

/** The catalogue facts the rows read, built once per dataset. */
export interface CatalogFacts {
  /** Leaf category per item ('' when none). */
  leaf: readonly string[]
  /** Brand per item (null when none). */
  brand: readonly (string | null)[]
  /** 1 for a long-tail item. */
  tail: Uint8Array
  textVecs: readonly Vec[]
  /** Distinct leaf categories: with one, calibration says nothing and is not reported. */
  leaves: number
  /** Distinct brands: with none, brand gini is not reported. */
  brands: string[]
}

export function catalogFacts(items: readonly { brand: string | null; categories: readonly string[] }[], pop: ArrayLike<number>, textVecs: readonly Vec[]): CatalogFacts {
  const leaf = leafCategories(items)
  const brand = items.map((it) => (it.brand?.trim() ? it.brand.trim() : null))
  const n = items.length
  const byPop = Array.from({ length: n }, (_, i) => i).sort((a, b) => pop[b]! - pop[a]! || a - b)
  const tail = new Uint8Array(n).fill(1)
  for (const i of byPop.slice(0, Math.ceil(HEAD_SHARE * n))) tail[i] = 0
  return { leaf, brand, tail, textVecs, leaves: new Set(leaf).size, brands: [...new Set(brand.filter((b): b is string => b !== null))] }
}

/** Share of the pairs in `list` whose vectors are near-duplicates, and the pair count. */
export function nearDuplicatePairs(vecs: readonly Vec[], threshold = NEAR_DUPLICATE_COSINE): { dup: number; pairs: number } {
  let dup = 0
  let pairs = 0
  for (let a = 0; a < vecs.length; a++)
    for (let b = a + 1; b < vecs.length; b++) {
      pairs++
      if (cosine(vecs[a]!, vecs[b]!) >= threshold) dup++
    }
  return { dup, pairs }
}

export interface ListMetrics {
  /** Mean KL divergence of the top 10's leaf-category mix from the history's (lower = better calibrated). */
  'miscalibration@10'?: number
  /** Gini of top-10 appearances over the catalogue's brands (zeros included). */
  'brand_gini@10'?: number
  /** Share of top-10 slots holding a long-tail item. */
  'long_tail@10': number
  /** Share of the top 10's item pairs that are near-duplicates. */
  'near_dup@10': number
  /** Share of top-10 slots holding an item the shopper already bought. */
  'purchased@10': number
}

/** Calibration and exposure of one system's top-10 lists over a run. */
export class ListQuality {
  private kl = 0
  private rows = 0
  private readonly brandCounts: Map<string, number>
  private tail = 0
  private slots = 0
  private dup = 0
  private pairs = 0
  private bought = 0
  constructor(private readonly f: CatalogFacts) {
    this.brandCounts = new Map(f.brands.map((b) => [b, 0]))
  }
  add(top: readonly number[], hist: readonly number[]) {
    if (hist.length && top.length) {
      this.kl += miscalibration(hist.map((i) => this.f.leaf[i]!), top.map((i) => this.f.leaf[i]!))
      this.rows++
    }
    const h = new Set(hist)
    for (const i of top) {
      const b = this.f.brand[i]
      if (b !== null && b !== undefined) this.brandCounts.set(b, (this.brandCounts.get(b) ?? 0) + 1)
      this.tail += this.f.tail[i]!
      if (h.has(i)) this.bought++
    }
    this.slots += top.length
    const d = nearDuplicatePairs(top.map((i) => this.f.textVecs[i]!))
    this.dup += d.dup
    this.pairs += d.pairs
  }
  result(): ListMetrics {
    const out: ListMetrics = {
      'long_tail@10': this.tail / Math.max(1, this.slots),
      'near_dup@10': this.dup / Math.max(1, this.pairs),
      'purchased@10': this.bought / Math.max(1, this.slots),
    }
    if (this.f.leaves > 1) out['miscalibration@10'] = this.kl / Math.max(1, this.rows)
    if (this.f.brands.length) out['brand_gini@10'] = gini([...this.brandCounts.values()])
    return out
  }
}

export interface ReasonMetrics {
  /** Share of the items moved up into the top 10 that carry a reason. */
  'moved_up_with_reason@10': number
  moved_up: number
  /** Per list: distinct cited events among the top 10's moved-up items / min(distinct history events, moved-up items). */
  'distinct_reasons@10'?: number
  /** Per cited reason: its contribution / the item's largest leave-one-out drop over the other items' events. */
  'cited_vs_largest@10'?: number
}

/** How the reasons on the top 10's moved-up items read over a run. */
export class ReasonQuality {
  private movedUp = 0
  private withReason = 0
  private distinct = 0
  private lists = 0
  private faith = 0
  private cited = 0
  /**
   * `items`: the ranked list; `scores`: what ranked it (serverRank indexes its candidates); `shownAt`: an item's
   * position in the server's list as the shopper sees it (purchased items dropped), what "moved up" compares with.
   */
  add(items: readonly RankedItem[], scores: Scores | undefined, shownAt: (it: RankedItem) => number, k = 10) {
    const moved = items.slice(0, k).filter((it, pos) => pos < shownAt(it))
    this.movedUp += moved.length
    const keys = new Set<string>()
    for (const it of moved) {
      const r = it.reasons[0]
      if (!r) continue
      this.withReason++
      keys.add(`${r.eventType}|${r.itemId}`)
      if (scores?.without && scores.events) {
        const i = it.serverRank
        let largest = 0
        scores.events.forEach((e, j) => {
          if (e.itemId !== it.id) largest = Math.max(largest, scores.personal[i]! - scores.without!.at(j, i))
        })
        if (largest > 0) {
          this.faith += r.contribution / largest
          this.cited++
        }
      }
    }
    const history = new Set(scores?.events?.map((e) => `${e.type}|${e.itemId}`) ?? []).size
    const room = Math.min(history, moved.length)
    if (room > 0) {
      this.distinct += keys.size / room
      this.lists++
    }
  }
  result(): ReasonMetrics | undefined {
    if (!this.movedUp) return undefined
    return {
      'moved_up_with_reason@10': this.withReason / this.movedUp,
      moved_up: this.movedUp,
      ...(this.lists ? { 'distinct_reasons@10': this.distinct / this.lists } : {}),
      ...(this.cited ? { 'cited_vs_largest@10': this.faith / this.cited } : {}),
    }
  }
}
