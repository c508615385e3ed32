// The evaluation harness: the shipped ONNX files through onnxruntime-node, and the same TypeScript
// the browser runs (score() in src/ranking/personalize.ts, rankCandidates in src/ranking/rerank.ts). Protocols and
// metrics: eval/README.md.

import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { isAbsolute, join, relative } from 'node:path'
import { knnScores, type Neighbors } from '../src/ranking/score'
import { rankCandidates, serverOrder } from '../src/ranking/rerank'
import { itemText } from '../src/ranking/text'
import { dot } from '../src/ranking/vectors'
import type { Candidate, RankedItem, RerankOptions } from '../src/ranking/types'
import type { StoredEvent } from '../src/core/types'
import type { InpageModel } from '../src/model/model'
import { modelReads, NO_HISTORY, PersonalizeCaches, score, type CatalogLookup, type TextVectorSource } from '../src/ranking/personalize'
import { openPack } from '../catalog/read'
import { selectModelEvents, type ModelEvents } from '../src/ranking/events'
import { ITEM_KNN_DEFAULTS, itemKnnNeighbors, nextItemScores, transitions, type ItemKnnSettings } from './baselines'
import { BM25 } from '../node/bm25'
import { catalogItem, loadDataset, type Dataset, type Row } from '../node/data'
import type { Encoding } from '../node/input'
import { Exposure, MISS, metricsFromRanks, rankOf, topK, type RankMetrics } from './metrics'
import type { LoadedModel } from '../node/model-node'

export type Protocol = 'full' | 'category' | 'search'
export type Split = 'valid' | 'test'

export const PERSONAL_WEIGHT_GRID = [0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0] as const
export const QUERY_WEIGHT_GRID = [0.25, 0.5, 1] as const
export const TEXT_DECAY_GRID = [0.5, 0.8, 1.0] as const

export interface EvalOptions {
  protocol: Protocol
  split: Split
  excludeHistory: boolean
  /** Only the first N rows of the split. */
  users?: number
  personalWeight: number
  queryWeight: number
  diversity: { lambda: number; maxPerCategory?: number }
  /** Valid-only settings search: personalWeight (category), queryWeight (search), text-only decay (full). */
  grid?: boolean
  /** Recency decay of the text-only baseline's mean of history text vectors. */
  textDecay: number
  /** The item-kNN baseline, built from the evaluated data's training histories (eval/baselines.ts). */
  itemKnn: ItemKnnSettings
  /** Candidate list length of the category and search protocols. */
  pageSize: number
  /** Reasons (leave-one-out user vectors) for the inpage systems in the category protocol. */
  reasons: boolean
  /** The model's popularity prior on (RerankOptions.popularityPrior). */
  popularityPrior: boolean
  /**
   * With a pack (`--catalog`): 'track' (default) — every history item has its pack record, as in the browser,
   * where a track() call takes it; 'none' — history items off the page have none (a history kept from before
   * records were taken): their text is encoded, their neighbours come from the page's lists (packNeighbors, src/ranking/personalize.ts).
   */
  historyRecords: 'track' | 'none'
  progress?: (done: number, total: number) => void
}

export const DEFAULT_OPTIONS: Omit<EvalOptions, 'protocol' | 'split' | 'personalWeight' | 'queryWeight'> = {
  excludeHistory: true,
  diversity: { lambda: 0.7, maxPerCategory: 3 },
  textDecay: 0.5,
  itemKnn: { ...ITEM_KNN_DEFAULTS },
  pageSize: 100,
  reasons: true,
  popularityPrior: true,
  historyRecords: 'track',
}

export interface SystemMetrics extends RankMetrics {
  'coverage@10': number
  'gini@10': number
  rows: number
  /** Category protocol, inpage systems: share of the items moved up into the top 10 that carry a reason. */
  'moved_up_with_reason@10'?: number
  moved_up?: number
}

export interface GridPoint {
  personalWeight?: number
  queryWeight?: number
  textDecay?: number
  system: string
  metrics: RankMetrics
}

