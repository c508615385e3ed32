// Types of the reranking call, shared by the main thread, the worker, eval and tests.

import type { EventType } from '../core/types'
import type { PackRecord } from '../pack/format'

/** One item the store's server proposes. Only public catalog data. */
export interface Candidate {
  id: string
  title: string
  brand?: string
  /** Category path, root first. */
  category?: string[]
  description?: string
  price?: number
  /** The server's own relevance score (higher is better). Without it, the server's order is used. */
  score?: number
  /** A public item vector from aggregate logs (see the model card); `dims.collab` floats. */
  vector?: number[]
  /**
   * The item's catalog-pack record, attached by the store's server (docs/catalog-pack.md; `openPack()`
   * in catalog/read.ts reads it from a pack built for this model): the browser then fetches nothing for it.
   */
  pack?: PackRecord
  /** Keeps its slot whatever the shopper's history says. */
  pinned?: boolean
  /** A paid placement: keeps its slot. */
  sponsored?: boolean
}

/** RerankOptions.purchased. */
export type PurchasedPolicy = 'demote' | 'keep'

/** RerankOptions.nearDuplicates. */
export type NearDuplicatePolicy = 'spread' | 'keep'

export type Surface = 'category' | 'search' | 'rail' | (string & {})

export interface RerankOptions {
  surface?: Surface
  /** Search query: encoded on the device, never sent anywhere. */
  query?: string
  /** How many top slots diversity and coverage look at. Default 10. */
  k?: number
  /** Give up and return the server's order after this many ms (warm-up continues). Default 300. */
  budgetMs?: number
  /**
   * 0 = server order, 1 = personal order only. Default 0.8; with a `query` 0.5, or 0.5 too while the query
   * is not scored on the device (chosen on validation; src/core/defaults.ts).
   */
  personalWeight?: number
  /** Weight of on-device query relevance against the shopper's taste, for search. Default 0.25. */
  queryWeight?: number
  /** An item moves up at most this many positions (and down at most this many). Default: unbounded. */
  maxDisplacement?: number
  /**
   * Let the model's popularity prior count (models that ship one, e.g. inpage-sci-v1 2.x). `false` widens
   * exposure at some accuracy: on valid, full-catalog coverage@10 0.57 → 0.79 and category NDCG@10
   * 0.2826 → 0.2778 (eval/README.md). Default true.
   */
  popularityPrior?: boolean
  /** Drop candidates the shopper already bought (every one, repeats too). Default false. */
  excludePurchased?: boolean
  /**
   * What happens to an item the shopper already bought, when it is not dropped (`excludePurchased`):
   * 'demote' (default) places it after every item not bought (pinned and sponsored slots still hold), unless the
   * history shows it bought twice or more (a repeat purchase: kept in place); 'keep' ranks it as any other item.
   * A store shows what a shopper lacks, not what they just bought, except what they buy again.
   */
  purchased?: PurchasedPolicy
  diversity?: {
    /** MMR trade-off: 1 = relevance only, lower = more varied. Default 1. */
    lambda?: number
    /** At most this many items of one leaf category in the top k. Default: no cap. */
    maxPerCategory?: number
  }
  /**
   * Calibration to the history's category mix (Steck 2018): 0 = off, up to 1 = the top k mirrors the mix of the
   * leaf categories (`Candidate.category`) of the history's items as closely as the first 50 candidates allow. A
   * no-op when the candidates or the history items carry no category, or the candidates one. Default 0.2 (chosen on valid:
   * README, "Calibration").
   */
  calibration?: number
  /**
   * Items whose text vectors are near-identical (cosine ≥ 0.95: the same product in another size or colour): 'spread'
   * (default) keeps at most two of a kind in the top k, one more for each near-duplicate of it in the history, the
   * others just after it; 'keep' ranks them as any other item.
   */
  nearDuplicates?: NearDuplicatePolicy
}

/**
 * The evidence a reason rests on: 'similar', the item is like the cited one (the user vector's part of the drop is
 * the larger); 'bought-together', other shoppers bought them together (the pack's or model's neighbour lists: the kNN
 * part is the larger).
 */
export type ReasonKind = 'similar' | 'bought-together'

export interface Reason {
  kind: ReasonKind
  /** The history event that raised this item's personal score. */
  eventType: EventType
  itemId: string
  title: string
  /** How much the personal score drops if that event is removed (> 0). */
  contribution: number
  /** A sentence for the shopper, e.g. "Because you viewed 'Nitrile gloves'" (with the kind and the group when they say more). */
  text: string
  /** How many items in this part of the list (its top 10) cite the same event first; absent when only this one. */
  group?: number
}

export interface RankedItem {
  id: string
  /** The blended score that ordered the list. */
  score: number
  /** The model's personal score alone (what reasons explain). */
  personal: number
  /** 0-based position in the server's order. */
  serverRank: number
  reasons: Reason[]
}

/** 'holdout': the model would have personalized, but this shopper is in the experiment's holdout (src/experiment.ts). */
export type Why = 'personalized' | 'no-history' | 'consent' | 'warming-up' | 'budget' | 'engine-error' | 'model-error' | 'no-model' | 'holdout'

/**
 * Where a search's query relevance came from: 'device', the query encoded here and its relevance to each result
 * blended with the history (RerankOptions.queryWeight); 'server', the server's order or `Candidate.score` alone
 * (the encoder not loaded yet), the history weighed lower (defaults.rerank.searchServerPersonalWeight).
 */
export type QueryPath = 'device' | 'server'

export interface Coverage {
  k: number
  /** Distinct leaf categories in the top k. */
  categories: number
  /** Distinct brands in the top k; items without a brand count for none. */
  brands: number
}

export interface RerankResult {
  items: RankedItem[]
  personalized: boolean
  why: Why
  backend: 'webgpu' | 'wasm' | 'js' | 'none'
  latencyMs: number
  coverage: Coverage
  /** Set when `why` is an error: the error's name and message. */
  error?: { name: string; message: string }
  /** With the `experiment` option: the arm that ran ('holdout' is shown the server's order). */
  variant?: 'personalized' | 'holdout'
  /** With a `query`, when personalized: which search path ran (QueryPath). */
  query?: QueryPath
}
