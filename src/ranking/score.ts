// The model's personal score: dot(user vector, item vector) plus, when the model ships
// co-occurrence lists, a recency-weighted neighbour term (docs/model-contract.md).

import { dot, type Vec } from './vectors'

import type { Neighbors } from '../core/types'
export type { Neighbors }

export interface KnnSettings {
  weight: number
  decay: number
}

/** Unique items, most recent first (an item seen several times counts at its latest position). */
export function recentUnique(historyIds: readonly string[]): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (let i = historyIds.length - 1; i >= 0; i--) {
    const id = historyIds[i]!
    if (!seen.has(id)) {
      seen.add(id)
      out.push(id)
    }
  }
  return out
}

/** Candidate id → its position: built once per call when many history variants score the same candidates. */
export function candidateIndex(candidateIds: readonly string[]): ReadonlyMap<string, number> {
  return new Map(candidateIds.map((id, i) => [id, i]))
}

/** Σ over history items h (p = 0 for the most recent) of decay^p · w(h → i), per candidate. */
export function knnScores(
  historyIds: readonly string[],
  candidateIds: readonly string[],
  neighbors: Neighbors,
  decay: number,
  index: ReadonlyMap<string, number> = candidateIndex(candidateIds),
): number[] {
  const out = new Array<number>(candidateIds.length).fill(0)
  recentUnique(historyIds).forEach((h, p) => {
    const row = neighbors.get(h)
    if (!row) return
    const f = decay ** p
    for (const [j, w] of row) {
      const i = index.get(j)
      if (i !== undefined) out[i]! += f * w
    }
  })
  return out
}

/** One candidate's personal score: dot(user vector, item vector) plus its weighted kNN part (0 without one). */
export const personalScore = (userVec: Vec, itemVec: Vec, knnPart: number): number => dot(userVec, itemVec) + knnPart

export function personalScores(userVec: Vec, itemVecs: readonly Vec[], knn?: { settings: KnnSettings; scores: readonly number[] }): number[] {
  const out = new Array<number>(itemVecs.length)
  for (let i = 0; i < itemVecs.length; i++) out[i] = personalScore(userVec, itemVecs[i]!, knn ? knn.settings.weight * knn.scores[i]! : 0)
  return out
}