/** Which model ran: manifest name and version, the folder it was read from, the encoder file's sha256. */
export interface ModelInfo {
  name: string
  version: string
  dir: string
  encoderSha256: string
}

/** How many of the evaluated data's item ids the model's public tables know (collab.json, neighbors.json). */
export interface ModelCoverage {
  items: number
  /** Items with a shipped collaborative vector (the others get zeros, which also switch the popularity prior off). */
  collab: number
  /** Items with a shipped neighbour list (the others add nothing to the model's kNN term). */
  neighbors: number
}

/** Category protocol: how the catalogue splits into pages. */
export interface PageStats {
  pages: number
  /** Catalogue items per page before the pageSize cut (mean). */
  meanItems: number
  /** Share of the rows whose target is on its page (before history exclusion): the ceiling of recall@10. */
  targetOnPage: number
}

export interface EvalResult {
  protocol: Protocol
  split: Split
  users: number
  data: string
  model: ModelInfo
  modelCoverage: ModelCoverage
  /** The catalog pack inpage read (`--catalog`): which, and how much of the data it covers. */
  catalog?: PackInfo
  /** Printed to stderr by the CLI and kept here: what makes a row of this result weaker than it looks. */
  warnings: string[]
  categoryPages?: PageStats
  excludeHistory: boolean
  semiSynthetic?: string
  settings: Record<string, unknown>
  systems: Record<string, SystemMetrics>
  grid?: GridPoint[]
  best?: Record<string, number>
  seconds: number
}

/** What a protocol needs about the catalogue and the model, built once per dataset and model. */
export interface Context {
  ds: Dataset
  model: InpageModel
  ids: string[]
  candidates: Candidate[]
  texts: string[]
  textVecs: Float32Array[]
  itemVecs: Float32Array[]
  source: TextVectorSource
  encodeSeconds: number
  modelInfo: ModelInfo
  coverage: ModelCoverage
  /** The neighbour lists inpage scores with: the pack's (`--catalog`), else the model's. */
  neighbors: Neighbors | undefined
  /** The catalog pack (`--catalog`), as score() reads it. */
  catalog?: CatalogLookup
  packInfo?: PackInfo
  /** Training histories (the valid.inter histories: each user's items before the last two); baselines read these. */
  train: readonly (readonly number[])[]
}

/** Counts of the data's item ids found in the model's public tables. */
export function modelCoverage(model: InpageModel, ids: readonly string[]): ModelCoverage {
  return {
    items: ids.length,
    collab: ids.filter((id) => model.collabVector(id) !== undefined).length,
    neighbors: model.neighbors ? ids.filter((id) => model.neighbors!.has(id)).length : 0,
  }
}

/** A warning when the model's collab.json misses some of the data's items, else undefined. (Not every item
 * of the training catalogue has a neighbour list: pairs below the k-shopper threshold leave none; so the
 * neighbour count is reported, not warned on.) */
export function coverageWarning(c: ModelCoverage, model: Pick<ModelInfo, 'name' | 'version'>): string | undefined {
  if (c.collab === c.items) return undefined
  const pct = (n: number) => `${((100 * n) / Math.max(c.items, 1)).toFixed(1)} %`
  return (
    `WARNING: model ${model.name}@${model.version} knows ${c.collab} of the data's ${c.items} item ids in collab.json (${pct(c.collab)}) ` +
    `and ${c.neighbors} in neighbors.json (${pct(c.neighbors)}); unknown items get zero collaborative vectors (no popularity prior) and no neighbours, ` +
    `so the inpage rows run on text alone for them. The baselines are built from this data's own histories.`
  )
}

/** A folder as written into results: relative to the working directory when inside it. */
function shownPath(dir: string): string {
  const r = relative(process.cwd(), dir)
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : dir
}

