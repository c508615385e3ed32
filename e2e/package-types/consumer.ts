// Type-level tests through the package's `exports` map only, run twice: `npm run typecheck:dist` after the build
// (in this repository, where `inpage` resolves to its own package.json by TypeScript's self-reference: no `paths`),
// and e2e/package.spec.ts, which copies this folder into a fresh install of the packed tarball (bundler and node16
// resolution both times). Each @ts-expect-error is a misuse the published types must refuse: tsc fails if one is
// accepted (an unused @ts-expect-error is an error), and fails if a correct use stops compiling.
import {
  createRecommender,
  defaults,
  DEFAULT_RETENTION,
  InPageError,
  itemText,
  type BackendPreference,
  type Candidate,
  type ConsentState,
  type EngineInfo,
  type ExportDocument,
  type ImpressionEvent,
  type InPageErrorName,
  type Progress,
  type RerankResult,
  type SelectEvent,
  type TrackEvent,
  type Variant,
  type Why,
} from 'inpage'
import { linkConsent, type ConsentLink } from 'inpage/consent'
import 'inpage/global'

const backend: BackendPreference = 'wasm'
const rec = createRecommender({
  model: '/inpage/models/inpage-general-v1/',
  catalog: '/packs/store/',
  consent: 'pending',
  backend,
  retention: { maxEvents: DEFAULT_RETENTION.maxEvents },
  rerankDefaults: { personalWeight: defaults.rerank.personalWeight, diversity: { lambda: 0.7 } },
})

// Options: wrong types and values are refused.
// @ts-expect-error no such backend
createRecommender({ model: '/m/', backend: 'cuda' })
// @ts-expect-error consent is a state, not a boolean
createRecommender({ consent: true })
// @ts-expect-error no such consent state
createRecommender({ consent: 'accepted' })
// @ts-expect-error the model is a URL string
createRecommender({ model: new URL('https://shop.example/m/') })
// @ts-expect-error storage is 'auto' or 'memory'
createRecommender({ storage: 'cookie' })
// @ts-expect-error numThreads is a number
createRecommender({ numThreads: '4' })
// @ts-expect-error retention counts are numbers
createRecommender({ retention: { maxEvents: '1000' } })
// @ts-expect-error a pinned catalog needs its url and publicKey
createRecommender({ catalog: { url: '/packs/store/' } })
// @ts-expect-error an experiment has a name
createRecommender({ experiment: { holdout: 0.1 } })
// @ts-expect-error the holdout is a share, a number
createRecommender({ experiment: { name: 'rail', holdout: '10%' } })
// @ts-expect-error rerank defaults are typed like rerank()'s options
createRecommender({ rerankDefaults: { personalWeight: 'high' } })

export async function page(cands: Candidate[]): Promise<[RerankResult, EngineInfo | undefined, ExportDocument]> {
  await rec.track({ type: 'view', itemId: 'a', item: { title: 'A' } })
  await rec.track({ type: 'search', query: 'nitrile gloves' })
  const event: TrackEvent = { type: 'dwell', itemId: 'a', item: { title: 'A', category: ['Lab'] }, dwellMs: 1200 }
  await rec.track(event)
  // @ts-expect-error an event has a type from the list
  await rec.track({ type: 'hover', itemId: 'a' })
  // @ts-expect-error an event has a type
  await rec.track({ itemId: 'a', item: { title: 'A' } })
  // @ts-expect-error an item snapshot has a title
  await rec.track({ type: 'view', itemId: 'a', item: { brand: 'B' } })
  // @ts-expect-error a category is a path of names, not one string
  await rec.track({ type: 'view', itemId: 'a', item: { title: 'A', category: 'Lab' } })
  // @ts-expect-error consent is a state, not a boolean
  await rec.setConsent(true)
  // @ts-expect-error no such consent state
  await rec.setConsent('yes')
  // @ts-expect-error candidates have ids
  await rec.rerank([{ title: 'no id' }])
  // @ts-expect-error candidates have titles
  await rec.rerank([{ id: 'a' }])
  // @ts-expect-error a candidate's vector is numbers
  await rec.rerank([{ id: 'a', title: 'A', vector: ['0.1'] }])
  // @ts-expect-error k is a number
  await rec.rerank(cands, { k: '10' })
  // @ts-expect-error diversity is an object of weights
  await rec.rerank(cands, { diversity: 0.5 })
  const out = await rec.rerank(cands, { surface: 'category', k: defaults.rerank.k, budgetMs: 300 })
  const why: 'personalized' | 'holdout' | 'no-history' | 'consent' | 'warming-up' | 'budget' | 'model-error' | 'engine-error' | 'no-model' = out.why
  const named: Why = why
  void named
  if (out.items[0]) {
    const first: { id: string; score: number; serverRank: number } = out.items[0]
    void first
  }
  // @ts-expect-error a result's items are read-only data, not candidates to call
  out.items[0]?.id()
  const info: EngineInfo | undefined = rec.status().engine.info
  return [out, info, await rec.exportData()]
}

// Events: each name has its payload.
rec.on('progress', (p: Progress) => p.percent)
rec.on('consent', (e) => {
  const s: ConsentState = e.state
  void s
})
// @ts-expect-error the progress payload is not a string
rec.on('progress', (p: string) => p)
// @ts-expect-error a listener is a function
rec.on('history', 'reload')
// @ts-expect-error an event inpage does not emit
rec.on('histroy', () => {})

// The holdout, the analytics events and the consent adapters (their own entry, inpage/consent).
const tested = createRecommender({ experiment: { name: 'rail-2026', holdout: 0.1 }, analytics: { ga4: true } })
tested.on('impression', (e: ImpressionEvent) => e.items.length)
tested.on('select', (e: SelectEvent) => e.position)
export const arm: Variant | undefined = tested.status().experiment?.variant
export const link: ConsentLink = linkConsent(tested, { platform: 'tcf', notApplicable: 'pending' })
// @ts-expect-error no such consent platform
linkConsent(tested, { platform: 'onetrust' })
// @ts-expect-error the platform is required
linkConsent(tested, {})
// @ts-expect-error "not applicable" never means denied: 'pending' or 'granted'
linkConsent(tested, { platform: 'gpp', notApplicable: 'denied' })
// @ts-expect-error the link's state is read-only
link.state = 'granted'

export function fromTheScriptTag(): void {
  const g = window.InPage
  g.createRecommender({ model: '/m/' }).setConsent('granted')
  // @ts-expect-error the tag's recommender exists only with data-model
  g.recommender.setConsent('granted')
  g.recommender?.setConsent('denied')
  g.embed?.refresh()
  // @ts-expect-error not part of the global
  g.notAThing()
}

export const errorName: InPageErrorName = new InPageError('EngineError', 'x').name
// @ts-expect-error errors are named from the list
new InPageError('OopsError', 'x')
export const text: string = itemText({ title: 'A', brand: 'B', category: ['Lab'] })

// @ts-expect-error the exports map is the package's surface: no deep imports
export type Deep = typeof import('inpage/dist/inpage.js')
// @ts-expect-error the worker's code is not an entry
export type WorkerCode = typeof import('inpage/workers/engine')
