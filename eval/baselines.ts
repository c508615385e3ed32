// Baselines built from the evaluated data's own training histories (never from a model's shipped tables):
// item-kNN with the training code's definition (training/inpage_train/knn.py) and next-item transitions.

import type { Neighbors } from '../src/ranking/score'
import type { NeighborSettings } from '../src/pack/format'
import { KNN_TRAINING_DEFAULTS } from '../src/model/manifest'

/** Item-kNN settings. The defaults are the ones the shipped model's neighbour lists were built with
 * (public/models/inpage-sci-v1/manifest.json: training.settings.knn_min_count/gamma/alpha/beta/top_n,
 * backward pairs weighted 1 as in pipeline.py) and the browser's recency decay (scoring.knn.decay). */
export interface ItemKnnSettings extends Omit<NeighborSettings, 'window'> {
  /** Recency decay over the shopper's distinct history items when scoring (src/ranking/score.ts knnScores). */
  decay: number
}

export const ITEM_KNN_DEFAULTS: Readonly<ItemKnnSettings> = Object.freeze({ ...KNN_TRAINING_DEFAULTS, decay: 0.8 })

/** Neighbour weights w(a → b) by item index, from training histories (item indices, oldest first). As
 * training/inpage_train/knn.py cooc + weights: C_users[a, b] = distinct users holding both a and b; Cw[a, b]
 * sums gamma^(d − 1) over every position pair at distance d with b after a, and back · gamma^(d − 1) with b
 * before a (a repeated item pairs with itself never); pop = occurrences in the histories, at least 1. */
export function itemKnnWeights(histories: readonly (readonly number[])[], nItems: number, s: Omit<ItemKnnSettings, 'decay'>): Map<number, number>[] {
  const users: Map<number, number>[] = Array.from({ length: nItems }, () => new Map())
  const cw: Map<number, number>[] = Array.from({ length: nItems }, () => new Map())
  const pop = new Float64Array(nItems)
  const add = (m: Map<number, number>, k: number, v: number) => m.set(k, (m.get(k) ?? 0) + v)
  for (const h of histories) {
    for (const i of h) pop[i]! += 1
    if (h.length < 2) continue
    const uniq = [...new Set(h)]
    for (const a of uniq) for (const b of uniq) if (a !== b) add(users[a]!, b, 1)
    for (let i = 0; i < h.length; i++)
      for (let j = i + 1; j < h.length; j++) {
        const a = h[i]!
        const b = h[j]!
        if (a === b) continue
        const w = s.gamma ** (j - i - 1)
        add(cw[a]!, b, w)
        add(cw[b]!, a, w * s.back)
      }
  }
  return cw.map((row, a) => {
    const kept: [number, number][] = []
    for (const [b, c] of row)
      if (users[a]!.get(b)! >= s.minCount) kept.push([b, c / Math.max(pop[a]!, 1) ** s.alpha / Math.max(pop[b]!, 1) ** s.beta])
    kept.sort((x, y) => y[1] - x[1] || x[0] - y[0])
    return new Map(kept.slice(0, s.topN).filter(([, w]) => w > 0))
  })
}

/** The weights as the browser's neighbour lists (keyed by the dataset's item ids), for knnScores. */
export function itemKnnNeighbors(histories: readonly (readonly number[])[], ids: readonly string[], s: Omit<ItemKnnSettings, 'decay'>): Neighbors {
  const out = new Map<string, Map<string, number>>()
  itemKnnWeights(histories, ids.length, s).forEach((row, a) => {
    if (row.size) out.set(ids[a]!, new Map([...row].map(([b, w]) => [ids[b]!, w])))
  })
  return out
}

/** First-order transitions: T[a].get(b) = how often b immediately follows a in a training history. */
export function transitions(histories: readonly (readonly number[])[], nItems: number): Map<number, number>[] {
  const t: Map<number, number>[] = Array.from({ length: nItems }, () => new Map())
  for (const h of histories)
    for (let p = 0; p + 1 < h.length; p++) {
      const row = t[h[p]!]!
      row.set(h[p + 1]!, (row.get(h[p + 1]!) ?? 0) + 1)
    }
  return t
}

/** next-item score of each candidate: T[last history item][candidate] + pop / (max pop + 1). The
 * popularity part is below 1, so it only orders items with the same transition count (every item when the
 * last item was never followed by anything). No history: popularity alone. */
export function nextItemScores(hist: readonly number[], candidates: readonly number[], t: readonly Map<number, number>[], pop: ArrayLike<number>, maxPop: number): number[] {
  const row = hist.length ? t[hist[hist.length - 1]!] : undefined
  return candidates.map((i) => (row?.get(i) ?? 0) + pop[i]! / (maxPop + 1))
}