export async function buildContext(
  ds: Dataset,
  loaded: LoadedModel,
  opts: { cacheDir?: string; encodeBatch?: number; log?: (s: string) => void; catalog?: string } = {},
): Promise<Context> {
  const { model } = loaded
  const pack = opts.catalog ? openPack(opts.catalog) : undefined
  const t0 = performance.now()
  const ids = ds.items.map((r) => r.asin)
  const candidates: Candidate[] = ds.items.map((r) => catalogItem(r))
  const texts = candidates.map((c) => itemText(c))
  // One text per encoder run, as the browser engine does (int8 dynamic quantization scales each batch
  // as a whole, so batch-mates would change an item's vector). --encode-batch 128 reproduces the
  // Python card's batching instead.
  const batch = opts.encodeBatch ?? 1
  const key = createHash('sha256').update(loaded.encoderSha).update(`|b${batch}|`).update(texts.join('\n')).digest('hex').slice(0, 16)
  const cacheFile = opts.cacheDir ? join(opts.cacheDir, `textvec-${key}.f32`) : undefined
  const d = model.dims.text
  let textVecs: Float32Array[]
  // A pack made with this model's encoder carries the text vectors: no encoding (as in the browser).
  const packText =
    pack && pack.manifest.textVectors === 'int8' && pack.manifest.model === `${model.manifest.name}@${model.manifest.version}` && pack.manifest.dims.text === d
  const fromPack = packText ? ids.map((id) => pack.item(id)?.text) : undefined
  const textFromPack = fromPack?.every((v) => v) ?? false
  if (textFromPack) {
    textVecs = fromPack as Float32Array[]
  } else if (cacheFile && existsSync(cacheFile)) {
    const b = readFileSync(cacheFile)
    const all = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))
    textVecs = texts.map((_, i) => all.slice(i * d, (i + 1) * d))
  } else {
    opts.log?.(`encoding ${texts.length} item texts with ${model.manifest.encoder.file}…`)
    textVecs = await model.encode(texts, batch)
    if (cacheFile) {
      mkdirSync(opts.cacheDir!, { recursive: true })
      const all = new Float32Array(texts.length * d)
      textVecs.forEach((v, i) => all.set(v, i * d))
      writeFileSync(cacheFile, new Uint8Array(all.buffer))
    }
  }
  // The model's own public vectors where it knows the id; else the pack's popularity prior (as the worker does).
  const packItems = pack ? new Map(ids.map((id) => [id, pack.item(id)])) : undefined
  const publicVector = (id: string) => {
    const pop = packItems?.get(id)?.pop
    return model.collabVector(id) ?? (pop !== undefined ? model.publicFromPopularity(pop) : undefined)
  }
  const itemVecs = textVecs.map((v, i) => model.itemVector(v, publicVector(ids[i]!)))
  const byId = new Map(ids.map((id, i) => [id, textVecs[i]!]))
  const source: TextVectorSource = {
    async textVectors(items) {
      const missing = items.filter((it) => !byId.has(it.id))
      if (missing.length) (await model.encode(missing.map((m) => m.text))).forEach((v, i) => byId.set(missing[i]!.id, v))
      return items.map((it) => byId.get(it.id)!)
    },
  }
  const manifest = model.manifest
  const modelInfo: ModelInfo = { name: manifest.name, version: manifest.version, dir: shownPath(loaded.dir), encoderSha256: loaded.encoderSha }
  const train = ds.splits.valid?.map((r) => r.hist)
  if (!train) throw new Error(`${ds.dir}: valid.inter (the training histories) is not loaded`)
  const catalog: CatalogLookup | undefined = packItems && { get: (id) => packItems.get(id) }
  // With a pack, its neighbour lists (the store's own logs); without, the model's (its training catalog's).
  const neighbors: Neighbors | undefined = packItems ? new Map(ids.map((id) => [id, new Map(packItems.get(id)?.neighbors ?? [])])) : model.neighbors
  const packInfo = pack && {
    pack: `${pack.manifest.name}@${pack.manifest.version}`,
    dir: shownPath(opts.catalog!),
    model: pack.manifest.model,
    textVectors: textFromPack,
    covered: ids.filter((id) => packItems!.get(id)).length,
    items: ids.length,
  }
  if (packInfo && packInfo.covered < ids.length)
    opts.log?.(`WARNING: pack ${packInfo.pack} holds ${packInfo.covered} of the data's ${ids.length} item ids; the others are encoded and have no popularity or neighbours`)
  return {
    ds,
    model,
    ids,
    candidates,
    texts,
    textVecs,
    itemVecs,
    source,
    encodeSeconds: (performance.now() - t0) / 1000,
    modelInfo,
    coverage: modelCoverage(model, ids),
    train,
    neighbors,
    catalog,
    ...(packInfo ? { packInfo } : {}),
  }
}

