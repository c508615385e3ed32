// The catalog pack format (docs/catalog-pack.md): a store's public item data, built from its own catalog
// and logs, served as static files. Pure code shared by the builder (catalog/), the worker and eval.
//
//   pack.json          the manifest: name, version, model it fits, counts, settings, the pack's public key
//   shards/<i>.json    the items whose fnv1a32(id) mod shards.count is i: a signature line, then JSON
//
// Format 1 is dense (~16 items a shard, every shard written); format 2 is sparse (shards.count ≫ items, so
// nearly every file holds one item, and a shard that holds no item has no file): a page downloads close to
// the bytes of the records it uses instead of ~16 records per item.
//
// Each shard is signed (ECDSA P-256 over its SHA-256) with a key made for this build, whose public half
// is in pack.json: a browser verifies any shard with the manifest alone, so what it fetches follows the
// page and the history, never the catalog's size (a list of every shard's digest would grow with it).

import { fnv1a32 } from '../core/hash'

export const PACK_FORMAT = 'inpage-catalog-pack'
/** What the builder writes for a sparse pack; a dense pack (`--items-per-shard`) stays format 1. */
export const PACK_FORMAT_VERSION = 2
/** The versions this build reads: 1 (dense: every shard has its file) and 2 (sparse: `shards.sparse`). */
export const PACK_FORMAT_VERSIONS: readonly number[] = [1, 2]

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

/**
 * The next-item lists' settings (records' `f`): P(b | a) = how often b immediately follows a in a training history,
 * over every item that follows a (an item repeated at once excluded), kept only where at least `minCount` distinct
 * shoppers made the step (the neighbour lists' k-shopper threshold), the `topN` most likely per a.
 */
export interface NextSettings {
  minCount: number
  topN: number
}

export const SIGNATURE_ALG = 'ECDSA-P256-SHA256'

/** A pack's public key (JWK of an ECDSA P-256 key), as pack.json carries it and a page pins it. */
export type PackKey = { kty: 'EC'; crv: 'P-256'; x: string; y: string }

export interface PackManifest {
  format: typeof PACK_FORMAT
  formatVersion: number
  /** The store's pack name, e.g. 'acme-lab'. */
  name: string
  /** The build's version: the first 16 hex digits of sha256 over the public key. The Cache API keys on it. */
  version: string
  /** The model whose encoder made the text vectors: `name@version`. */
  model: string
  createdAt: string
  /** Items in the pack. */
  items: number
  dims: { text: number }
  /** 'int8': per-vector symmetric int8 (value = q · scale); 'none': the browser encodes item text itself. */
  textVectors: 'int8' | 'none'
  /** `sparse` (format 2 only, and required there): a shard that holds no item has no file (a 404 means empty). */
  shards: { count: number; itemsPerShard: number; hash: 'fnv1a32'; sparse?: true }
  /** Shards are signed with this key (a JWK of an ECDSA P-256 public key), made for this build. */
  signature: { alg: typeof SIGNATURE_ALG; publicKey: PackKey }
  /** What the aggregates were computed from, and how. */
  aggregates: { source: string; users: number; events: number; neighbors: NeighborSettings; priorScale: number; next?: NextSettings }
  /** The scoring settings chosen on this store's own valid split (`npm run catalog`, eval/tune.ts); absent: the model's. */
  tuning?: PackTuning
}

/**
 * Per-store scoring settings, in place of the model's: the kNN term's weight and decay, and, for a closed-form user
 * model, its recency decay and the popularity prior's weight (the bias in the prior dimension).
 */
export interface ScoreSettings {
  knn?: { weight: number; decay: number }
  user?: { decay: number; prior: number }
  /**
   * The next-item term (the pack's `f` lists, scored as the kNN term is: Σ over recent history items h of
   * decay^position · P(candidate | h), times the weight). No model default: only a store's tuning turns it on.
   */
  next?: { weight: number; decay: number }
  /**
   * The store's adaptation of the user vector (eval/adapt.ts): u' = u + B·(Aᵀ·u) on its text part, A and B
   * dims × rank, row-major int8 (value = q · scale) in base64. Item vectors and queries are not changed.
   */
  adapt?: PackAdapt
}

export interface PackAdapt {
  rank: number
  /** A's and B's scales. */
  scale: [number, number]
  a: string
  b: string
}

export interface PackTuning extends ScoreSettings {
  /** How they were chosen: the split, how many shoppers, the protocols and the criterion's gain over the model's settings. */
  chosenOn: { split: 'valid'; users: number; protocols: string[]; gain: number }
}

