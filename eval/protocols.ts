// The protocols, one row at a time: full ranking over the catalogue, and a server's list (category page or
// search results) reranked. Each row's inpage scores come from score() once; every setting ranks them.

import { knnScores, logsScores, personalScores, type Neighbors } from '../src/ranking/score'
import { rankCandidates, serverOrder, type Scores } from '../src/ranking/rerank'
import { dot } from '../src/ranking/vectors'
import type { Candidate, RankedItem, RerankOptions } from '../src/ranking/types'
import type { InpageModel } from '../src/model/model'
import { adaptUsers, logTerms, NO_HISTORY, PersonalizeCaches, score, type CatalogLookup } from '../src/ranking/personalize'
import { nextItemScores } from './baselines'
import { BM25 } from '../node/bm25'
import { leafCategories, type Row } from '../node/data'
import { MISS, rankOf, topK } from './metrics'
import { modelEvents, type Context } from './context'
import { boughtOnce } from '../src/ranking/events'
import { CALIBRATION_GRID, PERSONAL_WEIGHT_GRID, QUERY_WEIGHT_GRID, SEARCH_SERVER_WEIGHT_GRID, TEXT_DECAY_GRID, type EvalOptions, type GridPoint, type Protocol } from './options'
import { arrangeTop, TOP_POOL } from '../src/ranking/arrange'
import type { NearDuplicatePolicy } from '../src/ranking/types'
import { itemKnnTable, memoEncoder, nextTable, textUser, type Stats } from './systems'

/** 1-based position of `id` in a reranked list, MISS when absent. */
function position(items: readonly RankedItem[], id: string): number {
  const p = items.findIndex((it) => it.id === id)
  return p < 0 ? MISS : p + 1
}

export type GridRank = (point: Omit<GridPoint, 'metrics'>, rank: number) => void

/** What a run of one protocol builds once: its pages or search index, the baselines' tables, the caches. */
export interface Env {
  allIds: string[]
  allIndex: number[]
  pages: Map<string, number[]>
  bm25?: BM25
  searchCache: Map<string, { doc: number; score: number }[]>
  memo: PersonalizeCaches
  model: InpageModel
  /** Search protocol: the model with an encoder that refuses, for the search scored without the query vector. */
  noEncoder?: InpageModel
  /** Category protocol: catalogue items per page before the pageSize cut. */
  pageSizes: Map<string, number>
  /** Baselines from the data's training histories (eval/baselines.ts). */
  itemKnn: Neighbors
  next: Map<number, number>[]
  maxPop: number
  /** The catalogue's item vectors as candidates (without the prior when it is off). */
  candVecs: Float32Array[]
  /** Leaf category per item ('' for none): what calibration reads. */
  leaf: string[]
}

/**
 * The category protocol's pages: per category key, its `pageSize` most popular items (the server's order), and how
 * many items the category has. One key for the whole catalogue (Beauty, Games) makes one bestseller page.
 */
export function categoryPages(ds: Context['ds'], pageSize: number): { pages: Map<string, number[]>; pageSizes: Map<string, number> } {
  const pages = new Map<string, number[]>()
  const pageSizes = new Map<string, number>()
  const by = new Map<string, number[]>()
  ds.catKeys.forEach((c, i) => {
    let l = by.get(c)
    if (!l) by.set(c, (l = []))
    l.push(i)
  })
  for (const [c, l] of by) {
    pageSizes.set(c, l.length)
    pages.set(c, l.sort((a, b) => ds.pop[b]! - ds.pop[a]! || a - b).slice(0, pageSize))
  }
  return { pages, pageSizes }
}

export function makeEnv(ctx: Context, o: EvalOptions): Env {
  const { ds } = ctx
  const { pages, pageSizes } = o.protocol === 'category' ? categoryPages(ds, o.pageSize) : { pages: new Map<string, number[]>(), pageSizes: new Map<string, number>() }
  return {
    allIds: ctx.ids,
    allIndex: ctx.ids.map((_, i) => i),
    pages,
    pageSizes,
    itemKnn: itemKnnTable(ctx, o.itemKnn),
    next: nextTable(ctx),
    maxPop: ds.pop.reduce((a, b) => Math.max(a, b), 0),
    bm25: o.protocol === 'search' ? new BM25(ctx.texts) : undefined,
    searchCache: new Map(),
    memo: new PersonalizeCaches(),
    model: o.protocol === 'search' ? memoEncoder(ctx.model) : ctx.model,
    noEncoder: o.protocol === 'search' ? withoutEncoder(ctx.model) : undefined,
    candVecs: o.popularityPrior ? ctx.itemVecs : ctx.itemVecs.map((v) => ctx.model.withoutPrior(v)),
    leaf: leafCategories(ds.items),
  }
}

