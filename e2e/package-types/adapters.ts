// Type-level tests for the adapters through the exports map (inpage/react with @types/react installed, inpage/vite):
// `npm run typecheck:dist` runs tsc on this file with tsconfig.adapters.json here (self-reference to this package's
// exports), and e2e/package.spec.ts in the fresh install of the tarball.
import type { Candidate } from 'inpage'
import { useRecommender, useRerank, type UseRerank } from 'inpage/react'
import { inpage, inpageUrls } from 'inpage/vite'

type Priced = Candidate & { price: number }

export function useList(cands: Priced[]): number | undefined {
  const recommender = useRecommender({ model: '/m/', consent: 'pending' })
  const out: UseRerank<Priced> = useRerank(cands, { recommender, surface: 'category', k: 10 })
  // @ts-expect-error the recommender option is required (it is undefined while it loads, and that is allowed)
  useRerank(cands, { surface: 'category' })
  // @ts-expect-error candidates have ids
  useRerank([{ title: 'no id' }], { recommender })
  // @ts-expect-error no such backend
  useRecommender({ backend: 'cuda' })
  // @ts-expect-error no such consent state
  useRecommender({ consent: 'yes' })
  // @ts-expect-error the recommender may be undefined while it loads: the hook's answer is not a Recommender
  void useRecommender({ model: '/m/' }).rerank(cands)
  // @ts-expect-error the rerank options are typed
  useRerank(cands, { recommender, k: 'ten' })
  // @ts-expect-error the hook takes the candidates, not a promise of them
  useRerank(Promise.resolve(cands), { recommender })
  // @ts-expect-error the items keep the app's candidate type: no field it lacks
  void out.items[0]?.stock
  // The app's own candidate type comes back, with its fields.
  return out.items[0]?.price
}

export const plugins = [inpage(), inpage({ base: '/static/inpage/' })]
// @ts-expect-error base is a URL path string
inpage({ base: 1 })
export const urls: { model: string; wasmPaths: string } = inpageUrls('/static/')
