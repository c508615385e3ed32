// Type-level tests for the adapters through the exports map (inpage/react with @types/react installed, inpage/vite):
// e2e/package.spec.ts runs tsc on this file with tsconfig.adapters.json in the fresh install.
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
  // The app's own candidate type comes back, with its fields.
  return out.items[0]?.price
}

export const plugins = [inpage(), inpage({ base: '/static/inpage/' })]
// @ts-expect-error base is a URL path string
inpage({ base: 1 })
export const urls: { model: string; wasmPaths: string } = inpageUrls('/static/')
