// One rerank, given a loaded model: history → user vector (and leave-one-out variants for
// reasons) → personal scores → the pure ordering in src/ranking. Shared by the worker and eval.

import { itemText } from '../src/ranking/text'
import { knnScores, personalScores } from '../src/ranking/score'
import { rankCandidates, serverOrder } from '../src/ranking/rerank'
import { cosine } from '../src/ranking/vectors'
import type { HistoryItemEvent } from '../src/ranking/reasons'
import type { Candidate, Coverage, RankedItem, RerankOptions } from '../src/ranking/types'
import type { StoredEvent } from '../src/types'
import type { InpageModel } from './model'
import { assertFinite, modelData } from '../src/errors'

/** Text vectors for items, from wherever is cheapest (cache, or the encoder). */
export interface TextVectorSource {
  textVectors(items: readonly { id: string; text: string }[]): Promise<Float32Array[]>
}

export interface PersonalizeResult {
  items: RankedItem[]
  coverage: Coverage
  personalized: boolean
  why: 'personalized' | 'no-history'
}

/** The item events the sequence model reads, oldest first, at most `maxHistory`. */
export function modelEvents(model: InpageModel, history: readonly StoredEvent[]) {
  const evs = history.filter((e) => e.itemId && e.item && model.eventTypeId(e.type) !== undefined)
  return evs.slice(-model.manifest.user.maxHistory)
}

export async function personalize(
  model: InpageModel,
  source: TextVectorSource,
  history: readonly StoredEvent[],
  candidates: readonly Candidate[],
  options: RerankOptions = {},
  memo?: Map<string, Float32Array[]>,
  /** Leave-one-out user vectors for reasons; eval turns them off when it only needs the order. */
  withReasons = true,
): Promise<PersonalizeResult> {
  const events = modelEvents(model, history)
  if (!events.length) return { ...serverOrder(candidates, options.k), personalized: false, why: 'no-history' }

  // Text vectors for every distinct item, history and candidates, in one request.
  const texts = new Map<string, string>()
  for (const e of events) if (!texts.has(e.itemId!)) texts.set(e.itemId!, itemText({ title: e.item!.title, brand: e.item!.brand, category: e.item!.category }))
  for (const c of candidates) texts.set(c.id, itemText(c))
  const ids = [...texts.keys()]
  const vecs = await source.textVectors(ids.map((id) => ({ id, text: texts.get(id)! })))
  vecs.forEach((v, i) => expectVector(v, model.dims.text, `the text vector of "${ids[i]}"`))
  const textVec = new Map(ids.map((id, i) => [id, vecs[i]!]))
  for (const c of candidates)
    if (c.vector && c.vector.length !== model.dims.collab)
      throw modelData(`candidate "${c.id}": vector has ${c.vector.length} floats, the model reads ${model.dims.collab}`)
  const serverVec = new Map(candidates.filter((c) => c.vector).map((c) => [c.id, c.vector!]))
  const itemVec = (id: string) => model.itemVector(textVec.get(id)!, serverVec.get(id) ?? model.collabVector(id))

  const histVecs = events.map((e) => itemVec(e.itemId!))
  const histTypes = events.map((e) => model.eventTypeId(e.type)!)
  // Without the prior only the candidates lose it: the history keeps the vectors the model was trained on.
  const candVecs = candidates.map((c) => (options.popularityPrior === false ? model.withoutPrior(itemVec(c.id)) : itemVec(c.id)))
  // Row 0: the whole history; row e+1: history without event e (what reasons are made of).
  // They depend on the history alone, so they are kept until it changes.
  const key = events.map((e, j) => `${histTypes[j]}:${vecHash(histVecs[j]!)}`).join(',')
  let users = memo?.get(withReasons ? key : `${key}|plain`)
  if (!users) {
    const variants = [{ vecs: histVecs, types: histTypes }]
    for (let e = 0; withReasons && e < events.length; e++)
      variants.push({ vecs: histVecs.filter((_, j) => j !== e), types: histTypes.filter((_, j) => j !== e) })
    users = await model.userVectors(variants)
    users.forEach((u, i) => expectVector(u, model.dims.item, i ? `user vector without event ${i - 1}` : 'the user vector'))
    if (memo) {
      if (memo.size >= 8) memo.delete(memo.keys().next().value!)
      memo.set(withReasons ? key : `${key}|plain`, users)
    }
  }

  const knn = model.manifest.scoring?.knn
  const histIds = events.map((e) => e.itemId!)
  const candIds = candidates.map((c) => c.id)
  const score = (u: Float32Array, hist: string[]) =>
    personalScores(u, candVecs, knn && model.neighbors ? { settings: knn, scores: knnScores(hist, candIds, model.neighbors, knn.decay) } : undefined)
  const personal = score(users[0]!, histIds)
  const without = withReasons ? events.map((_, e) => score(users![e + 1]!, histIds.filter((_, j) => j !== e))) : undefined

  let queryRelevance: number[] | undefined
  if (options.query) {
    const [q] = await model.encode([options.query])
    queryRelevance = candidates.map((c) => cosine(q!, textVec.get(c.id)!))
  }
  const reasonEvents: HistoryItemEvent[] = events.map((e) => ({ type: e.type, itemId: e.itemId!, title: e.item!.title }))
  const purchased = new Set(history.filter((e) => e.type === 'purchase' && e.itemId).map((e) => e.itemId!))
  const ranked = rankCandidates({
    candidates,
    personal,
    without,
    events: reasonEvents,
    queryRelevance,
    vectors: candidates.map((c) => textVec.get(c.id)),
    purchased,
    options,
  })
  return { ...ranked, personalized: true, why: 'personalized' }
}

/** Throws ModelDataError for a vector of the wrong length or with a non-finite float. */
function expectVector(v: ArrayLike<number> | undefined, dims: number, what: string) {
  if (!v || v.length !== dims) throw modelData(`${what} has ${v?.length ?? 0} floats, the model makes ${dims}`)
  assertFinite(v, what)
}

/** FNV-1a over a vector's bytes: a cache key for the user-vector memo. */
function vecHash(v: Float32Array): string {
  const b = new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
  let h = 0x811c9dc5
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193)
  return (h >>> 0).toString(36)
}
