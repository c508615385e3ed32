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

/** The terms read from the store's logs: the kNN term, and the next-item term (a pack's `f` lists, when tuned on). */
export interface LogTerms {
  knn?: { settings: KnnSettings; neighbors: Neighbors }
  next?: { settings: KnnSettings; lists: Neighbors }
}

/**
 * The logs' part of each candidate's score, weighted: kNN weight × knnScores over the neighbour lists, plus next
 * weight × the same sum over the next-item lists. undefined when neither term is on.
 */
export function logsScores(historyIds: readonly string[], candidateIds: readonly string[], terms: LogTerms, index: ReadonlyMap<string, number> = candidateIndex(candidateIds)): number[] | undefined {
  const { knn, next } = terms
  if (!knn && !next) return undefined
  const out = knn ? knnScores(historyIds, candidateIds, knn.neighbors, knn.settings.decay, index).map((x) => knn.settings.weight * x) : new Array<number>(candidateIds.length).fill(0)
  if (next) knnScores(historyIds, candidateIds, next.lists, next.settings.decay, index).forEach((x, i) => (out[i]! += next.settings.weight * x))
  return out
}

/** One candidate's personal score: dot(user vector, item vector) plus its weighted logs' part (0 without one). */
export const personalScore = (userVec: Vec, itemVec: Vec, logsPart: number): number => dot(userVec, itemVec) + logsPart

/** Each candidate's personal score, with the weighted logs' part of logsScores when there is one. */
export function personalScores(userVec: Vec, itemVecs: readonly Vec[], logsPart?: readonly number[]): number[] {
  const out = new Array<number>(itemVecs.length)
  for (let i = 0; i < itemVecs.length; i++) out[i] = personalScore(userVec, itemVecs[i]!, logsPart ? logsPart[i]! : 0)
  return out
}
