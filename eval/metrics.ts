// Metrics exactly as defined in ../shared/data/README.md (and training/inpage_train/metrics.py).

/** A miss: larger than any catalogue. */
export const MISS = 1e9

/**
 * Rank of `target`: 1 + #higher + #equal with a smaller item index. With `exclude`, those items
 * score −∞, and a target among them is a miss.
 */
export function rankOf(scores: ArrayLike<number>, target: number, exclude?: readonly number[]): number {
  let excluded: Set<number> | undefined
  if (exclude && exclude.length) {
    excluded = new Set(exclude)
    if (excluded.has(target)) return MISS
  }
  const st = scores[target]!
  if (Number.isNaN(st)) throw new Error('NaN score')
  let rank = 1
  for (let i = 0; i < scores.length; i++) {
    if (i === target || excluded?.has(i)) continue
    const s = scores[i]!
    if (s > st || (s === st && i < target)) rank++
  }
  return rank
}

/**
 * rankOf over `score(i)` for i < n, the history as a mask: each score computed as it is compared,
 * never stored (Set lookups and a stored score array per setting were most of the step's time).
 */
export function rankMasked(score: (i: number) => number, n: number, target: number, excluded: Uint8Array): number {
  if (excluded[target]) return MISS
  const st = score(target)
  if (Number.isNaN(st)) throw new Error('NaN score')
  let rank = 1
  for (let i = 0; i < n; i++) {
    const s = score(i)
    if ((s > st || (s === st && i < target)) && i !== target && !excluded[i]) rank++
  }
  return rank
}

/** The k best items (score desc, ties by smaller index), excluded items left out. */
export function topK(scores: ArrayLike<number>, k: number, exclude?: readonly number[]): number[] {
  const ex = new Set(exclude ?? [])
  const best: number[] = []
  const better = (a: number, b: number) => scores[a]! > scores[b]! || (scores[a] === scores[b] && a < b)
  for (let i = 0; i < scores.length; i++) {
    if (ex.has(i)) continue
    if (best.length === k && !better(i, best[k - 1]!)) continue
    let p = best.length === k ? k - 1 : best.length
    if (best.length < k) best.push(i)
    while (p > 0 && better(i, best[p - 1]!)) {
      best[p] = best[p - 1]!
      p--
    }
    best[p] = i
  }
  return best
}

export interface RankMetrics {
  'recall@10': number
  'ndcg@10': number
  'mrr@10': number
}

/** One row's NDCG@k gain: 1 / log2(rank + 1) within the top k, else 0 (one relevant item per row). */
export const rankGain = (rank: number, k = 10): number => (rank <= k ? 1 / Math.log2(rank + 1) : 0)

export function metricsFromRanks(ranks: readonly number[], k = 10): RankMetrics {
  let r = 0
  let n = 0
  let m = 0
  for (const x of ranks)
    if (x <= k) {
      r += 1
      n += rankGain(x, k)
      m += 1 / x
    }
  const c = Math.max(1, ranks.length)
  return { 'recall@10': r / c, 'ndcg@10': n / c, 'mrr@10': m / c }
}

/** Exposure of items across all top-k lists: catalogue coverage and Gini of the appearance counts. */
export class Exposure {
  readonly counts: Float64Array
  constructor(readonly nItems: number) {
    this.counts = new Float64Array(nItems)
  }
  add(topItems: readonly number[]) {
    for (const i of topItems) this.counts[i]! += 1
  }
  /** Distinct items in all top-k lists / catalogue size. */
  coverage(): number {
    let d = 0
    for (const c of this.counts) if (c > 0) d++
    return d / Math.max(1, this.nItems)
  }
  gini(): number {
    return gini(this.counts)
  }
}

/** Gini coefficient over all items (zeros included): 0 = equal exposure, → 1 = all on one item. */
export function gini(xs: ArrayLike<number>): number {
  const v = Float64Array.from(xs).sort()
  const n = v.length
  let sum = 0
  let acc = 0
  for (let i = 0; i < n; i++) {
    sum += v[i]!
    acc += (2 * (i + 1) - n - 1) * v[i]!
  }
  return sum > 0 ? acc / (n * sum) : 0
}