/** Full ranking over the whole catalogue, ranks by the README's rule. */
async function fullRow(ctx: Context, o: EvalOptions, env: Env, row: Row, _r: number, stats: Stats, gridRank: GridRank) {
  const { ds, model } = ctx
  const excl = o.excludeHistory ? row.hist : undefined
  const add = (name: string, scores: ArrayLike<number>) => {
    const s = stats.get(name)
    s.ranks.push(rankOf(scores, row.target, excl))
    s.top(topK(scores, 10, excl), row.hist)
  }
  add('popularity', ds.pop)
  const histIds = row.hist.map((i) => ctx.ids[i]!)
  add('item-knn', knnScores(histIds, env.allIds, env.itemKnn, o.itemKnn.decay))
  add('next-item', nextItemScores(row.hist, env.allIndex, env.next, ds.pop, env.maxPop))
  const textScores = (decay: number) => {
    const u = textUser(ctx, row.hist, decay)
    return ctx.textVecs.map((v) => dot(u, v))
  }
  add('text-only', textScores(o.textDecay))
  if (o.grid) for (const d of TEXT_DECAY_GRID) gridRank({ textDecay: d, system: 'text-only' }, rankOf(textScores(d), row.target, excl))

  // inpage-int8: the user model on the model's events of the history, then score.ts's personal scores over every item.
  // score()'s own arithmetic on the context's item vectors, built once (score() would redo each item's text, hash
  // and cache key on every row: 4,385 per row); test/eval.test.ts checks that the two agree.
  const events = modelEvents(ctx, row.hist)
  const evIds = events.map((e) => e.itemId)
  const evIdx = events.map((e, j) => row.hist[row.hist.length - events.length + j]!)
  const [u] = adaptUsers(await model.userVectors([{ vecs: evIdx.map((i) => ctx.itemVecs[i]!), types: events.map((e) => model.eventTypeId(e.type)!) }], ctx.settings?.user), ctx.settings)
  // The logs' terms as score() builds them (the pack's or the model's lists, the store's tuning or the model's settings).
  const scores = personalScores(u!, env.candVecs, logsScores(evIds, env.allIds, logTerms(model, ctx.catalog, ctx.settings, evIds, env.allIds)))
  // The browser's calibration and near-duplicate spreading over the top of the list (arrangeTop), as if the server
  // had sent the whole catalogue: only the first TOP_POOL items move, the rest keep their rank.
  const pool = topK(scores, TOP_POOL, excl)
  const inputs = { scores, categories: env.leaf, vectors: ctx.textVecs, historyCategories: evIdx.map((i) => env.leaf[i]!), historyVectors: evIdx.map((i) => ctx.textVecs[i]!) }
  const arranged = (calibration: number, name: string, nearDuplicates = o.nearDuplicates) => {
    const top = arrangeTop(pool, inputs, { k: 10, calibration, nearDuplicates })
    const p = top.indexOf(row.target)
    const s = stats.get(name)
    s.ranks.push(p >= 0 ? p + 1 : rankOf(scores, row.target, excl))
    s.top(top.slice(0, 10), row.hist)
  }
  arranged(o.calibration, 'inpage-int8')
  arranged(o.calibration, `inpage-int8-near-duplicates-${flip(o.nearDuplicates)}`, flip(o.nearDuplicates))
  if (o.grid) for (const c of CALIBRATION_GRID) arranged(c, `inpage-int8-calibration-${c}`)

  // inpage-int8-diverse: the model's top `pageSize` (history excluded), reordered by rankCandidates with MMR.
  const top = topK(scores, o.pageSize, excl)
  const ranked = rankCandidates(
    { candidates: top.map((i) => ({ ...ctx.candidates[i]!, score: scores[i]! })), personal: top.map((i) => scores[i]!), vectors: top.map((i) => ctx.textVecs[i]!) },
    { personalWeight: 1, k: 10, diversity: o.diversity },
  ).items
  const s = stats.get('inpage-int8-diverse')
  s.ranks.push(excl && excl.includes(row.target) ? MISS : position(ranked, ctx.ids[row.target]!))
  s.top(ranked.slice(0, 10).map((it) => top[it.serverRank]!), row.hist)
}

