// The whole ordering step as one pure function: what the worker, the eval harness and the tests run.

import { blend, byScore, coverage, diversify, leafCategory, placeInSlots, serverSignal } from './order'
import { arrangeTop } from './arrange'
import { explain, type HistoryItemEvent, type LeaveOneOut } from './reasons'
import type { Candidate, RankedItem, Reason, RerankOptions, Coverage, QueryPath } from './types'
import { zscore, type Vec } from './vectors'
import { assertFinite } from '../core/errors'
import { defaults } from '../core/defaults'

/** The ranking defaults (chosen on valid: see src/core/defaults.ts before changing one). */
export const DEFAULTS = defaults.rerank

/**
 * A call's scores, as score() (src/ranking/personalize.ts) makes them, or a baseline's: everything the order,
 * the reasons and the coverage are made of. Options that only weigh them (personalWeight, queryWeight,
 * diversity, k, …) are rankCandidates' own, so one Scores serves every setting.
 */
export interface Scores {
  candidates: readonly Candidate[]
  /** Raw personal score per candidate. */
  personal: readonly number[]
  /** Leave-one-out personal scores per history event (without.at(e, i): candidate i with event e left out), for reasons. */
  without?: LeaveOneOut
  /**
   * The kNN (co-occurrence) part of `personal`, weighted as it is added there, and of each `without` row: what
   * tells a reason's kind ('bought-together' when most of its drop is this part, else 'similar').
   */
  knn?: readonly number[]
  knnWithout?: readonly (readonly number[])[]
  /** The history events the model read, in the order of `without`. */
  events?: readonly HistoryItemEvent[]
  /** On-device query relevance per candidate (search; absent while the query is left to the server). */
  queryRelevance?: readonly number[]
  /** Item text vectors: MMR similarity and near-duplicates. */
  vectors?: readonly (Vec | undefined)[]
  /** The text vectors of `events`' items (undefined where none is on this device): a near-duplicate the history asks for. */
  historyVectors?: readonly (Vec | undefined)[]
}

/** rankCandidates' answer: the order, its coverage, and with a query which search path ran. */
export interface Ranked {
  items: RankedItem[]
  coverage: Coverage
  /** 'device': the scores' on-device query relevance was blended in; 'server': a query without it (the server's relevance alone). */
  query?: QueryPath
}

/**
 * Orders candidates by the blend of the server's signal and the personal scores; `purchased` (ids the shopper
 * bought: purchasedFor() in events.ts says which for the options) is left out under `excludePurchased`, else placed
 * after the rest under `purchased: 'demote'` (the default). Pure: the same scores and options give the same order. Throws
 * ModelDataError when a personal or query score is not finite, or the blend overflows: such an order is never served.
 * A search (`o.query`) whose scores have no query relevance (score() with `queryVector: false`) takes the server's
 * relevance as it is and weighs the history by `searchServerPersonalWeight`.
 */
export function rankCandidates(input: Scores, o: RerankOptions = {}, purchased?: ReadonlySet<string>): Ranked {
  assertFinite(input.personal, 'personal scores')
  if (input.queryRelevance) assertFinite(input.queryRelevance, 'query relevance')
  const k = o.k ?? DEFAULTS.k
  // Work on the kept candidates; `keep[j]` is the server index of kept candidate j.
  const keep = input.candidates.map((_, i) => i).filter((i) => !(o.excludePurchased && purchased?.has(input.candidates[i]!.id)))
  const cands = keep.map((i) => input.candidates[i]!)
  const pick = <T>(xs: readonly T[] | undefined) => xs && keep.map((i) => xs[i]!)
  const personalRaw = pick(input.personal)!
  let personal = personalRaw
  const q = pick(input.queryRelevance)
  if (q) {
    const zp = zscore(personalRaw)
    const zq = zscore(q)
    const w = o.queryWeight ?? DEFAULTS.queryWeight
    personal = zp.map((p, j) => p + w * zq[j]!)
  }
  const query: QueryPath | undefined = q ? 'device' : o.query ? 'server' : undefined
  // Without on-device relevance nothing but the server's order keeps a search on its query: the history weighs less.
  const weight = query === 'device' ? DEFAULTS.searchPersonalWeight : query === 'server' ? DEFAULTS.searchServerPersonalWeight : DEFAULTS.personalWeight
  const personalWeight = o.personalWeight ?? weight
  const scores = blend(serverSignal(cands), personal, personalWeight)
  assertFinite(scores, 'blended scores')
  const categories = cands.map(leafCategory)
  const vectors = pick(input.vectors)
  const ranked = diversify(byScore(scores), scores, {
    k,
    lambda: o.diversity?.lambda ?? DEFAULTS.lambda,
    maxPerCategory: o.diversity?.maxPerCategory,
    vectors,
    categories,
  })
  // Demoted: what the shopper bought (once) goes after everything else, in the same relative order.
  const bought = (j: number) => !!purchased?.has(cands[j]!.id)
  const demote = !o.excludePurchased && (o.purchased ?? DEFAULTS.purchased) === 'demote' && !!purchased?.size
  // Calibration and near-duplicates rearrange the top of what is shown first (never a demoted item into it); weight 0
  // asks for the server's order, and gets it.
  const shown = demote ? ranked.filter((j) => !bought(j)) : ranked
  const top =
    personalWeight > 0
      ? arrangeTop(
          shown,
          { scores, categories, vectors, historyCategories: input.events?.map(leafCategory) ?? [], historyVectors: input.historyVectors },
          { k, calibration: o.calibration ?? DEFAULTS.calibration, nearDuplicates: o.nearDuplicates ?? DEFAULTS.nearDuplicates },
        )
      : shown
  const preference = demote ? [...top, ...ranked.filter(bought)] : top
  const order = placeInSlots(cands, preference, o.maxDisplacement)
  // Reasons for the items that moved up, one page of k slots at a time: distinct events are preferred within a page.
  const reasons = new Map<number, Reason[]>()
  if (input.without && input.events) {
    const s = {
      full: personalRaw,
      without: { events: input.without.events, at: (e: number, j: number) => input.without!.at(e, keep[j]!) },
      knn: pick(input.knn),
      knnWithout: input.knnWithout?.map((w) => pick(w)!),
      events: input.events,
      ids: cands.map((c) => c.id),
      mean: personalRaw.reduce((a, b) => a + b, 0) / Math.max(1, personalRaw.length),
    }
    // A k the public API refuses (0, negative, fractional: the pure function takes any) is one page, never a stuck loop.
    const page = Number.isInteger(k) && k >= 1 ? k : Math.max(1, order.length)
    for (let p = 0; p < order.length; p += page) {
      const movedUp = order.slice(p, p + page).filter((j, pos) => p + pos < j)
      if (movedUp.length) for (const [j, r] of explain(s, movedUp)) reasons.set(j, r)
    }
  }
  return {
    items: order.map((j) => ({
      id: cands[j]!.id,
      score: scores[j]!,
      personal: personalRaw[j]!,
      serverRank: keep[j]!,
      reasons: reasons.get(j) ?? [],
    })),
    coverage: coverage(cands, order, k),
    ...(query ? { query } : {}),
  }
}

/** The server's order, untouched, in the same result shape. */
export function serverOrder(candidates: readonly Candidate[], k: number = DEFAULTS.k): { items: RankedItem[]; coverage: Coverage } {
  const order = candidates.map((_, i) => i)
  return {
    items: candidates.map((c, i) => ({ id: c.id, score: 0, personal: 0, serverRank: i, reasons: [] })),
    coverage: coverage(candidates, order, k),
  }
}
