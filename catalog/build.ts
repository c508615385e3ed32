// Builds a catalog pack (docs/catalog-pack.md) from a store's data in eval's format (items.jsonl +
// valid.inter, the training histories; `npm run eval -- convert` makes them from an events CSV):
// text vectors made with the model's own encoder, aggregates from the store's histories only.

import { createHash, generateKeyPairSync, sign } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { catalogItem, readItemsFile } from '../node/data'
import { InputError, readText, type Encoding } from '../node/input'
import { itemText } from '../src/ranking/text'
import {
  checkTuning,
  PACK_FORMAT,
  PACK_FORMAT_VERSION,
  quantize,
  sparseShardCount,
  shardFile,
  shardOf,
  SIGNATURE_ALG,
  signedMessage,
  toBase64,
  type PackManifest,
  type PackRecord,
  type PackTuning,
  type Shard,
} from '../src/pack/format'
import { checkManifest, packSettings, type Manifest } from '../src/model/manifest'
import { aggregate, type AggregateOptions } from './aggregate'
import { openAggregates } from './aggregates-in'
import { checkOut, leftovers, moveIntoPlace, stagingFolder, writePackJson } from './out'

/** A pack name: it keys the browser's caches (`inpage-pack:<name>@<version>`), so no '@', '/', ':' or spaces. */
export const PACK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/

/** DuckDB's memory limit as the builder passes it on: a number and a unit, nothing else reaches the SQL. */
export const MEMORY_LIMIT = /^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i

export interface BuildOptions extends AggregateOptions {
  /** Data folder in eval's format. */
  data?: string
  /** Or a folder of aggregates made elsewhere (Spark, a warehouse): Parquet + its settings (catalog/aggregates-in.ts). */
  aggregates?: string
  /** Model folder (manifest.json; its encoder makes the text vectors). */
  model: string
  out: string
  /** Default: the data folder's name. */
  name?: string
  /**
   * Dense layout (format 1): about this many items per shard, every shard written. Default: the sparse layout
   * (format 2): `sparseShardCount(items)` shards, nearly one item per file, only non-empty shards written, so a
   * page downloads close to the bytes of the records it uses.
   */
  itemsPerShard?: number
  /** 'none' leaves item text to the browser's encoder. Default 'int8'. */
  textVectors?: 'int8' | 'none'
  /** Replace an existing pack folder (only a folder that holds a pack and nothing else). */
  force?: boolean
  /** The data folder's text encoding (items.jsonl, valid.inter). Default UTF-8. */
  encoding?: Encoding
  /** Text vectors for the items of these many dense shards (× 16 items, sparse) at a time (the encoder runs on them, then they are written). */
  batchShards?: number
  log?: (line: string) => void
  /** Called once every input is checked (after the aggregation, before the first shard): the CLI loads
   * the encoder here, so a bad input fails before that wait. Its time counts in no reported figure. */
  ready?: () => Promise<void>
  /**
   * The tuning step (`npm run catalog`'s, from eval/: catalog/ does not evaluate): called with the finished pack in
   * its staging folder, before it is moved into place; what it returns is written into pack.json's `tuning`. So a
   * tuning that fails leaves the old pack as it was, and a pack is never in place without its tuning.
   */
  tune?: (staged: string, manifest: PackManifest) => Promise<PackTuning | undefined>
  /** Encodes item texts (one run per text): the model's encoder, in Node. Injected so the builder is testable without it. */
  encode?: (texts: string[]) => Promise<Float32Array[]>
  now?: () => Date
}

export interface BuildReport {
  manifest: PackManifest
  /** `tune`: the tuning step's time (counted in `total`). */
  seconds: { aggregate: number; encode: number; write: number; tune: number; total: number }
  encodedItems: number
  bytes: number
  /** Shard files written (sparse: about one per item; dense: shards.count). */
  files: number
  peakRssMB: number
}

const sha256 = (b: string | Uint8Array) => createHash('sha256').update(b).digest('hex')

/** The model's manifest from its folder, or an InputError naming the file. */
function readModelManifest(dir: string): Manifest {
  const f = join(dir, 'manifest.json')
  const text = readText(f)
  try {
    return checkManifest(JSON.parse(text))
  } catch (e) {
    throw new InputError(f, undefined, `not a model manifest (${(e as Error).message.split('\n')[0]})`)
  }
}