/** A data row's history as the browser stores it: each item a 'purchase' with its public fields, oldest first. */
export function historyEvents(ctx: Context, hist: readonly number[]): StoredEvent[] {
  return hist.map((i, j) => {
    const c = ctx.candidates[i]!
    return { type: 'purchase', itemId: c.id, item: { title: c.title, ...(c.brand ? { brand: c.brand } : {}), category: c.category ?? [] }, ts: j }
  })
}

/** What the model reads of a row's history: selected here, once, as the page's engine client does before it sends. */
export function modelEvents(ctx: Context, hist: readonly number[]): ModelEvents {
  return selectModelEvents(historyEvents(ctx, hist), modelReads(ctx.model))
}

/** Recency-weighted mean of history text vectors (most recent weight 1, then decay^p). */
export function textUser(ctx: Context, hist: readonly number[], decay: number): Float32Array {
  const u = new Float32Array(ctx.model.dims.text)
  hist.forEach((i, j) => {
    const w = decay ** (hist.length - 1 - j)
    const v = ctx.textVecs[i]!
    for (let k = 0; k < u.length; k++) u[k]! += w * v[k]!
  })
  return u
}

/** A model whose encoder remembers the texts it has seen (search queries repeat across rows). */
function memoEncoder(model: InpageModel): InpageModel {
  const cache = new Map<string, Float32Array>()
  const m = Object.create(model) as InpageModel
  m.encode = async (texts: readonly string[], batchSize?: number) => {
    const missing = [...new Set(texts.filter((t) => !cache.has(t)))]
    if (missing.length) (await model.encode(missing, batchSize)).forEach((v, i) => cache.set(missing[i]!, v))
    return texts.map((t) => cache.get(t)!)
  }
  return m
}

class SystemStats {
  readonly ranks: number[] = []
  readonly exposure: Exposure
  movedUp = 0
  movedUpWithReason = 0
  constructor(nItems: number) {
    this.exposure = new Exposure(nItems)
  }
  result(): SystemMetrics {
    const out: SystemMetrics = {
      ...metricsFromRanks(this.ranks),
      'coverage@10': this.exposure.coverage(),
      'gini@10': this.exposure.gini(),
      rows: this.ranks.length,
    }
    if (this.movedUp > 0) {
      out['moved_up_with_reason@10'] = this.movedUpWithReason / this.movedUp
      out.moved_up = this.movedUp
    }
    return out
  }
}

class Stats {
  private readonly by = new Map<string, SystemStats>()
  constructor(private readonly nItems: number) {}
  get(name: string): SystemStats {
    let s = this.by.get(name)
    if (!s) this.by.set(name, (s = new SystemStats(this.nItems)))
    return s
  }
  results(): Record<string, SystemMetrics> {
    return Object.fromEntries([...this.by].map(([k, v]) => [k, v.result()]))
  }
}

/** 1-based position of `id` in a reranked list, MISS when absent. */
function position(items: readonly RankedItem[], id: string): number {
  const p = items.findIndex((it) => it.id === id)
  return p < 0 ? MISS : p + 1
}

export function rows(ctx: Context, split: Split, users?: number): Row[] {
  const all = ctx.ds.splits[split]
  if (!all) throw new Error(`split ${split} not loaded`)
  return users ? all.slice(0, users) : all
}

