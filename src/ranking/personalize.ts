// One rerank, given a loaded model: history → user vector (and leave-one-out variants for
// reasons) → personal scores → the pure ordering in src/ranking. Shared by the worker and eval.

import { itemText, textHash } from './text'
import { purchasedItems, selectModelEvents, type HistoryReads } from './events'
import { candidateIndex, knnScores, personalScores, type Neighbors } from './score'
import type { PackItem } from '../pack/format'
import { rankCandidates, serverOrder } from './rerank'
import { cosine } from './vectors'
import type { HistoryItemEvent } from './reasons'
import type { Candidate, Coverage, RankedItem, RerankOptions } from './types'
import type { StoredEvent } from '../core/types'
import type { InpageModel } from '../model/model'
import { modelData } from '../core/errors'

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

/** What the model reads of a history (sent to the page in EngineInfo, so it sends nothing else). */
export function modelReads(model: InpageModel): HistoryReads {
  const types = ['view', 'click', 'add_to_cart', 'purchase', 'search', 'dwell'] as const
  return { maxHistory: model.manifest.user.maxHistory, eventTypes: types.filter((t) => model.eventTypeId(t) !== undefined) }
}

/**
 * Kept between calls, keyed by what they depend on: user vectors by the history's (event type, item id,
 * text hash) list, item vectors by id and text hash, query vectors by query. Bounded; dropped on forget.
 */
export class PersonalizeCaches {
  readonly users = new BoundedMap<string, Float32Array[]>(8)
  readonly items = new BoundedMap<string, Float32Array>(20_000)
  readonly queries = new BoundedMap<string, Float32Array>(64)
}

/** A Map that forgets its oldest entry beyond `limit`. */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super()
  }
  override set(k: K, v: V) {
    if (!this.has(k) && this.size >= this.limit) this.delete(this.keys().next().value!)
    return super.set(k, v)
  }
}

/** The store's public item data from its catalog pack, looked up by id (already fetched for this call). */
export interface CatalogLookup {
  get(id: string): PackItem | undefined
  /** True for an id whose record this device does not hold, though the pack may (a history item never fetched for). */
  unknown?(id: string): boolean
}

export interface PersonalizeContext {
  caches?: PersonalizeCaches
  /** Leave-one-out user vectors for reasons (default true); eval turns them off when it only needs the order. */
  withReasons?: boolean
  /** Ids the shopper bought, when the page sent the history trimmed (else they are read from `history`). */
  purchased?: readonly string[]
  /** The catalog pack: text vectors (no encoding), popularity and neighbour lists of the store's own logs. */
  catalog?: CatalogLookup
  /**
   * History items with no text vector on this device (no kept record, none cached) while the encoder is not
   * loaded: left out of the user vector rather than fetched or encoded because of the history. Their
   * neighbours still count.
   */
  unavailable?: ReadonlySet<string>
}

/**
 * One rerank. `history` is what the page sent: the whole history or only what the model reads
 * (selectModelEvents gives the same events either way).
 */
