// The schemas of rerank()'s and warmUp()'s options (src/core/validate.ts checks them): a bad value or an
// unknown key is refused by name (InvalidOptionsError) before it can reach the engine.

import { boolean, defineOptions, nested, number, oneOf, string, type OptionsValidator } from './core/validate'
import { LIMITS } from './history/events'
import type { RerankOptions } from './ranking/types'

const unit = () => number({ min: 0, max: 1 })

const diversity = defineOptions<NonNullable<RerankOptions['diversity']>>('diversity', {
  lambda: unit(),
  maxPerCategory: number({ int: true, min: 1 }),
})

/** rerank() options, per call and as `rerankDefaults`. */
export const rerankOptions: OptionsValidator<RerankOptions> = defineOptions<RerankOptions>('rerank options', {
  // Text the page took from a shopper is cut, not refused (as track() does).
  surface: string({ cut: LIMITS.surface }),
  query: string({ cut: LIMITS.query }),
  k: number({ int: true, min: 1 }),
  budgetMs: number({ min: 0 }),
  personalWeight: unit(),
  queryWeight: number({ min: 0 }),
  maxDisplacement: number({ int: true, min: 0 }),
  popularityPrior: boolean(),
  excludePurchased: boolean(),
  purchased: oneOf(['demote', 'keep'] as const),
  diversity: nested(diversity),
  calibration: unit(),
  nearDuplicates: oneOf(['spread', 'keep'] as const),
})

/** Validates rerank() options (per call, or `rerankDefaults`). Throws InvalidOptionsError; returns a clean copy. */
export const validateRerankOptions = (raw: unknown, path?: string): RerankOptions => rerankOptions.parse(raw, path)

export interface WarmUpOptions {
  /** Also load the text encoder now (with a catalog pack it otherwise waits for the first query). Default false. */
  encoder?: boolean
}

export const warmUpOptions: OptionsValidator<WarmUpOptions> = defineOptions<WarmUpOptions>('warmUp options', { encoder: boolean() })
