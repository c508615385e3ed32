// The built-in holdout: which arm a shopper is in, decided on the device from a random key that
// the history keeps under its consent rules (src/history/history.ts), and what the holdout is shown.

import { invalidOptions } from './core/errors'
import { defineOptions, identifier, number, required } from './core/validate'
import { serverOrder } from './ranking/rerank'
import type { Candidate, RerankResult } from './ranking/types'

export { isShopperKey, newShopperKey } from './history/shopper-key'

export type Variant = 'personalized' | 'holdout'

export interface ExperimentOptions {
  /** Names the experiment: a new name reassigns every shopper (the key stays, the hash changes). 1-64 of [A-Za-z0-9_.-]. */
  name: string
  /** Share of shoppers held out (shown the server's order), 0 to 1. E.g. 0.1. */
  holdout: number
}

export interface ExperimentStatus {
  name: string
  holdout: number
  /** This shopper's arm. */
  variant: Variant
  /** 'device': the key is stored with the history (consent `granted`); 'page': kept in memory for this page only. */
  kept: 'device' | 'page'
}

export const experimentOptions = defineOptions<ExperimentOptions>('experiment', {
  name: required(identifier()),
  holdout: required(number({ min: 0, max: 1 })),
})

/** The `experiment` option, checked: InvalidOptionsError for a bad or unknown key. */
export function validateExperiment(raw: unknown, path = 'experiment'): ExperimentOptions {
  if (raw === undefined || raw === null) throw invalidOptions(`${path} must be an object { name, holdout }`)
  return experimentOptions.parse(raw, path)
}

/**
 * A uniform number in [0, 1) from the key and the experiment's name (cyrb53: 53 well-mixed bits; not a
 * secret, only a fair coin that lands the same way for the same key and name on every page).
 */
export function unitHash(key: string, name: string): number {
  const s = `${name}\u0000${key}`
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 2654435761)
    h2 = Math.imul(h2 ^ c, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)) / 2 ** 53
}

export function assign(key: string, e: ExperimentOptions): Variant {
  return unitHash(key, e.name) < e.holdout ? 'holdout' : 'personalized'
}

/**
 * What a holdout shopper is shown: the server's order of the same candidates, after the model ran
 * exactly as for the other arm (the call takes as long, the worker does the same work), so neither
 * the page's timing nor the network tells the arms apart. `why` keeps the run's reason when the model
 * did not personalize (warming-up, no-history, …: the page reacts the same way in both arms) and
 * says 'holdout' where it would have.
 */
export function holdoutResult(ran: RerankResult, candidates: readonly Candidate[], k: number | undefined): RerankResult {
  return {
    ...serverOrder(candidates, k),
    personalized: false,
    why: ran.why === 'personalized' ? 'holdout' : ran.why,
    backend: ran.backend,
    latencyMs: ran.latencyMs,
    ...(ran.error ? { error: ran.error } : {}),
    variant: 'holdout',
  }
}
