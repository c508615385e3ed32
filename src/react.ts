// `inpage/react`: hooks over createRecommender. The server's order renders first (on the server and at
// hydration), the personal order replaces it when the engine answers: the same elements, moved, nothing
// added or removed. Nothing here touches window, indexedDB or Worker until an effect runs (server renders
// never run effects). React is a peer dependency; it stays external to this entry's bundle.
import { useEffect, useRef, useState } from 'react'
import { createRecommender } from './recommender'
import type { Recommender, RecommenderOptions } from './recommender'
import type { Candidate, RerankOptions, RerankResult } from './ranking/types'
import { rerankOptions } from './options'

interface Shared {
  rec: Recommender
  users: number
}
/** One recommender (one worker) per distinct options, shared by every component that asks for it. */
const shared = new Map<string, Shared>()

const keyOf = (options: RecommenderOptions) => JSON.stringify(options)

/**
 * The recommender for `options`: `undefined` on the server and in the first client render (so hydration
 * matches), then one instance shared by all components with the same options. It is disposed when the last
 * of them unmounts.
 */
export function useRecommender(options: RecommenderOptions = {}): Recommender | undefined {
  const key = keyOf(options)
  const [rec, setRec] = useState<Recommender | undefined>(undefined)
  useEffect(() => {
    let entry = shared.get(key)
    if (!entry) {
      entry = { rec: createRecommender(JSON.parse(key) as RecommenderOptions), users: 0 }
      shared.set(key, entry)
    }
    entry.users += 1
    setRec(entry.rec)
    const mine = entry
    return () => {
      mine.users -= 1
      if (mine.users === 0) {
        shared.delete(key)
        void mine.rec.dispose()
      }
      setRec(undefined)
    }
  }, [key])
  return rec
}

export interface UseRerankOptions extends RerankOptions {
  /** The recommender from useRecommender; while it is undefined the server's order stays. */
  recommender: Recommender | undefined
}

export interface UseRerank<C extends Candidate> {
  /** The candidates in the order to render: the server's until the personal order is ready. */
  items: C[]
  /** The engine's answer once it came (`personalized`, `why`, reasons per item). */
  result: RerankResult | undefined
  /** True while a rerank for the current candidates is running. */
  pending: boolean
}

/**
 * Renders `candidates` in the server's order, then in the shopper's order once `recommender.rerank` answers.
 * Only the order changes: every candidate stays in `items` (with `k`, the rest follow in the server's order).
 * A new list of candidates (by ids) or options starts over from the server's order; a late answer for an
 * old list, or after unmount, is dropped. Throws InvalidOptionsError while rendering for a bad or unknown option.
 */
export function useRerank<C extends Candidate>(candidates: C[], options: UseRerankOptions): UseRerank<C> {
  const { recommender, ...own } = options
  const ids = candidates.map((c) => c.id).join('\u0000')
  // Checked here, in render, not only by rerank(): its rejection keeps the server's order without a word, and a
  // misspelt option (InvalidOptionsError) is the developer's to see.
  const optionsKey = JSON.stringify(rerankOptions.parse(own))
  const [state, setState] = useState<{ ids: string; optionsKey: string; result: RerankResult } | undefined>(undefined)
  const latest = useRef(candidates)
  latest.current = candidates
  useEffect(() => {
    if (!recommender) return
    let live = true
    recommender
      .rerank(latest.current, JSON.parse(optionsKey) as RerankOptions)
      .then((result) => void (live && setState({ ids, optionsKey, result })))
      .catch(() => undefined) // invalid candidates reject: the server's order stays
    return () => {
      live = false
    }
  }, [recommender, ids, optionsKey])
  const result = state && state.ids === ids && state.optionsKey === optionsKey ? state.result : undefined
  if (!result || !result.personalized) return { items: candidates, result, pending: !!recommender && !result }
  const byId = new Map(candidates.map((c) => [c.id, c]))
  const ordered = result.items.map((i) => byId.get(i.id)).filter((c): c is C => c !== undefined)
  const placed = new Set(ordered.map((c) => c.id))
  return { items: [...ordered, ...candidates.filter((c) => !placed.has(c.id))], result, pending: false }
}