/** The largest kNN weight a pack's `tuning` may set (the tuner's grid stops at 8; the model's default is 2). */
export const MAX_TUNED_KNN_WEIGHT = 64
/** The largest next-item weight a pack's `tuning` may set (the tuner's grid stops at 8). */
export const MAX_TUNED_NEXT_WEIGHT = 64
/** The largest popularity-prior weight a pack's `tuning` may set (the tuner's grid stops at 0.8). */
export const MAX_TUNED_PRIOR = 8
/** The adaptation's largest rank, and its largest scale (entries of A and B at most 4 in magnitude). */
export const MAX_ADAPT_RANK = 64
export const MAX_ADAPT_SCALE = 4 / 127

/**
 * A pack.json `tuning`, checked: exactly these keys (an extra, misspelt or `__proto__` key is refused), finite numbers
 * in their ranges, and a fresh object built field by field; else an Error naming what is wrong. A pack's tuning can
 * change the blend only (never what is fetched), so the ranges are what keeps a careless or hostile one bounded.
 */
export function checkTuning(t: unknown, dims?: number): PackTuning {
  const fail = (why: string) =>
    new Error(`${why} (expected {knn?: {weight in [0, ${MAX_TUNED_KNN_WEIGHT}], decay in (0, 1]}, next?: {weight in [0, ${MAX_TUNED_NEXT_WEIGHT}], decay in (0, 1]}, user?: {decay in (0, 1], prior in [0, ${MAX_TUNED_PRIOR}]}, adapt?: {rank in 1..${MAX_ADAPT_RANK}, scale: [a, b] in (0, ${MAX_ADAPT_SCALE.toFixed(4)}], a, b: base64 of dims × rank int8}, chosenOn: {split: "valid", users, protocols, gain}})`)
  const record = (v: unknown, where: string, keys: readonly string[], optional: readonly string[] = []): Record<string, unknown> => {
    if (!v || typeof v !== 'object' || Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype) throw fail(`${where} is not an object`)
    const own = Object.getOwnPropertyNames(v)
    const extra = own.find((k) => !keys.includes(k))
    if (extra !== undefined) throw fail(`${where} has an unknown key ${JSON.stringify(extra)}`)
    const missing = keys.find((k) => !optional.includes(k) && !own.includes(k))
    if (missing !== undefined) throw fail(`${where}.${missing} is missing`)
    return v as Record<string, unknown>
  }
  const num = (v: unknown, where: string, ok: (x: number) => boolean, range: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw fail(`${where} is ${typeof v === 'number' ? String(v) : JSON.stringify(v) ?? typeof v}, not a number in ${range}`)
    return v
  }
  const decay = (v: unknown, where: string) => num(v, where, (x) => x > 0 && x <= 1, '(0, 1]')
  const r = record(t, 'tuning', ['knn', 'next', 'user', 'adapt', 'chosenOn'], ['knn', 'next', 'user', 'adapt'])
  const out: PackTuning = { chosenOn: { split: 'valid', users: 0, protocols: [], gain: 0 } }
  if (r.knn !== undefined) {
    const k = record(r.knn, 'tuning.knn', ['weight', 'decay'])
    out.knn = { weight: num(k.weight, 'tuning.knn.weight', (x) => x >= 0 && x <= MAX_TUNED_KNN_WEIGHT, `[0, ${MAX_TUNED_KNN_WEIGHT}]`), decay: decay(k.decay, 'tuning.knn.decay') }
  }
  if (r.next !== undefined) {
    const k = record(r.next, 'tuning.next', ['weight', 'decay'])
    out.next = { weight: num(k.weight, 'tuning.next.weight', (x) => x >= 0 && x <= MAX_TUNED_NEXT_WEIGHT, `[0, ${MAX_TUNED_NEXT_WEIGHT}]`), decay: decay(k.decay, 'tuning.next.decay') }
  }
  if (r.user !== undefined) {
    const u = record(r.user, 'tuning.user', ['decay', 'prior'])
    out.user = { decay: decay(u.decay, 'tuning.user.decay'), prior: num(u.prior, 'tuning.user.prior', (x) => x >= 0 && x <= MAX_TUNED_PRIOR, `[0, ${MAX_TUNED_PRIOR}]`) }
  }
  if (r.adapt !== undefined) {
    const a = record(r.adapt, 'tuning.adapt', ['rank', 'scale', 'a', 'b'])
    const rank = num(a.rank, 'tuning.adapt.rank', (x) => Number.isInteger(x) && x >= 1 && x <= MAX_ADAPT_RANK, `1..${MAX_ADAPT_RANK}`)
    const sc = a.scale
    if (!Array.isArray(sc) || sc.length !== 2) throw fail('tuning.adapt.scale is not [a, b]')
    const scale = sc.map((x, i) => num(x, `tuning.adapt.scale[${i}]`, (v) => v > 0 && v <= MAX_ADAPT_SCALE, `(0, ${MAX_ADAPT_SCALE.toFixed(4)}]`)) as [number, number]
    const matrix = (v: unknown, where: string) => {
      let bytes: number
      try {
        if (typeof v !== 'string') throw new Error()
        bytes = fromBase64(v).length
      } catch {
        throw fail(`${where} is not base64`)
      }
      if (dims !== undefined ? bytes !== dims * rank : bytes % rank !== 0 || bytes === 0) throw fail(`${where} holds ${bytes} values, not ${dims !== undefined ? `${dims} × ${rank}` : `a multiple of ${rank}`}`)
      return v as string
    }
    out.adapt = { rank, scale, a: matrix(a.a, 'tuning.adapt.a'), b: matrix(a.b, 'tuning.adapt.b') }
    if (out.adapt.a.length !== out.adapt.b.length) throw fail('tuning.adapt.a and tuning.adapt.b differ in size')
  }
  const c = record(r.chosenOn, 'tuning.chosenOn', ['split', 'users', 'protocols', 'gain'])
  if (c.split !== 'valid') throw fail(`tuning.chosenOn.split is ${JSON.stringify(c.split)}, not "valid"`)
  const protocols = c.protocols
  if (!Array.isArray(protocols) || protocols.length > 8 || !protocols.every((p) => typeof p === 'string' && /^[a-z]{1,20}$/.test(p))) throw fail('tuning.chosenOn.protocols is not a short list of protocol names')
  out.chosenOn = {
    split: 'valid',
    users: num(c.users, 'tuning.chosenOn.users', (x) => Number.isInteger(x) && x >= 0, 'whole numbers ≥ 0'),
    protocols: [...(protocols as string[])],
    gain: num(c.gain, 'tuning.chosenOn.gain', () => true, 'finite numbers'),
  }
  return { ...(out.knn ? { knn: out.knn } : {}), ...(out.next ? { next: out.next } : {}), ...(out.user ? { user: out.user } : {}), ...(out.adapt ? { adapt: out.adapt } : {}), chosenOn: out.chosenOn }
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
  /** The items that follow it [id, P(id | this item)], likeliest first (NextSettings). */
  f?: [string, number][]
}

