// What every protocol reads, built once per dataset and model: the catalogue as candidates, its text and item
// vectors (from the pack, the cache file or the encoder), the model's and the pack's tables, the training histories;
// and a data row's history as the browser would hold it, and as the model reads it.

import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { isAbsolute, join, relative } from 'node:path'
import type { Neighbors } from '../src/ranking/score'
import { itemText } from '../src/ranking/text'
import type { Candidate } from '../src/ranking/types'
import type { StoredEvent } from '../src/core/types'
import type { InpageModel } from '../src/model/model'
import { modelReads, type CatalogLookup, type TextVectorSource } from '../src/ranking/personalize'
import { selectModelEvents, type ModelEvents } from '../src/ranking/events'
import { openPack } from '../catalog/read'
import type { PackTuning, ScoreSettings } from '../src/pack/format'
import { catalogItem, loadDataset, type Dataset, type Row } from '../node/data'
import type { Encoding } from '../node/input'
import type { LoadedModel } from '../node/model-node'
import type { Split } from './options'

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
  /** The pack's scoring settings (`tuning`, chosen on the store's valid split for this model), as the browser uses them. */
  settings?: ScoreSettings
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
    ...(pack.manifest.tuning && pack.manifest.model === `${manifest.name}@${manifest.version}` ? { tuning: pack.manifest.tuning } : {}),
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
    // The browser uses a pack's tuning with the model it was chosen for only (workers/engine.ts lookup()).
    ...(pack?.manifest.tuning && pack.manifest.model === `${manifest.name}@${manifest.version}` ? { settings: pack.manifest.tuning } : {}),
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

/** The rows of a split (the first `users` of them when given). */
export function rows(ctx: Context, split: Split, users?: number): Row[] {
  const all = ctx.ds.splits[split]
  if (!all) throw new Error(`split ${split} not loaded`)
  return users ? all.slice(0, users) : all
}

/** The catalog pack eval read (`--catalog`): which, and how much of the data it covers. */
export interface PackInfo {
  pack: string
  dir: string
  model: string
  /** Whether its text vectors were used (made with this model's encoder). */
  textVectors: boolean
  /** The pack's `tuning` when this model runs with it. */
  tuning?: PackTuning
  covered: number
  items: number
}

/** Load the data and the model, build the context (cached item vectors) in one call. */
export async function setup(
  dataDir: string,
  loaded: LoadedModel,
  splits: Split[],
  opts: { cacheDir?: string; encodeBatch?: number; log?: (s: string) => void; catalog?: string; encoding?: Encoding } = {},
) {
  return buildContext(loadDataset(dataDir, splits, opts.encoding), loaded, opts)
}