export async function evaluate(ctx: Context, o: EvalOptions): Promise<EvalResult> {
  const t0 = performance.now()
  const data = rows(ctx, o.split, o.users)
  const stats = new Stats(ctx.ids.length)
  const grid = new Map<string, { point: Omit<GridPoint, 'metrics'>; ranks: number[] }>()
  const gridRank = (point: Omit<GridPoint, 'metrics'>, rank: number) => {
    const key = JSON.stringify(point)
    let g = grid.get(key)
    if (!g) grid.set(key, (g = { point, ranks: [] }))
    g.ranks.push(rank)
  }
  const knn = ctx.model.manifest.scoring?.knn
  const nb = ctx.neighbors
  const run = { full: fullRow, category: listRow, search: listRow }[o.protocol]
  const env = makeEnv(ctx, o)
  const warnings: string[] = []
  // With a pack, unknown ids get its popularity and neighbours: the model's own tables' coverage is no longer a warning.
  const cw = ctx.packInfo ? undefined : coverageWarning(ctx.coverage, ctx.modelInfo)
  if (cw) warnings.push(cw)
  let categoryPages: PageStats | undefined
  if (o.protocol === 'category') {
    const sizes = [...env.pageSizes.values()]
    categoryPages = {
      pages: env.pages.size,
      meanItems: sizes.reduce((a, b) => a + b, 0) / Math.max(sizes.length, 1),
      targetOnPage: data.filter((row) => env.pages.get(ctx.ds.catKeys[row.target]!)?.includes(row.target)).length / Math.max(data.length, 1),
    }
    if (env.pages.size === 1)
      warnings.push(
        `one category page: every item has the category key "${ctx.ds.catKeys[0]}", so the category protocol reranks the catalogue's ` +
          `${o.pageSize} most popular items (a bestseller page); ${(100 * categoryPages.targetOnPage).toFixed(1)} % of the targets are on it. ` +
          'Not comparable with a dataset that has category pages.',
      )
  }
  for (let r = 0; r < data.length; r++) {
    await run(ctx, o, env, data[r]!, r, stats, gridRank)
    o.progress?.(r + 1, data.length)
  }
  const gridOut = [...grid.values()].map((g) => ({ ...g.point, metrics: metricsFromRanks(g.ranks) }))
  const result: EvalResult = {
    protocol: o.protocol,
    split: o.split,
    users: data.length,
    data: ctx.ds.dir,
    model: ctx.modelInfo,
    modelCoverage: ctx.coverage,
    ...(ctx.packInfo ? { catalog: ctx.packInfo } : {}),
    warnings,
    ...(categoryPages ? { categoryPages } : {}),
    excludeHistory: o.excludeHistory,
    settings: {
      personalWeight: o.personalWeight,
      queryWeight: o.protocol === 'search' ? o.queryWeight : undefined,
      diversity: o.diversity,
      textDecay: o.textDecay,
      itemKnn: o.itemKnn,
      knn: knn && nb ? knn : undefined,
      pageSize: o.protocol === 'full' ? undefined : o.pageSize,
      popularityPrior: o.popularityPrior,
      ...(ctx.catalog ? { historyRecords: o.historyRecords } : {}),
    },
    systems: stats.results(),
    seconds: (performance.now() - t0) / 1000,
  }
  if (o.protocol === 'search')
    result.semiSynthetic =
      'SEMI-SYNTHETIC: the data has no search queries; the query is the target item\'s leaf category name (even rows) or brand (odd rows, leaf category when it has none), candidates = top-100 items by BM25 over item text.'
  if (gridOut.length) {
    result.grid = gridOut
    const best = (f: (g: GridPoint) => number | undefined) =>
      gridOut.filter((g) => f(g) !== undefined && g.system === 'inpage-int8').sort((a, b) => b.metrics['ndcg@10'] - a.metrics['ndcg@10'])[0]
    const b: Record<string, number> = {}
    const pw = best((g) => g.personalWeight)
    if (o.protocol === 'category' && pw?.personalWeight !== undefined) b.personalWeight = pw.personalWeight
    const qw = best((g) => g.queryWeight)
    if (qw?.queryWeight !== undefined) b.queryWeight = qw.queryWeight
    const td = gridOut.filter((g) => g.system === 'text-only').sort((a, c) => c.metrics['ndcg@10'] - a.metrics['ndcg@10'])[0]
    if (td?.textDecay !== undefined) b.textDecay = td.textDecay
    result.best = b
  }
  return result
}