/** Category page or search results: a server list of candidates, reranked by rankCandidates (inpage: of score()). */
async function listRow(ctx: Context, o: EvalOptions, env: Env, row: Row, r: number, stats: Stats, gridRank: GridRank) {
  const { ds } = ctx
  const target = ctx.ids[row.target]!
  let list: number[]
  let serverScores: number[] | undefined
  let query: string | undefined
  if (o.protocol === 'category') list = env.pages.get(ds.catKeys[row.target]!) ?? []
  else {
    const it = ds.items[row.target]!
    query = (r % 2 === 1 && it.brand?.trim() ? it.brand : env.leaf[row.target]!) || it.title
    let hits = env.searchCache.get(query)
    if (!hits) env.searchCache.set(query, (hits = env.bm25!.search(query, o.pageSize)))
    list = hits.map((h) => h.doc)
    serverScores = hits.map((h) => h.score)
  }
  const candidates = list.map((i, j) => (serverScores ? { ...ctx.candidates[i]!, score: serverScores[j]! } : ctx.candidates[i]!))
  const histSet = new Set(row.hist)
  const missAll = o.excludeHistory && histSet.has(row.target)
  // The ids the page's rerank() would send (purchasedFor in src/ranking/events.ts): all under exclusion, else those bought once.
  const histIdList = row.hist.map((i) => ctx.ids[i]!)
  const purchased = new Set(o.excludeHistory ? histIdList : o.purchased === 'keep' ? [] : boughtOnce(histIdList))
  const kept = list.filter((i) => !(o.excludeHistory && histSet.has(i)))
  const keptPos = new Map(kept.map((i, j) => [ctx.ids[i]!, j]))
  const base: RerankOptions = {
    k: 10,
    excludePurchased: o.excludeHistory,
    purchased: o.purchased,
    personalWeight: o.personalWeight,
    popularityPrior: o.popularityPrior,
    calibration: o.calibration,
    nearDuplicates: o.nearDuplicates,
    ...(query ? { query, queryWeight: o.queryWeight } : {}),
  }
  const record = (name: string, items: readonly RankedItem[], reasonsOf?: Scores) => {
    const s = stats.get(name)
    s.ranks.push(missAll ? MISS : position(items, target))
    s.top(items.slice(0, 10).map((it) => idIndex(ctx, it.id)), row.hist)
    if (reasonsOf) s.reasons.add(items, reasonsOf, (it) => keptPos.get(it.id)!)
  }
  // The server's own order (category: popularity; search: BM25).
  record('server', kept.map((i, j) => ({ id: ctx.ids[i]!, score: 0, personal: 0, serverRank: j, reasons: [] })))
  const baseline = (name: string, personal: number[]) => {
    const opts = { ...base }
    delete opts.query // baselines have no on-device query encoder
    record(name, rankCandidates({ candidates, personal }, opts, purchased).items)
  }
  if (o.protocol === 'search') baseline('popularity', list.map((i) => ds.pop[i]!))
  else record('popularity', kept.map((i, j) => ({ id: ctx.ids[i]!, score: 0, personal: 0, serverRank: j, reasons: [] })))
  const histIds = row.hist.map((i) => ctx.ids[i]!)
  const listIds = list.map((i) => ctx.ids[i]!)
  baseline('item-knn', knnScores(histIds, listIds, env.itemKnn, o.itemKnn.decay))
  baseline('next-item', nextItemScores(row.hist, list, env.next, ds.pop, env.maxPop))
  const u = textUser(ctx, row.hist, o.textDecay)
  baseline('text-only', list.map((i) => dot(u, ctx.textVecs[i]!)))

  // inpage-int8: the row's history scored once (score(), as in the browser), ranked per setting.
  const reasons = o.reasons && o.protocol !== 'full'
  const catalog = o.historyRecords === 'none' && ctx.catalog ? withoutHistoryRecords(ctx.catalog, histIds, candidates) : ctx.catalog
  const scored = await score(env.model, modelEvents(ctx, row.hist), candidates, { source: ctx.source, caches: env.memo, withReasons: reasons, catalog, query, popularityPrior: o.popularityPrior, settings: ctx.settings })
  const rank = (options: RerankOptions) => (scored === NO_HISTORY ? serverOrder(candidates, options.k) : rankCandidates(scored, options, purchased)).items
  const explained = reasons && scored !== NO_HISTORY ? scored : undefined
  record('inpage-int8', rank(base), explained)
  record('inpage-int8-diverse', rank({ ...base, diversity: o.diversity }), explained)
  record(`inpage-int8-near-duplicates-${flip(o.nearDuplicates)}`, rank({ ...base, nearDuplicates: flip(o.nearDuplicates) }), explained)

  if (o.grid && o.protocol === 'category') {
    // The accuracy/exposure trade-off (report.ts, tradeoffSvg): each calibration level, with the popularity prior as
    // set and flipped (the flipped one scored again, without reasons).
    for (const c of CALIBRATION_GRID) record(`inpage-int8-calibration-${c}`, rank({ ...base, calibration: c }), explained)
    const flipped = await score(env.model, modelEvents(ctx, row.hist), candidates, { source: ctx.source, caches: env.memo, withReasons: false, catalog, query, popularityPrior: !o.popularityPrior, settings: ctx.settings })
    const other = `inpage-int8-prior-${o.popularityPrior ? 'off' : 'on'}`
    for (const c of CALIBRATION_GRID) {
      const options = { ...base, popularityPrior: !o.popularityPrior, calibration: c }
      record(`${other}-calibration-${c}`, (flipped === NO_HISTORY ? serverOrder(candidates, options.k) : rankCandidates(flipped, options, purchased)).items)
    }
  }
  if (o.grid && o.protocol === 'category')
    for (const pw of PERSONAL_WEIGHT_GRID) {
      gridRank({ personalWeight: pw, system: 'inpage-int8' }, missAll ? MISS : position(rank({ ...base, personalWeight: pw }), target))
      const kn = rankCandidates({ candidates, personal: knnScores(histIds, listIds, env.itemKnn, o.itemKnn.decay) }, { ...base, personalWeight: pw }, purchased)
      gridRank({ personalWeight: pw, system: 'item-knn' }, missAll ? MISS : position(kn.items, target))
    }
  if (o.grid && o.protocol === 'search')
    for (const qw of QUERY_WEIGHT_GRID)
      gridRank({ personalWeight: o.personalWeight, queryWeight: qw, system: 'inpage-int8' }, missAll ? MISS : position(rank({ ...base, queryWeight: qw }), target))

  // inpage-int8-server-query: a search before the encoder is loaded, as the browser runs it: score() without the
  // query vector (its model refuses to encode), ranked on the server's relevance (BM25 scores) and the history.
  // With a pack, history items without its text vector are left out, as the worker does; without one, every item's
  // text vector stands for a pack's.
  if (o.protocol === 'search') {
    const unavailable = catalog ? new Set(histIds.filter((h) => !catalog.get(h)?.text)) : undefined
    const noVector = await score(env.noEncoder!, modelEvents(ctx, row.hist), candidates, { source: ctx.source, caches: env.memo, withReasons: false, catalog, unavailable, query, queryVector: false, popularityPrior: o.popularityPrior, settings: ctx.settings })
    const rankNoVector = (personalWeight: number) => {
      const options = { ...base, personalWeight }
      return (noVector === NO_HISTORY ? serverOrder(candidates, options.k) : rankCandidates(noVector, options, purchased)).items
    }
    record('inpage-int8-server-query', rankNoVector(o.searchServerPersonalWeight))
    if (o.grid)
      for (const pw of SEARCH_SERVER_WEIGHT_GRID)
        gridRank({ personalWeight: pw, system: 'inpage-int8-server-query' }, missAll ? MISS : position(rankNoVector(pw), target))
  }
}

