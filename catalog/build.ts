// Builds a catalog pack (docs/catalog-pack.md) from a store's data in eval's format (items.jsonl +
// valid.inter, the training histories; `npm run eval -- convert` makes them from an events CSV):
// text vectors made with the model's own encoder, aggregates from the store's histories only.

import { createHash, generateKeyPairSync, sign } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { catalogItem, readItemsFile } from '../eval/data'
import { itemText } from '../src/ranking/text'
import {
  PACK_FORMAT,
  PACK_FORMAT_VERSION,
  quantize,
  shardFile,
  shardOf,
  SIGNATURE_ALG,
  signedMessage,
  toBase64,
  type PackManifest,
  type PackRecord,
  type Shard,
} from '../src/pack/format'
import { checkManifest, packSettings, type Manifest } from '../workers/manifest'
import { aggregate, type AggregateOptions } from './aggregate'
import { openAggregates } from './aggregates-in'

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
  /** Target items per shard (what one item costs a page in bytes). Default 16. */
  itemsPerShard?: number
  /** 'none' leaves item text to the browser's encoder. Default 'int8'. */
  textVectors?: 'int8' | 'none'
  /** Replace an existing pack folder. */
  force?: boolean
  /** Text vectors for the items of these many shards at a time (the encoder runs on them, then they are written). */
  batchShards?: number
  log?: (line: string) => void
  /** Encodes item texts (one run per text): the model's encoder, in Node. Injected so the builder is testable without it. */
  encode?: (texts: string[]) => Promise<Float32Array[]>
  now?: () => Date
}

export interface BuildReport {
  manifest: PackManifest
  seconds: { aggregate: number; encode: number; write: number; total: number }
  encodedItems: number
  bytes: number
  peakRssMB: number
}

const sha256 = (b: string | Uint8Array) => createHash('sha256').update(b).digest('hex')

export async function buildPack(o: BuildOptions): Promise<BuildReport> {
  const log = o.log ?? (() => {})
  const t0 = performance.now()
  const out = resolve(o.out)
  if (existsSync(out)) {
    if (!o.force) throw new Error(`${out} exists: pass --force to replace it`)
    rmSync(out, { recursive: true, force: true })
  }
  const manifest: Manifest = checkManifest(JSON.parse(readFileSync(join(o.model, 'manifest.json'), 'utf8')))
  const settings = packSettings(manifest)
  if (!o.data === !o.aggregates) throw new Error('give data or aggregates')
  const ext = o.aggregates ? await openAggregates(o.aggregates, { name: manifest.name, version: manifest.version, textDims: manifest.dims.text }, settings.neighbors, o) : undefined
  // With aggregates made elsewhere the items are their ids (text vectors, if any, come with them).
  const items = ext ? ext.ids.map((asin, item) => ({ item, asin, title: '', brand: null, categories: [], description: null })) : readItemsFile(o.data!)
  const itemsPerShard = o.itemsPerShard ?? 16
  // A key for this build only: its private half signs the shards and is then dropped.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' }) as { kty: 'EC'; crv: 'P-256'; x: string; y: string }
  const count = Math.max(1, Math.ceil(items.length / itemsPerShard))
  const textVectors = ext ? ext.textVectors : (o.textVectors ?? 'int8')
  if (textVectors === 'int8' && !o.encode && !ext) throw new Error('text vectors need an encoder (encode)')

  // 1. Aggregates over the store's training histories (DuckDB).
  log(`aggregating ${items.length} items (DuckDB, memory limit ${o.memoryLimit ?? '3GB'})`)
  const agg = ext ? await ext.load((id) => shardOf(id, count)).catch((e) => (ext.close(), Promise.reject(e))) : await aggregate(o.data!, items.map((r) => ({ id: r.asin, shard: shardOf(r.asin, count) })), settings.neighbors, o)
  const tAgg = performance.now()
  log(`aggregated ${agg.events} events of ${agg.users} shoppers in ${((tAgg - t0) / 1000).toFixed(1)} s`)

  // 2. Shards, a batch at a time: records from the database, text vectors from the encoder, then written.
  mkdirSync(join(out, 'shards'), { recursive: true })
  let encodeMs = 0
  let encoded = 0
  let bytes = 0
  const batch = o.batchShards ?? 256
  try {
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
      for (let sh = from; sh < to; sh++) {
        const shard: Shard = { items: {} }
        for (const it of byShard.get(sh) ?? []) {
          const r: PackRecord = { p: it.pop }
          const v = it.vector ?? vecOf.get(it.idx)
          if (v) Object.assign(r, quantize(v))
          if (it.neighbors.length) r.n = it.neighbors.map(([id, w]) => [id, Number(w.toPrecision(4))])
          shard.items[it.id] = r
        }
        const json = JSON.stringify(shard)
        const signature = sign('sha256', signedMessage(sh, json), { key: privateKey, dsaEncoding: 'ieee-p1363' })
        const text = `${toBase64(new Uint8Array(signature))}\n${json}`
        writeFileSync(join(out, shardFile(sh)), text)
        bytes += Buffer.byteLength(text)
      }
      if (to < count || from === 0) log(`shards ${to}/${count} (${encoded} items encoded)`)
    }
  } finally {
    agg.close()
  }

  // 3. The manifest.
  const pack: PackManifest = {
    format: PACK_FORMAT,
    formatVersion: PACK_FORMAT_VERSION,
    name: o.name ?? basename(resolve((o.data ?? o.aggregates)!)),
    version: sha256(`${jwk.x}.${jwk.y}`).slice(0, 16),
    model: `${manifest.name}@${manifest.version}`,
    createdAt: (o.now?.() ?? new Date()).toISOString(),
    items: items.length,
    dims: { text: manifest.dims.text },
    textVectors,
    shards: { count, itemsPerShard, hash: 'fnv1a32' },
    signature: { alg: SIGNATURE_ALG, publicKey: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y } },
    aggregates: { source: ext ? (ext.record.source ?? basename(resolve(o.aggregates!))) : `${basename(resolve(o.data!))}/valid.inter (training histories)`, users: agg.users, events: agg.events, neighbors: settings.neighbors, priorScale: settings.priorScale },
  }
  writeFileSync(join(out, 'pack.json'), JSON.stringify(pack, null, 1) + '\n')
  const t1 = performance.now()
  return {
    manifest: pack,
    seconds: { aggregate: (tAgg - t0) / 1000, encode: encodeMs / 1000, write: (t1 - tAgg - encodeMs) / 1000, total: (t1 - t0) / 1000 },
    encodedItems: encoded,
    bytes,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  }
}
