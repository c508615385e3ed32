// Auto-wiring from the script tag's own attributes:
//   <script src="/inpage/inpage.iife.js" data-model="/models/inpage-sci-v1/"></script>
// creates one recommender (InPage.recommender), tracks `[data-inpage-item]` elements and reorders
// `[data-inpage-rerank]` lists once the DOM is ready.

import { createRecommender, type ConsentState, type PackKey, type Recommender, type RecommenderOptions } from '../index'
import { wire, type Embed } from './wire'

export interface AutoWired {
  recommender?: Recommender
  embed?: Embed
}

/**
 * Reads data-model, data-catalog (and data-catalog-key), data-consent, data-backend, data-wasm-paths, data-name,
 * data-dwell-ms, data-budget-ms, data-experiment with data-holdout (the holdout), data-ga4 (the GA4 bridge). The
 * analytics events reach the page as DOM events on `document`: `inpage:impression` and `inpage:select` (detail: the event).
 */
export function autoWire(script: HTMLScriptElement | null): AutoWired {
  // Whatever the attributes say, the page keeps working and window.InPage stays defined.
  try {
    return wireFromAttributes(script)
  } catch (e) {
    console.error(`inpage: the script tag's data attributes were refused: ${(e as Error)?.name}: ${(e as Error)?.message}`)
    return {}
  }
}

function wireFromAttributes(script: HTMLScriptElement | null): AutoWired {
  const d = script?.dataset
  if (!d?.model) return {}
  const o: RecommenderOptions = { model: d.model }
  if (d.consent) o.consent = d.consent as ConsentState
  if (d.backend) o.backend = d.backend as RecommenderOptions['backend']
  // Relative to the page, like data-model, so both can sit in the same folder. A bad URL throws here.
  if (d.wasmPaths) o.wasmPaths = new URL(d.wasmPaths, location.href).href
  if (d.name) o.name = d.name
  if (d.catalog) {
    const url = new URL(d.catalog, location.href).href
    // data-catalog-key: the pack's public key as `npm run catalog` prints it (JSON), pinning the pack like SRI.
    o.catalog = d.catalogKey ? { url, publicKey: JSON.parse(d.catalogKey) as PackKey } : url
  }
  // A bad name or share is refused by createRecommender (InvalidOptionsError), like any other option.
  if (d.experiment !== undefined) o.experiment = { name: d.experiment, holdout: d.holdout === undefined ? Number.NaN : Number(d.holdout) }
  if (d.ga4 !== undefined) o.analytics = { ga4: true }
  const recommender = createRecommender(o)
  for (const name of ['impression', 'select'] as const)
    recommender.on(name, (detail) => document.dispatchEvent(new CustomEvent(`inpage:${name}`, { detail })))
  const num = (v?: string) => (v && Number(v) >= 0 ? Number(v) : undefined)
  const embed = wire(recommender, { dwellMs: num(d.dwellMs), budgetMs: num(d.budgetMs) })
  const go = () => void embed.refresh().catch((e) => console.warn('inpage:', e))
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', go, { once: true })
  else go()
  return { recommender, embed }
}
