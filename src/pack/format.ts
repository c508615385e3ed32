// The catalog pack format (docs/catalog-pack.md): a store's public item data, built from its own catalog
// and logs, served as static files. Pure code shared by the builder (catalog/), the worker and eval.
//
//   pack.json          the manifest: name, version, model it fits, counts, settings, the dir files' digests
//   dirs/<j>.json      sha256 and bytes of shards j·fanout … (j+1)·fanout − 1
//   shards/<i>.json    the items whose fnv1a32(id) mod shards.count is i
//
// Two levels so that what a browser fetches follows the page and the history, never the catalog's size:
// an item costs its shard (≈ itemsPerShard records) and one dir file, and the manifest holds one digest
// per `fanout` shards.

import { fnv1a32 } from '../ranking/text'

export const PACK_FORMAT = 'inpage-catalog-pack'
export const PACK_FORMAT_VERSION = 1

/** The knn.py co-occurrence settings a pack's neighbour lists were built with (from the model's manifest). */
export interface NeighborSettings {
  /** Pairs bought by fewer distinct shoppers are dropped (k-anonymity-style threshold). */
  minCount: number
  gamma: number
  back: number
  alpha: number
  beta: number
  /** Neighbours kept per item. */
  topN: number
  /** Pairs further apart than this in one history are not counted. */
  window: number
}

export interface FileRef {
  file: string
  sha256: string
  bytes: number
}

export interface PackManifest {
  format: typeof PACK_FORMAT
  formatVersion: number
  /** The store's pack name, e.g. 'acme-lab'. */
  name: string
  /** Content version: the first 16 hex digits of sha256 over the dir files' digests. The Cache API keys on it. */
  version: string
  /** The model whose encoder made the text vectors: `name@version`. */
  model: string
  createdAt: string
  /** Items in the pack. */
  items: number
  dims: { text: number }
  /** 'int8': per-vector symmetric int8 (value = q · scale); 'none': the browser encodes item text itself. */
  textVectors: 'int8' | 'none'
  shards: { count: number; itemsPerShard: number; hash: 'fnv1a32' }
  dirs: { fanout: number; files: FileRef[] }
  /** What the aggregates were computed from, and how. */
  aggregates: { source: string; users: number; events: number; neighbors: NeighborSettings; priorScale: number }
}

/** One item as a shard stores it (short keys: shards are what a page downloads). */
export interface PackRecord {
  /** Text vector, base64 of int8 values. */
  t?: string
  /** Its scale. */
  s?: number
  /** Interactions in the store's training histories. */
  p: number
  /** Neighbours [id, weight], strongest first. */
  n?: [string, number][]
}

export interface Shard {
  items: Record<string, PackRecord>
}

/** A dir file: [sha256, bytes] of each shard it covers, in shard order. */
export interface Dir {
  shards: [string, number][]
}

/** A decoded item: what the engine reads. */
export interface PackItem {
  text?: Float32Array
  pop: number
  neighbors: [string, number][]
}

export const shardOf = (id: string, count: number) => fnv1a32(id) % count
export const dirOf = (shard: number, fanout: number) => Math.floor(shard / fanout)
export const shardFile = (i: number) => `shards/${i}.json`
export const dirFile = (j: number) => `dirs/${j}.json`

/** Symmetric per-vector int8: |error| ≤ scale / 2 per float. */
export function quantize(v: ArrayLike<number>): { t: string; s: number } {
  let max = 0
  for (let i = 0; i < v.length; i++) max = Math.max(max, Math.abs(v[i]!))
  const s = max > 0 ? max / 127 : 1
  const q = new Int8Array(v.length)
  for (let i = 0; i < v.length; i++) q[i] = Math.round(v[i]! / s)
  return { t: toBase64(new Uint8Array(q.buffer)), s }
}

export function dequantize(t: string, s: number): Float32Array {
  const q = new Int8Array(fromBase64(t).buffer)
  const out = new Float32Array(q.length)
  for (let i = 0; i < q.length; i++) out[i] = q[i]! * s
  return out
}

export function decodeRecord(r: PackRecord): PackItem {
  return { ...(r.t !== undefined && r.s !== undefined ? { text: dequantize(r.t, r.s) } : {}), pop: r.p, neighbors: r.n ?? [] }
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

/** Base64 without atob/btoa or Buffer: the same code in the worker and in Node. */
export function toBase64(b: Uint8Array): string {
  let out = ''
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0)
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + (i + 1 < b.length ? B64[(n >> 6) & 63]! : '=') + (i + 2 < b.length ? B64[n & 63]! : '=')
  }
  return out
}

export function fromBase64(s: string): Uint8Array {
  const clean = s.replace(/=+$/, '')
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4))
  let bits = 0
  let acc = 0
  let o = 0
  for (let i = 0; i < clean.length; i++) {
    const v = B64.indexOf(clean[i]!)
    if (v < 0) throw new Error(`not base64 at ${i}`)
    acc = (acc << 6) | v
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (acc >> bits) & 255
    }
  }
  return out
}

/** Checks a parsed pack.json; throws a plain Error naming what is wrong (the caller names the error). */
export function checkPackManifest(m: unknown): PackManifest {
  const p = m as PackManifest
  const fail = (why: string) => new Error(`pack.json: ${why}`)
  if (!p || typeof p !== 'object') throw fail('not an object')
  if (p.format !== PACK_FORMAT) throw fail(`format is ${JSON.stringify(p.format)}, expected "${PACK_FORMAT}"`)
  if (p.formatVersion !== PACK_FORMAT_VERSION) throw fail(`formatVersion ${p.formatVersion} is not supported (this build reads ${PACK_FORMAT_VERSION})`)
  for (const k of ['name', 'version', 'model'] as const) if (typeof p[k] !== 'string' || !p[k]) throw fail(`${k} is required`)
  if (!Number.isInteger(p.items) || p.items < 0) throw fail('items must be a count')
  if (!p.shards || !Number.isInteger(p.shards.count) || p.shards.count < 1 || p.shards.hash !== 'fnv1a32') throw fail('shards.count ≥ 1 and shards.hash "fnv1a32" are required')
  if (!p.dirs || !Number.isInteger(p.dirs.fanout) || p.dirs.fanout < 1 || !Array.isArray(p.dirs.files)) throw fail('dirs.fanout and dirs.files are required')
  if (p.dirs.files.length !== Math.ceil(p.shards.count / p.dirs.fanout)) throw fail(`dirs.files holds ${p.dirs.files.length} files, ${Math.ceil(p.shards.count / p.dirs.fanout)} expected`)
  for (const f of p.dirs.files) if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256) || !Number.isInteger(f.bytes)) throw fail(`${f?.file}: sha256 and bytes are required`)
  if (p.textVectors !== 'int8' && p.textVectors !== 'none') throw fail('textVectors must be "int8" or "none"')
  if (!p.dims || !(p.dims.text > 0)) throw fail('dims.text is required')
  return p
}
