// eval's settings: the protocols, the splits, what a run may vary (EvalOptions) and the valid-only grids.

import { ITEM_KNN_DEFAULTS, type ItemKnnSettings } from './baselines'
import { DEFAULTS } from '../src/ranking/rerank'
import type { RankMetrics } from './metrics'
import type { NearDuplicatePolicy } from '../src/ranking/types'

export type Protocol = 'full' | 'category' | 'search'
export type Split = 'valid' | 'test'

export const PERSONAL_WEIGHT_GRID = [0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0] as const
export const QUERY_WEIGHT_GRID = [0.25, 0.5, 1] as const
export const TEXT_DECAY_GRID = [0.5, 0.8, 1.0] as const
/** Search without the query vector (the server's relevance and the history): its personalWeight, chosen on valid. */
export const SEARCH_SERVER_WEIGHT_GRID = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6] as const
/** RerankOptions.calibration levels (`--grid`, category and full): each a system of its own, `inpage-int8-calibration-<c>`. */
export const CALIBRATION_GRID = [0, 0.05, 0.1, 0.2, 0.3, 0.5] as const

export interface EvalOptions {
  protocol: Protocol
  split: Split
  excludeHistory: boolean
  /** Only the first N rows of the split. */
  users?: number
  personalWeight: number
  queryWeight: number
  /** Search protocol, `inpage-int8-server-query`: personalWeight of a search scored without the query vector. */
  searchServerPersonalWeight: number
  diversity: { lambda: number; maxPerCategory?: number }
  /**
   * Valid-only settings search: personalWeight (category), queryWeight and the no-query-vector personalWeight
   * (search), text-only decay (full).
   */
  grid?: boolean
  /** Recency decay of the text-only baseline's mean of history text vectors. */
  textDecay: number
  /** The item-kNN baseline, built from the evaluated data's training histories (eval/baselines.ts). */
  itemKnn: ItemKnnSettings
  /** Candidate list length of the category and search protocols. */
  pageSize: number
  /** Reasons (leave-one-out user vectors) for the inpage systems in the category protocol. */
  reasons: boolean
  /** The model's popularity prior on (RerankOptions.popularityPrior). */
  popularityPrior: boolean
  /** RerankOptions.purchased: matters only with the history kept on the page (`excludeHistory` false). */
  purchased: 'demote' | 'keep'
  /** RerankOptions.calibration of the inpage systems. */
  calibration: number
  /** RerankOptions.nearDuplicates of the inpage systems. */
  nearDuplicates: NearDuplicatePolicy
  /**
   * With a pack (`--catalog`): 'track' (default) — every history item has its pack record, as in the browser,
   * where a track() call takes it; 'none' — history items off the page have none (a history kept from before
   * records were taken): their text is encoded, their neighbours come from the page's lists (packNeighbors, src/ranking/personalize.ts).
   */
  historyRecords: 'track' | 'none'
  progress?: (done: number, total: number) => void
}

export const DEFAULT_OPTIONS: Omit<EvalOptions, 'protocol' | 'split' | 'personalWeight' | 'queryWeight'> = {
  searchServerPersonalWeight: DEFAULTS.searchServerPersonalWeight,
  excludeHistory: true,
  diversity: { lambda: 0.7, maxPerCategory: 3 },
  textDecay: 0.5,
  itemKnn: { ...ITEM_KNN_DEFAULTS },
  pageSize: 100,
  reasons: true,
  popularityPrior: true,
  purchased: DEFAULTS.purchased,
  calibration: DEFAULTS.calibration,
  nearDuplicates: DEFAULTS.nearDuplicates,
  historyRecords: 'track',
}

/** One point of the valid-only settings grid and the metrics of one system there. */
export interface GridPoint {
  personalWeight?: number
  queryWeight?: number
  textDecay?: number
  system: string
  metrics: RankMetrics
}