/** The other near-duplicate policy: each run also records inpage-int8 under it, the before/after of `--near-duplicates`. */
const flip = (p: NearDuplicatePolicy): NearDuplicatePolicy => (p === 'spread' ? 'keep' : 'spread')

/** `model` whose encoder throws: what proves a search scored without the query vector never encodes it. */
function withoutEncoder(model: InpageModel): InpageModel {
  const m = Object.create(model) as InpageModel
  m.encode = async () => {
    throw new Error('eval: the search without the query vector asked the encoder')
  }
  return m
}

/** The pack as a browser sees it when no record was kept for the history: history items off the page have none. */
function withoutHistoryRecords(catalog: CatalogLookup, histIds: readonly string[], candidates: readonly Candidate[]): CatalogLookup {
  const onPage = new Set(candidates.map((c) => c.id))
  const lacking = new Set(histIds.filter((h) => !onPage.has(h)))
  return { get: (id) => (lacking.has(id) ? undefined : catalog.get(id)), unknown: (id) => lacking.has(id) }
}

const indexCache = new WeakMap<Context, Map<string, number>>()
function idIndex(ctx: Context, id: string): number {
  let m = indexCache.get(ctx)
  if (!m) indexCache.set(ctx, (m = new Map(ctx.ids.map((x, i) => [x, i]))))
  return m.get(id)!
}

/** The row runner of each protocol. */
export const RUN_ROW: Record<Protocol, (ctx: Context, o: EvalOptions, env: Env, row: Row, r: number, stats: Stats, gridRank: GridRank) => Promise<void>> = {
  full: fullRow,
  category: listRow,
  search: listRow,
}