export async function personalize(
  model: InpageModel,
  source: TextVectorSource,
  history: readonly StoredEvent[],
  candidates: readonly Candidate[],
  options: RerankOptions = {},
  ctx: PersonalizeContext = {},
): Promise<PersonalizeResult> {
  const { caches, catalog } = ctx
  const withReasons = ctx.withReasons ?? true
  const events = selectModelEvents(history, modelReads(model))
  // The events the user vector reads: those whose item has a text vector here (all of them, unless told otherwise).
  const seq = ctx.unavailable?.size ? events.filter((e) => !ctx.unavailable!.has(e.itemId!)) : events
  if (!seq.length) return { ...serverOrder(candidates, options.k), personalized: false, why: 'no-history' }

  // Text vectors for every distinct item, history and candidates, in one request.
  const texts = new Map<string, string>()
  for (const e of seq) if (!texts.has(e.itemId!)) texts.set(e.itemId!, itemText({ title: e.item!.title, brand: e.item!.brand, category: e.item!.category }))
  for (const c of candidates) texts.set(c.id, itemText(c))
  const ids = [...texts.keys()]
  // The pack's text vectors (made with this model's encoder) spare the encoder; the rest are encoded.
  const textVec = new Map<string, Float32Array>()
  for (const id of ids) {
    const t = catalog?.get(id)?.text
    if (t) textVec.set(id, t)
  }
  const toEncode = ids.filter((id) => !textVec.has(id))
  const vecs = toEncode.length ? await source.textVectors(toEncode.map((id) => ({ id, text: texts.get(id)! }))) : []
  toEncode.forEach((id, i) => textVec.set(id, vecs[i]!))
  for (const id of ids) expectVector(textVec.get(id), model.dims.text, `the text vector of "${id}"`)
  for (const c of candidates)
    if (c.vector && c.vector.length !== model.dims.collab)
      throw modelData(`candidate "${c.id}": vector has ${c.vector.length} floats, the model reads ${model.dims.collab}`)
  const serverVec = new Map(candidates.filter((c) => c.vector).map((c) => [c.id, c.vector!]))
  const textKey = (id: string) => `${id}|${textHash(texts.get(id)!)}`
  const itemVec = (id: string) => {
    const server = serverVec.get(id)
    if (server) return model.itemVector(textVec.get(id)!, server)
    // Text vector and public vector depend on the id, the text and the pack's popularity (a history item whose
    // record is not on the device has none): built once per those, then reused.
    const pop = catalog?.get(id)?.pop
    const key = `${textKey(id)}|${pop ?? ''}`
    let v = caches?.items.get(key)
    if (!v) {
      // The model's own public vector where it knows the id (its training catalog), else the pack's popularity.
      v = model.itemVector(textVec.get(id)!, model.collabVector(id) ?? (pop !== undefined ? model.publicFromPopularity(pop) : undefined))
      caches?.items.set(key, v)
    }
    return v
  }

  const histVecs = seq.map((e) => itemVec(e.itemId!))
  const histTypes = seq.map((e) => model.eventTypeId(e.type)!)
  // Without the prior only the candidates lose it: the history keeps the vectors the model was trained on.
  const candVecs = candidates.map((c) => (options.popularityPrior === false ? model.withoutPrior(itemVec(c.id)) : itemVec(c.id)))
  // Row 0: the whole history; row e+1: history without event e (what reasons are made of).
  // They depend on the history alone (event types, ids, texts), so they are kept until it changes.
  const key = seq.map((e, j) => `${histTypes[j]}:${textKey(e.itemId!)}`).join(',') + (withReasons ? '' : '|plain')
  let users = caches?.users.get(key)
  if (!users) {
    const variants = [{ vecs: histVecs, types: histTypes }]
    for (let e = 0; withReasons && e < seq.length; e++)
      variants.push({ vecs: histVecs.filter((_, j) => j !== e), types: histTypes.filter((_, j) => j !== e) })
    users = await model.userVectors(variants)
    users.forEach((u, i) => expectVector(u, model.dims.item, i ? `user vector without event ${i - 1}` : 'the user vector'))
    caches?.users.set(key, users)
  }

  const knn = model.manifest.scoring?.knn
  const histIds = events.map((e) => e.itemId!)
  const candIds = candidates.map((c) => c.id)
  // With a pack, the store's own neighbour lists; without, the model's (its training catalog's).
  const neighbors: Neighbors | undefined = catalog ? packNeighbors(catalog, histIds, candIds) : model.neighbors
  const index = candidateIndex(candIds) // one for the whole history and each leave-one-out variant
  const score = (u: Float32Array, hist: string[]) =>
    personalScores(u, candVecs, knn && neighbors ? { settings: knn, scores: knnScores(hist, candIds, neighbors, knn.decay, index) } : undefined)
  const personal = score(users[0]!, histIds)
  // Reasons: event e's variant leaves it out of both parts (an event outside the user vector, out of the kNN part only).
  const variantOf = new Map(seq.map((e, j) => [e, j + 1]))
  const without = withReasons ? events.map((ev, e) => score(users![variantOf.get(ev) ?? 0]!, histIds.filter((_, j) => j !== e))) : undefined

  let queryRelevance: number[] | undefined
  if (options.query) {
    let q = caches?.queries.get(options.query)
    if (!q) {
      ;[q] = await model.encode([options.query])
      expectVector(q, model.dims.text, 'the query vector')
      caches?.queries.set(options.query, q!)
    }
    queryRelevance = candidates.map((c) => cosine(q!, textVec.get(c.id)!))
  }
  const reasonEvents: HistoryItemEvent[] = events.map((e) => ({ type: e.type, itemId: e.itemId!, title: e.item!.title }))
  const purchased = new Set(ctx.purchased ?? purchasedItems(history))
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

/**
 * Each history item's neighbour list from its pack record; a history item without one (no record kept on this
 * device) gets what the page's candidates' lists say of it (c lists h with weight w → h lists c with w): local
 * data, never a fetch for the history. Co-occurrence weights are not symmetric, so this is an approximation.
 */
export function packNeighbors(catalog: CatalogLookup, histIds: readonly string[], candIds: readonly string[]): Neighbors {
  const out = new Map<string, Map<string, number>>()
  const lacking = new Set<string>()
  for (const h of histIds) {
    const rec = catalog.get(h)
    if (!rec && catalog.unknown?.(h)) lacking.add(h)
    else out.set(h, new Map(rec?.neighbors ?? []))
  }
  if (lacking.size)
    for (const c of candIds)
      for (const [h, w] of catalog.get(c)?.neighbors ?? []) {
        if (!lacking.has(h)) continue
        let row = out.get(h)
        if (!row) out.set(h, (row = new Map<string, number>()))
        if (!row.has(c)) row.set(c, w)
      }
  return out
}

/**
 * Throws ModelDataError for a vector of the wrong length. (A non-finite float in a text or user vector
 * reaches every personal score through the dot product, where rankCandidates refuses it.)
 */
function expectVector(v: ArrayLike<number> | undefined, dims: number, what: string) {
  if (!v || v.length !== dims) throw modelData(`${what} has ${v?.length ?? 0} floats, the model makes ${dims}`)
}