/**
 * Builds the pack. Every input (--out, the name, the model's manifest, items.jsonl, valid.inter) is
 * checked before anything is written or encoded; the pack is written to a folder beside `out` and moved
 * into place only when complete, so on any failure an existing pack stays as it was.
 */
export async function buildPack(o: BuildOptions): Promise<BuildReport> {
  const log = o.log ?? (() => {})
  const t0 = performance.now()
  const out = resolve(o.out)
  const force = o.force === true
  checkOut(out, force)
  if (!o.data === !o.aggregates) throw new Error('give data or aggregates')
  const source = (o.data ?? o.aggregates)!
  const name = o.name ?? basename(resolve(source))
  if (!PACK_NAME.test(name))
    throw new InputError(o.name === undefined ? resolve(source) : '--name', undefined, `${JSON.stringify(name)} is not a pack name (letters, digits, '.', '_', '-'; at most 100)${o.name === undefined ? ': pass --name' : ''}`)
  if (o.memoryLimit !== undefined && !MEMORY_LIMIT.test(o.memoryLimit)) throw new InputError('--memory-limit', undefined, `${JSON.stringify(o.memoryLimit)} is not a size like 3GB`)
  const manifest: Manifest = readModelManifest(o.model)
  const settings = packSettings(manifest)
  const ext = o.aggregates ? await openAggregates(o.aggregates, { name: manifest.name, version: manifest.version, textDims: manifest.dims.text }, settings.neighbors, o) : undefined
  // With aggregates made elsewhere the items are their ids (text vectors, if any, come with them).
  const items = ext ? ext.ids.map((asin, item) => ({ item, asin, title: '', brand: null, categories: [], description: null })) : readItemsFile(o.data!, o.encoding)
  const sparse = o.itemsPerShard === undefined
  const count = sparse ? sparseShardCount(items.length) : Math.max(1, Math.ceil(items.length / o.itemsPerShard!))
  // What the manifest says a shard holds on average (sparse: a fraction of one).
  const itemsPerShard = sparse ? Number((items.length / count).toPrecision(4)) : o.itemsPerShard!
  const textVectors = ext ? ext.textVectors : (o.textVectors ?? 'int8')
  if (textVectors === 'int8' && !o.encode && !ext) throw new Error('text vectors need an encoder (encode)')
  for (const l of leftovers(out)) log(`note: ${l} is left from a build that was stopped; remove it`)

  // 1. Aggregates over the store's training histories (DuckDB), or read from those made elsewhere (Spark, a warehouse).
  log(ext ? `reading aggregates of ${items.length} items from ${o.aggregates}` : `aggregating ${items.length} items (DuckDB, memory limit ${o.memoryLimit ?? '3GB'})`)
  // valid.inter is checked line by line here, before DuckDB reads it and before anything is written.
  const agg = ext
    ? await ext.load((id) => shardOf(id, count)).catch((e) => (ext.close(), Promise.reject(e)))
    : await aggregate(o.data!, items.map((r) => ({ id: r.asin, shard: shardOf(r.asin, count) })), settings.neighbors, o)
  // A key for this build only: its private half signs the shards and is then dropped.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' }) as { kty: 'EC'; crv: 'P-256'; x: string; y: string }
  const tAgg = performance.now()
  log(`aggregated ${agg.events} events of ${agg.users} shoppers in ${((tAgg - t0) / 1000).toFixed(1)} s`)

  // 2. Shards, a batch at a time: records from the database, text vectors from the encoder, then written
  // into the staging folder.
  let staged: string
  let readyMs = 0
  try {
    const tReady = performance.now()
    await o.ready?.()
    readyMs = performance.now() - tReady
    staged = stagingFolder(out)
  } catch (e) {
    agg.close()
    throw e
  }
  let encodeMs = 0
  let encoded = 0
  let bytes = 0
  let files = 0
  // A batch holds about batchShards × 16 items in either layout (a sparse range of shards is mostly empty).
  const batch = sparse ? Math.max(1, Math.ceil(((o.batchShards ?? 256) * 16 * count) / Math.max(1, items.length))) : (o.batchShards ?? 256)
  let pack: PackManifest
  let tuneMs = 0
  try {
    mkdirSync(join(staged, 'shards'))
    for (let from = 0; from < count; from += batch) {
      const to = Math.min(count, from + batch)
      const byShard = await agg.shards(from, to)
      const all = [...byShard.values()].flat()
      let vectors: Float32Array[] = []
      if (textVectors === 'int8' && !ext) {
        const te = performance.now()
        vectors = await o.encode!(all.map((it) => itemText(catalogItem(items[it.idx]!))))
        encodeMs += performance.now() - te
        encoded += all.length
      }
      const vecOf = new Map(all.map((it, i) => [it.idx, vectors[i]]))
      // Sparse: only the shards that hold items have a file (a reader takes a 404 for an empty shard);
      // dense: every shard, empty or not (a reader takes a 404 for an error).
      for (const sh of sparse ? [...byShard.keys()].sort((a, b) => a - b) : Array.from({ length: to - from }, (_, k) => from + k)) {
        // No prototype: an id like "__proto__" or "constructor" is an ordinary key.
        const shard: Shard = { items: Object.create(null) as Shard['items'] }
        for (const it of byShard.get(sh) ?? []) {
          const r: PackRecord = { p: it.pop }
          const v = it.vector ?? vecOf.get(it.idx)
          if (v) Object.assign(r, quantize(v))
          if (it.neighbors.length) r.n = it.neighbors.map(([id, w]) => [id, Number(w.toPrecision(4))])
          if (it.next.length) r.f = it.next.map(([id, w]) => [id, Number(w.toPrecision(3))])
          shard.items[it.id] = r
        }
        const json = JSON.stringify(shard)
        const signature = sign('sha256', signedMessage(sh, json), { key: privateKey, dsaEncoding: 'ieee-p1363' })
        const text = `${toBase64(new Uint8Array(signature))}\n${json}`
        writeFileSync(join(staged, shardFile(sh)), text)
        bytes += Buffer.byteLength(text)
        files++
      }
      if (to < count || from === 0) log(`shards ${to}/${count}: ${files} files (${encoded} items encoded)`)
    }
    agg.close()

    // 3. The manifest, then the whole folder into place.
    pack = {
      format: PACK_FORMAT,
      formatVersion: sparse ? PACK_FORMAT_VERSION : 1,
      name,
      version: sha256(`${jwk.x}.${jwk.y}`).slice(0, 16),
      model: `${manifest.name}@${manifest.version}`,
      createdAt: (o.now?.() ?? new Date()).toISOString(),
      items: items.length,
      dims: { text: manifest.dims.text },
      textVectors,
      shards: { count, itemsPerShard, hash: 'fnv1a32', ...(sparse ? { sparse: true as const } : {}) },
      signature: { alg: SIGNATURE_ALG, publicKey: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y } },
      aggregates: { source: ext ? (ext.record.source ?? basename(resolve(o.aggregates!))) : `${basename(resolve(o.data!))}/valid.inter (training histories)`, users: agg.users, events: agg.events, neighbors: settings.neighbors, priorScale: settings.priorScale, ...(agg.next ? { next: agg.next } : {}) },
    }
    writePackJson(staged, pack)
    if (o.tune) {
      const tt = performance.now()
      const tuning = await o.tune(staged, pack)
      // Checked as every reader checks it: a step cannot write what the browser would refuse.
      if (tuning) writePackJson(staged, (pack = { ...pack, tuning: checkTuning(tuning, pack.dims.text) }))
      tuneMs = performance.now() - tt
    }
    moveIntoPlace(staged, out, force)
  } catch (e) {
    agg.close()
    rmSync(staged, { recursive: true, force: true })
    throw e
  }
  const t1 = performance.now()
  return {
    manifest: pack,
    seconds: { aggregate: (tAgg - t0) / 1000, encode: encodeMs / 1000, write: (t1 - tAgg - readyMs - encodeMs - tuneMs) / 1000, tune: tuneMs / 1000, total: (t1 - t0 - readyMs) / 1000 },
    encodedItems: encoded,
    bytes,
    files,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  }
}