export interface Shard {
  items: Record<string, PackRecord>
}

/** A decoded item: what the engine reads. */
export interface PackItem {
  text?: Float32Array
  pop: number
  neighbors: [string, number][]
  /** [id, P(id follows this item)] (the record's `f`; empty when the pack has none). */
  next: [string, number][]
}

export const shardOf = (id: string, count: number) => fnv1a32(id) % count

/** Whether a shard without a file holds no item (format 2), rather than being an error (format 1). */
export const isSparse = (m: PackManifest) => m.formatVersion === 2 && m.shards.sparse === true

/**
 * The sparse layout's shard count: the next power of two ≥ 8 × items. Each file then holds one item and, on
 * average, items / count ≤ 1/8 others (fnv1a32 spreads ids evenly), so a page downloads about (1 + items /
 * count) × its records' bytes plus one signature line per file; the files written number about `items`,
 * whatever the count.
 */
export const sparseShardCount = (items: number) => 2 ** Math.ceil(Math.log2(Math.max(1, 8 * items)))
export const shardFile = (i: number) => `shards/${i}.json`

/** What a shard's signature covers: its number (a shard cannot stand in for another) and its JSON text. */
export function signedMessage(i: number, json: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`inpage-pack shard ${i}\n${json}`)
}

/** A shard file: the base64 signature (64 bytes, IEEE P1363 r‖s), a newline, the JSON. */
export function splitShardFile(text: string): { signature: Uint8Array<ArrayBuffer>; json: string } {
  const nl = text.indexOf('\n')
  if (nl < 0) throw new Error('no signature line')
  return { signature: fromBase64(text.slice(0, nl)), json: text.slice(nl + 1) }
}

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
  return { ...(r.t !== undefined && r.s !== undefined ? { text: dequantize(r.t, r.s) } : {}), pop: r.p, neighbors: r.n ?? [], next: r.f ?? [] }
}