type GridRank = (point: Omit<GridPoint, 'metrics'>, rank: number) => void

interface Env {
  allIds: string[]
  allIndex: number[]
  pages: Map<string, number[]>
  bm25?: BM25
  searchCache: Map<string, { doc: number; score: number }[]>
  memo: PersonalizeCaches
  model: InpageModel
  /** Category protocol: catalogue items per page before the pageSize cut. */
  pageSizes: Map<string, number>
  /** Baselines from the data's training histories (eval/baselines.ts). */
  itemKnn: Neighbors
  next: Map<number, number>[]
  maxPop: number
}

function makeEnv(ctx: Context, o: EvalOptions): Env {
  const { ds } = ctx
  const pages = new Map<string, number[]>()
  const pageSizes = new Map<string, number>()
  if (o.protocol === 'category') {
    const by = new Map<string, number[]>()
    ds.catKeys.forEach((c, i) => {
      let l = by.get(c)
      if (!l) by.set(c, (l = []))
      l.push(i)
    })
    for (const [c, l] of by) {
      pageSizes.set(c, l.length)
      pages.set(c, l.sort((a, b) => ds.pop[b]! - ds.pop[a]! || a - b).slice(0, o.pageSize))
    }
  }
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
  }
}

const knnTables = new WeakMap<Context, Map<string, Neighbors>>()
/** The item-kNN baseline's neighbour lists from the context's training histories, built once per settings. */
function itemKnnTable(ctx: Context, s: ItemKnnSettings): Neighbors {
  let byKey = knnTables.get(ctx)
  if (!byKey) knnTables.set(ctx, (byKey = new Map()))
  const { decay: _, ...build } = s
  const key = JSON.stringify(build)
  let t = byKey.get(key)
  if (!t) byKey.set(key, (t = itemKnnNeighbors(ctx.train, ctx.ids, build)))
  return t
}

const nextTables = new WeakMap<Context, Map<number, number>[]>()
function nextTable(ctx: Context): Map<number, number>[] {
  let t = nextTables.get(ctx)
  if (!t) nextTables.set(ctx, (t = transitions(ctx.train, ctx.ids.length)))
  return t
}

