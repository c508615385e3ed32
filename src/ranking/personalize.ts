// A call's personal scores, given a loaded model: the model's events → user vector (and leave-one-out variants
// for reasons) → personal scores and query relevance per candidate. Ranking them is src/ranking/rerank.ts's
// rankCandidates; the worker and eval run both, eval's settings grid ranks one score() many ways.

import { itemText, textHash } from './text'
import type { HistoryReads, ModelEvents } from './events'
import { candidateIndex, logsScores, personalScore, personalScores, recentUnique, type LogTerms, type Neighbors } from './score'
import type { PackItem, ScoreSettings } from '../pack/format'
import type { Scores } from './rerank'
import type { HistoryItemEvent, LeaveOneOut } from './reasons'
import { cosine } from './vectors'
import { adaptation, adaptKey, adaptUser } from './adapt'
import type { Candidate } from './types'
import type { InpageModel } from '../model/model'
import { modelData } from '../core/errors'

/** Text vectors for items, from wherever is cheapest (cache, or the encoder). */
export interface TextVectorSource {
  textVectors(items: readonly { id: string; text: string }[]): Promise<Float32Array[]>
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

export interface ScoreContext {
  /** Text vectors of items with none in the pack (encoded, or from the worker's cache). */
  source: TextVectorSource
  caches?: PersonalizeCaches
  /** Leave-one-out user vectors for reasons (default true); eval turns them off when it only needs the order. */
  withReasons?: boolean
  /** The catalog pack: text vectors (no encoding), popularity and neighbour lists of the store's own logs. */
  catalog?: CatalogLookup
  /**
   * History items with no text vector on this device (no kept record, none cached) while the encoder is not
   * loaded: left out of the user vector rather than fetched or encoded because of the history. Their
   * neighbours still count.
   */
  unavailable?: ReadonlySet<string>
  /** The shopper's query (RerankOptions.query): its relevance to each candidate is scored. */
  query?: string
  /**
   * false: the query is not encoded (the encoder is not loaded yet) and no relevance is scored; the search is then
   * ranked on the server's relevance and the history (rankCandidates' 'server' path). Default true.
   */
  queryVector?: boolean
  /** RerankOptions.popularityPrior: false scores the candidates without the model's popularity prior. */
  popularityPrior?: boolean
  /** The store's scoring settings (its pack's `tuning`), in place of the model's: kNN weight and decay, closed-form decay and prior. */
  settings?: ScoreSettings
}

/** The user vectors as the store's adaptation reads them (its pack's `tuning.adapt`), if it has one. */
export function adaptUsers(users: Float32Array[], settings: ScoreSettings | undefined): Float32Array[] {
  const ad = settings?.adapt && adaptation(settings.adapt)
  return ad ? users.map((u) => adaptUser(u, ad)) : users
}

/** What reasons and calibration read of the model's events: type, item, title and category path. */
export function historyItemEvents(events: ModelEvents): HistoryItemEvent[] {
  return events.map((e) => ({ type: e.type, itemId: e.itemId, title: e.item.title, ...(e.item.category ? { category: e.item.category } : {}) }))
}

/** A history with no event to score from: the page keeps the server's order. */
export const NO_HISTORY = 'no-history' as const

/**
 * A call's scores: each candidate's personal score, with each model event left out in turn (what reasons are made
 * of, unless `withReasons` is false), and its relevance to the query if there is one (and `queryVector` is not false). `events` are what the model
 * reads, as selectModelEvents chose them (on the side that owns the history). Returns NO_HISTORY when none of them
 * can be scored here. Throws ModelDataError for a vector of the wrong length.
 */
export async function score(
  model: InpageModel,
  events: ModelEvents,
  candidates: readonly Candidate[],
  ctx: ScoreContext,
): Promise<Scores | typeof NO_HISTORY> {
  const { caches, catalog, source } = ctx
  const withReasons = ctx.withReasons ?? true
  // The events the user vector reads: those whose item has a text vector here (all of them, unless told otherwise).
  const seq = ctx.unavailable?.size ? events.filter((e) => !ctx.unavailable!.has(e.itemId)) : events
  if (!seq.length) return NO_HISTORY

  // Text vectors for every distinct item, history and candidates, in one request.
  const texts = new Map<string, string>()
  for (const e of seq) if (!texts.has(e.itemId)) texts.set(e.itemId, itemText({ title: e.item.title, brand: e.item.brand, category: e.item.category }))
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
  // `id|hash of its text`: each id's text hashed once per call (item and user caches both key on it).
  const textKeys = new Map<string, string>()
  const textKey = (id: string) => {
    let k = textKeys.get(id)
    if (k === undefined) textKeys.set(id, (k = `${id}|${textHash(texts.get(id)!)}`))
    return k
  }
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

  const histVecs = seq.map((e) => itemVec(e.itemId))
  const histTypes = seq.map((e) => model.eventTypeId(e.type)!)
  // Without the prior only the candidates lose it: the history keeps the vectors the model was trained on.
  const candVecs = candidates.map((c) => (ctx.popularityPrior === false ? model.withoutPrior(itemVec(c.id)) : itemVec(c.id)))
  // Row 0: the whole history; row e+1: history without event e (what reasons are made of).
  // They depend on the history alone (event types, ids, texts), so they are kept until it changes.
  const key = seq.map((e, j) => `${histTypes[j]}:${textKey(e.itemId)}`).join(',') + (withReasons ? '' : '|plain') + (ctx.settings?.user ? `|${ctx.settings.user.decay}:${ctx.settings.user.prior}` : '') + (ctx.settings?.adapt ? `|adapt ${adaptKey(ctx.settings.adapt)}` : '')
  let users = caches?.users.get(key)
  if (!users) {
    const variants = [{ vecs: histVecs, types: histTypes }]
    for (let e = 0; withReasons && e < seq.length; e++)
      variants.push({ vecs: histVecs.filter((_, j) => j !== e), types: histTypes.filter((_, j) => j !== e) })
    users = adaptUsers(await model.userVectors(variants, ctx.settings?.user), ctx.settings)
    users.forEach((u, i) => expectVector(u, model.dims.item, i ? `user vector without event ${i - 1}` : 'the user vector'))
    caches?.users.set(key, users)
  }

  const histIds = events.map((e) => e.itemId)
  const candIds = candidates.map((c) => c.id)
  const terms = logTerms(model, catalog, ctx.settings, histIds, candIds)
  const index = candidateIndex(candIds) // one for the whole history and each leave-one-out variant
  // The logs' part, weighted (the kNN term, and the next-item term where the store's tuning turned it on).
  const knnFull = logsScores(histIds, candIds, terms, index)
  const fullOrder = knnFull && recentUnique(histIds)
  const personal = personalScores(users[0]!, candVecs, knnFull)
  // Reasons: event e's variant leaves it out of both parts (an event outside the user vector, out of the kNN part only).
  // Its kNN part is the whole history's when leaving it out keeps the same recent items in the same order (an
  // item seen again later): the same sum, not computed again.
  const variantOf = new Map(seq.map((e, j) => [e, j + 1]))
  // Each variant's logs' part too (weighted, as in the score): a reason says which part its drop came from.
  const knnWithout: (number[] | undefined)[] = []
  let without: LeaveOneOut | undefined
  if (withReasons) {
    // Per event: its user vector and kNN part, now (cheap); the dot products, when reasons read them.
    const parts = events.map((ev, e) => {
      let part = knnFull
      if (knnFull) {
        const rest = histIds.filter((_, j) => j !== e)
        if (!sameList(recentUnique(rest), fullOrder!)) part = logsScores(rest, candIds, terms, index)
      }
      knnWithout.push(part === knnFull ? undefined : part)
      return { user: users![variantOf.get(ev) ?? 0]!, part }
    })
    const rows: (Float64Array | undefined)[] = []
    without = {
      events: events.length,
      at(e, i) {
        const row = (rows[e] ??= new Float64Array(candidates.length).fill(NaN))
        if (Number.isNaN(row[i]!)) {
          const { user, part } = parts[e]!
          row[i] = personalScore(user, candVecs[i]!, part ? part[i]! : 0)
        }
        return row[i]!
      },
    }
  }
  const knnPart = withReasons ? knnFull : undefined

  let queryRelevance: number[] | undefined
  if (ctx.query && ctx.queryVector !== false) {
    let q = caches?.queries.get(ctx.query)
    if (!q) {
      ;[q] = await model.encode([ctx.query])
      expectVector(q, model.dims.text, 'the query vector')
      caches?.queries.set(ctx.query, q!)
    }
    queryRelevance = candidates.map((c) => cosine(q!, textVec.get(c.id)!))
  }
  return {
    candidates,
    personal,
    without,
    ...(knnPart ? { knn: knnPart, knnWithout: knnWithout.map((w) => w ?? knnPart) } : {}),
    events: historyItemEvents(events),
    queryRelevance,
    vectors: candidates.map((c) => textVec.get(c.id)),
    historyVectors: events.map((e) => textVec.get(e.itemId)),
  }
}

/**
 * The logs' terms of a call: the kNN term with the pack's neighbour lists (without a pack, the model's) and its
 * settings (the store's tuning, else the model's); the next-item term with the pack's lists, only where the store's
 * tuning set a weight (no model default).
 */
export function logTerms(model: InpageModel, catalog: CatalogLookup | undefined, settings: ScoreSettings | undefined, histIds: readonly string[], candIds: readonly string[]): LogTerms {
  const knn = settings?.knn ?? model.manifest.scoring?.knn
  // With a pack, the store's own neighbour lists; without, the model's (its training catalog's).
  const neighbors: Neighbors | undefined = catalog ? packNeighbors(catalog, histIds, candIds) : model.neighbors
  const next = catalog && settings?.next?.weight ? settings.next : undefined
  return { ...(knn && neighbors ? { knn: { settings: knn, neighbors } } : {}), ...(next ? { next: { settings: next, lists: packNext(catalog!, histIds) } } : {}) }
}

/**
 * Each history item's next-item list from its pack record. A history item without a record on this device has none
 * (a candidate's list says what follows the candidate, not what follows the history item): never fetched for.
 */
export function packNext(catalog: CatalogLookup, histIds: readonly string[]): Neighbors {
  const out = new Map<string, ReadonlyMap<string, number>>()
  for (const h of histIds) {
    const rec = catalog.get(h)
    if (rec?.next.length) out.set(h, listMap(nextMaps, rec, rec.next))
  }
  return out
}

/**
 * Each history item's neighbour list from its pack record; a history item without one (no record kept on this
 * device) gets what the page's candidates' lists say of it (c lists h with weight w → h lists c with w): local
 * data, never a fetch for the history. Co-occurrence weights are not symmetric, so this is an approximation.
 */
export function packNeighbors(catalog: CatalogLookup, histIds: readonly string[], candIds: readonly string[]): Neighbors {
  const out = new Map<string, ReadonlyMap<string, number>>()
  const lacking = new Map<string, Map<string, number>>()
  for (const h of histIds) {
    const rec = catalog.get(h)
    if (!rec && catalog.unknown?.(h)) lacking.set(h, new Map())
    else out.set(h, rec ? neighborMap(rec) : EMPTY)
  }
  if (lacking.size)
    for (const c of candIds)
      for (const [h, w] of catalog.get(c)?.neighbors ?? []) {
        const row = lacking.get(h)
        if (row && !row.has(c)) row.set(c, w)
      }
  for (const [h, row] of lacking) if (row.size) out.set(h, row)
  return out
}

const EMPTY: ReadonlyMap<string, number> = new Map()
/** A record's neighbour list as a Map, made once per record (a record is read again on each call while it is kept). */
const neighborMaps = new WeakMap<PackItem, ReadonlyMap<string, number>>()
const nextMaps = new WeakMap<PackItem, ReadonlyMap<string, number>>()
const neighborMap = (rec: PackItem) => listMap(neighborMaps, rec, rec.neighbors)
function listMap(memo: WeakMap<PackItem, ReadonlyMap<string, number>>, rec: PackItem, list: readonly [string, number][]): ReadonlyMap<string, number> {
  let m = memo.get(rec)
  if (!m) memo.set(rec, (m = new Map(list)))
  return m
}

/**
 * Throws ModelDataError for a vector of the wrong length. (A non-finite float in a text or user vector
 * reaches every personal score through the dot product, where rankCandidates refuses it.)
 */
function expectVector(v: ArrayLike<number> | undefined, dims: number, what: string) {
  if (!v || v.length !== dims) throw modelData(`${what} has ${v?.length ?? 0} floats, the model makes ${dims}`)
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
