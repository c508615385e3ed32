// The model's numbers (issue 17): NaN output, vectors of the wrong length and overflowing scores are
// ModelDataError from score() or rankCandidates() (what the worker and eval run), never a "personalized" order.
// Real shipped model through onnxruntime-node; the faults are injected at the text-vector source.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadModel, type LoadedModel } from '../node/model-node'
import { modelReads, NO_HISTORY, score, type TextVectorSource } from '../src/ranking/personalize'
import { rankCandidates } from '../src/ranking/rerank'
import { selectModelEvents } from '../src/ranking/events'
import type { Candidate } from '../src/ranking/types'
import type { StoredEvent } from '../src/core/types'

let loaded: LoadedModel
beforeAll(async () => {
  loaded = await loadModel('public/models/inpage-sci-v1', { threads: 1 })
}, 60_000)
afterAll(async () => loaded?.model.release())

const history: StoredEvent[] = [
  { type: 'view', itemId: 'h1', item: { title: 'Borosilicate glass beaker, 250 ml' }, ts: 1 },
  { type: 'click', itemId: 'h2', item: { title: 'Erlenmeyer flask, 500 ml' }, ts: 2 },
]
const candidates = [
  { id: 'c1', title: 'Graduated cylinder, 100 ml' },
  { id: 'c2', title: 'Two-part epoxy adhesive' },
  { id: 'c3', title: 'Nitrile gloves, size M' },
]
/** The real encoder, with `edit` applied to what it returns. */
const source = (edit: (v: Float32Array, i: number) => Float32Array): TextVectorSource => ({
  textVectors: async (items) => (await loaded.model.encode(items.map((it) => it.text))).map(edit),
})

/** The worker's rerank: the history's model events scored, then ranked. */
async function personalize(model: LoadedModel['model'], src: TextVectorSource, hist: readonly StoredEvent[], cands: readonly Candidate[]) {
  const scores = await score(model, selectModelEvents(hist, modelReads(model)), cands, { source: src })
  if (scores === NO_HISTORY) throw new Error('no history')
  return { ...rankCandidates(scores), why: 'personalized' }
}

describe('score() and rankCandidates() refuse numbers it cannot rank', () => {
  it('ranks with the untouched encoder', async () => {
    const r = await personalize(loaded.model, source((v) => v), history, candidates)
    expect(r.why).toBe('personalized')
    expect(r.items.every((i) => Number.isFinite(i.score))).toBe(true)
  })
  const faults: [string, () => Promise<unknown>][] = [
    ['an encoder that outputs NaN', () => personalize(loaded.model, source((v, i) => (i === 3 ? v.map(() => NaN) : v)), history, candidates)],
    ['an encoder vector of the wrong length', () => personalize(loaded.model, source((v) => v.subarray(0, 100)), history, candidates)],
    ['an infinite text vector', () => personalize(loaded.model, source((v, i) => (i === 0 ? v.map(() => Infinity) : v)), history, candidates)],
    ['a candidate vector of the wrong dimension', () => personalize(loaded.model, source((v) => v), history, [{ ...candidates[0]!, vector: [1, 2, 3] }, ...candidates.slice(1)])],
    [
      'a candidate vector whose score overflows',
      () => personalize(loaded.model, source((v) => v), history, [{ ...candidates[0]!, vector: new Array(loaded.model.dims.collab).fill(1e308) }, ...candidates.slice(1)]),
    ],
  ]
  for (const [what, run] of faults)
    it(`${what}: ModelDataError`, async () => {
      await expect(run()).rejects.toMatchObject({ name: 'ModelDataError' })
    })
})
