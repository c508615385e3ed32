// Type-level tests against the packed package, through its `exports` map only: e2e/package.spec.ts copies
// this folder into a fresh install of the tarball and runs tsc there (bundler and node16 resolution).
// Each @ts-expect-error is a misuse the published types must refuse; tsc fails if one is accepted.
import { createRecommender, defaults, InPageError, type Candidate, type RerankResult } from 'inpage'
import 'inpage/global'

const rec = createRecommender({ model: '/inpage/models/inpage-general-v1/', catalog: '/packs/store/', consent: 'pending', backend: 'wasm' })
// @ts-expect-error no such backend
createRecommender({ model: '/m/', backend: 'cuda' })
// @ts-expect-error consent is a state, not a boolean
createRecommender({ consent: true })

export async function page(cands: Candidate[]): Promise<RerankResult> {
  await rec.track({ type: 'view', itemId: 'a', item: { title: 'A' } })
  // @ts-expect-error an event has a type from the list
  await rec.track({ type: 'hover', itemId: 'a' })
  // @ts-expect-error candidates have ids
  await rec.rerank([{ title: 'no id' }])
  const out = await rec.rerank(cands, { surface: 'category', k: defaults.rerank.k })
  const why: 'personalized' | 'holdout' | 'no-history' | 'consent' | 'warming-up' | 'budget' | 'model-error' | 'engine-error' | 'no-model' = out.why
  void why
  if (out.items[0]) {
    const first: { id: string; score: number; serverRank: number } = out.items[0]
    void first
  }
  return out
}

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

export const named: string = new InPageError('EngineError', 'x').name

// @ts-expect-error the exports map is the package's surface: no deep imports
export type Deep = typeof import('inpage/dist/inpage.js')