/**
 * A record from a shard or attached by a server, checked field by field before anything reads it: a record of
 * the wrong shape, or whose text vector is not `dims` long, throws a plain Error saying what (the caller names
 * it). Built fresh, so nothing but these fields travels on.
 */
export function checkRecord(r: unknown, dims: number): PackItem {
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw new Error('a record must be an object')
  const { t, s, p, n, f } = r as Record<string, unknown>
  if (typeof p !== 'number' || !Number.isFinite(p) || p < 0) throw new Error('p (popularity) must be a finite count')
  const neighbors = idWeights(n, 'n (neighbours)')
  const next = idWeights(f, 'f (next items)')
  if (t === undefined && s === undefined) return { pop: p, neighbors, next }
  if (typeof t !== 'string' || typeof s !== 'number' || !Number.isFinite(s)) throw new Error('t and s (text vector) must be base64 and a finite scale')
  let text: Float32Array
  try {
    text = dequantize(t, s)
  } catch {
    throw new Error('t (text vector) is not base64')
  }
  if (text.length !== dims) throw new Error(`its text vector has ${text.length} floats, the model reads ${dims}`)
  return { text, pop: p, neighbors, next }
}

/** A record's list of [id, weight] (n, f), copied pair by pair; absent: empty. */
function idWeights(v: unknown, what: string): [string, number][] {
  const out: [string, number][] = []
  if (v === undefined) return out
  const fail = () => new Error(`${what} must be a list of [id, weight]`)
  if (!Array.isArray(v)) throw fail()
  for (const pair of v) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'number' || !Number.isFinite(pair[1])) throw fail()
    out.push([pair[0], pair[1]])
  }
  return out
}

/** A shard's parsed JSON, checked: `{items: {<id>: record}}` (records are checked as they are read). */
export function checkShard(v: unknown): Shard {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('a shard must be an object')
  const items = (v as { items?: unknown }).items
  if (!items || typeof items !== 'object' || Array.isArray(items)) throw new Error('items must be an object of records')
  return { items: items as Record<string, PackRecord> }
}

/** A pack's version: the first 16 hex digits of SHA-256 over its public key's `x.y` (the builder's rule). */
export async function keyVersion(key: { x: string; y: string }): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${key.x}.${key.y}`)))
  return Array.from(d.slice(0, 8), (b) => b.toString(16).padStart(2, '0')).join('')
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

export function fromBase64(s: string): Uint8Array<ArrayBuffer> {
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
  if (!PACK_FORMAT_VERSIONS.includes(p.formatVersion)) throw fail(`formatVersion ${p.formatVersion} is not supported (this build reads ${PACK_FORMAT_VERSIONS.join(' and ')})`)
  for (const k of ['name', 'version', 'model'] as const) if (typeof p[k] !== 'string' || !p[k]) throw fail(`${k} is required`)
  if (!Number.isInteger(p.items) || p.items < 0) throw fail('items must be a count')
  if (!p.shards || !Number.isInteger(p.shards.count) || p.shards.count < 1 || p.shards.hash !== 'fnv1a32') throw fail('shards.count ≥ 1 and shards.hash "fnv1a32" are required')
  // The layout is what a missing file means: format 2 must say sparse, format 1 must not (an old reader would
  // take a 404 for an error; a new one must never take a dense pack's 404 for "no items").
  if (p.formatVersion === 2 && p.shards.sparse !== true) throw fail('formatVersion 2 requires shards.sparse: true')
  if (p.formatVersion === 1 && p.shards.sparse !== undefined) throw fail('shards.sparse is format 2 (this pack says formatVersion 1)')
  if (p.shards.count > 2 ** 31) throw fail('shards.count is at most 2^31')
  const k = p.signature?.publicKey
  if (p.signature?.alg !== SIGNATURE_ALG || !k || k.kty !== 'EC' || k.crv !== 'P-256' || typeof k.x !== 'string' || typeof k.y !== 'string')
    throw fail(`signature must be ${SIGNATURE_ALG} with a P-256 public key (JWK)`)
  if (p.textVectors !== 'int8' && p.textVectors !== 'none') throw fail('textVectors must be "int8" or "none"')
  if (!p.dims || !(p.dims.text > 0)) throw fail('dims.text is required')
  if (p.tuning !== undefined)
    try {
      p.tuning = checkTuning(p.tuning, p.dims.text)
    } catch (err) {
      throw fail((err as Error).message)
    }
  return p
}