/** Full ranking over the whole catalogue, ranks by the README's rule. */
async function fullRow(ctx: Context, o: EvalOptions, env: Env, row: Row, _r: number, stats: Stats, gridRank: GridRank) {
  const { ds, model } = ctx
  const excl = o.excludeHistory ? row.hist : undefined
  const add = (name: string, scores: ArrayLike<number>) => {
    const s = stats.get(name)
    s.ranks.push(rankOf(scores, row.target, excl))
    s.exposure.add(topK(scores, 10, excl))
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

  // inpage-int8: score(), as in the browser, on the history's model events, over every item.
  const scored = await score(model, modelEvents(ctx, row.hist), ctx.candidates, { source: ctx.source, caches: env.memo, withReasons: false, catalog: ctx.catalog, popularityPrior: o.popularityPrior })
  if (scored === NO_HISTORY) throw new Error(`a row with no history the model reads (${row.hist.length} items)`)
  const scores = scored.personal
  add('inpage-int8', scores)

  // inpage-int8-diverse: the model's top `pageSize` (history excluded), reordered by rankCandidates with MMR.
  const top = topK(scores, o.pageSize, excl)
  const ranked = rankCandidates(
    { candidates: top.map((i) => ({ ...ctx.candidates[i]!, score: scores[i]! })), personal: top.map((i) => scores[i]!), vectors: top.map((i) => ctx.textVecs[i]!) },
    { personalWeight: 1, k: 10, diversity: o.diversity },
  ).items
  const s = stats.get('inpage-int8-diverse')
  s.ranks.push(excl && excl.includes(row.target) ? MISS : position(ranked, ctx.ids[row.target]!))
  s.exposure.add(ranked.slice(0, 10).map((it) => top[it.serverRank]!))
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
    const leaf = it.categories.at(-1) ?? ''
    query = (r % 2 === 1 && it.brand?.trim() ? it.brand : leaf) || it.title
    let hits = env.searchCache.get(query)
    if (!hits) env.searchCache.set(query, (hits = env.bm25!.search(query, o.pageSize)))
    list = hits.map((h) => h.doc)
    serverScores = hits.map((h) => h.score)
  }
  const candidates = list.map((i, j) => (serverScores ? { ...ctx.candidates[i]!, score: serverScores[j]! } : ctx.candidates[i]!))
  const histSet = new Set(row.hist)
  const missAll = o.excludeHistory && histSet.has(row.target)
  const purchased = new Set(row.hist.map((i) => ctx.ids[i]!))
  const kept = list.filter((i) => !(o.excludeHistory && histSet.has(i)))
  const keptPos = new Map(kept.map((i, j) => [ctx.ids[i]!, j]))
  const base: RerankOptions = {
    k: 10,
    excludePurchased: o.excludeHistory,
    personalWeight: o.personalWeight,
    popularityPrior: o.popularityPrior,
    ...(query ? { query, queryWeight: o.queryWeight } : {}),
  }
  const record = (name: string, items: readonly RankedItem[], withReasons = false) => {
    const s = stats.get(name)
    s.ranks.push(missAll ? MISS : position(items, target))
    const top = items.slice(0, 10)
    s.exposure.add(top.map((it) => idIndex(ctx, it.id)))
    if (withReasons)
      top.forEach((it, pos) => {
        if (pos < keptPos.get(it.id)!) {
          s.movedUp++
          if (it.reasons.length) s.movedUpWithReason++
        }
      })
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
  const reasons = o.reasons && o.protocol === 'category'
  const catalog = o.historyRecords === 'none' && ctx.catalog ? withoutHistoryRecords(ctx.catalog, histIds, candidates) : ctx.catalog
  const scored = await score(env.model, modelEvents(ctx, row.hist), candidates, { source: ctx.source, caches: env.memo, withReasons: reasons, catalog, query, popularityPrior: o.popularityPrior })
  const rank = (options: RerankOptions) => (scored === NO_HISTORY ? serverOrder(candidates, options.k) : rankCandidates(scored, options, purchased)).items
  record('inpage-int8', rank(base), reasons)
  record('inpage-int8-diverse', rank({ ...base, diversity: o.diversity }), reasons)

  if (o.grid && o.protocol === 'category')
    for (const pw of PERSONAL_WEIGHT_GRID) {
      gridRank({ personalWeight: pw, system: 'inpage-int8' }, missAll ? MISS : position(rank({ ...base, personalWeight: pw }), target))
      const kn = rankCandidates({ candidates, personal: knnScores(histIds, listIds, env.itemKnn, o.itemKnn.decay) }, { ...base, personalWeight: pw }, purchased)
      gridRank({ personalWeight: pw, system: 'item-knn' }, missAll ? MISS : position(kn.items, target))
    }
  if (o.grid && o.protocol === 'search')
    for (const qw of QUERY_WEIGHT_GRID)
      gridRank({ personalWeight: o.personalWeight, queryWeight: qw, system: 'inpage-int8' }, missAll ? MISS : position(rank({ ...base, queryWeight: qw }), target))
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

/** Load the data and the model, build the context (cached item vectors) in one call. */
export interface PackInfo {
  pack: string
  dir: string
  model: string
  /** Whether its text vectors were used (made with this model's encoder). */
  textVectors: boolean
  covered: number
  items: number
}

export async function setup(
  dataDir: string,
  loaded: LoadedModel,
  splits: Split[],
  opts: { cacheDir?: string; encodeBatch?: number; log?: (s: string) => void; catalog?: string; encoding?: Encoding } = {},
) {
  return buildContext(loadDataset(dataDir, splits, opts.encoding), loaded, opts)
}
