// A catalog pack as the worker reads it (docs/catalog-pack.md): pack.json fresh each session (revalidated,
// its version checked against its key, and against the page's pinned key if any), then only the shard files
// of the page's items, each verified (ECDSA P-256 over SHA-256) before use. Shards are kept in this worker's
// memory; in the Cache API (under the pack's version) only while the shopper's consent is granted, since the
// shards a browser holds tell which pages it was shown. What a rerank costs follows the page, never the
// catalog's size, and nothing here is ever fetched because of the shopper's history (SECURITY.md).
// A sparse pack (format 2) has no file for a shard that holds no item: its 404 is an empty shard, remembered
// as read (holdsShardOf), never cached; any other HTTP error, or a file whose signature fails, is an error.

import { InPageError } from '../src/core/errors'
import { checkPackManifest, checkShard, isSparse, keyVersion, shardFile, shardOf, signedMessage, splitShardFile, type PackKey, type PackManifest, type PackRecord, type Shard } from '../src/pack/format'
import { fetchLatest, fetchOk } from './loader'
import { PACK_CACHE_PREFIX } from '../src/storage/erase'
import { defaults } from '../src/core/defaults'

export interface PackStats {
  /** Files one get() read, and their bytes (from the network or the Cache API). A shard another call is already
   * reading counts to that call: each call has its own counts (concurrent calls never mix them). */
  files: number
  bytes: number
  fromNetwork: number
}

/** A hung pack server never holds a call longer than this (a rerank's own budget may be shorter). */
const PACK_FETCH_MS = defaults.packFetchMs

export class PackSource {
  private manifest: Promise<{ m: PackManifest; key: CryptoKey }> | undefined
  private readonly shards = new Map<number, Promise<Shard>>()
  /** Whether shards may be kept in the Cache API: only under the shopper's grant (the page's setStorage). */
  persistent = false

  constructor(
    private readonly baseUrl: string,
    /** The key the page pinned (`catalog: { url, publicKey }`): any other key is refused. */
    private readonly pin?: PackKey,
  ) {}

  /** pack.json, fetched once per worker (revalidated with the server: it names the version; offline, the last copy read). */
  async info(): Promise<PackManifest> {
    return (await this.load()).m
  }

  private load(): Promise<{ m: PackManifest; key: CryptoKey }> {
    this.manifest ??= (async () => {
      const url = new URL('pack.json', this.baseUrl).href
      const res = await fetchLatest(url, 'CatalogLoadError', PACK_FETCH_MS)
      let m: PackManifest
      try {
        m = checkPackManifest(await res.json())
      } catch (err) {
        throw new InPageError('CatalogLoadError', `${url}: ${(err as Error).message}`)
      }
      const k = m.signature.publicKey
      // The version names the key (the Cache API keys on it): a swapped key under the old version is refused.
      const derived = await keyVersion(k)
      if (m.version !== derived) throw new InPageError('CatalogIntegrityError', `${url}: version ${m.version} does not match its public key (which gives ${derived})`)
      if (this.pin && (this.pin.x !== k.x || this.pin.y !== k.y))
        throw new InPageError('CatalogIntegrityError', `${url}: its public key (version ${derived}) is not the key this page pinned (version ${await keyVersion(this.pin)})`)
      // A new version replaces the old entries of this pack.
      if (typeof caches !== 'undefined')
        for (const c of await caches.keys().catch(() => [] as string[]))
          if (c.startsWith(`${PACK_CACHE_PREFIX}${m.name}@`) && c !== this.cacheName(m)) await caches.delete(c).catch(() => false)
      let key: CryptoKey
      try {
        key = await crypto.subtle.importKey('jwk', k, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
      } catch (err) {
        throw new InPageError('CatalogLoadError', `${url}: the public key cannot be read: ${(err as Error).message}`)
      }
      return { m, key }
    })().catch((err) => {
      this.manifest = undefined // a later call tries again
      throw err
    })
    return this.manifest
  }

  private cacheName(m: PackManifest) {
    return `${PACK_CACHE_PREFIX}${m.name}@${m.version}`
  }

  /**
   * The raw records of `ids` the pack holds (absent ids are simply not in the map), and what it cost. With
   * `network: false` only shards this worker already holds are read (a history item is never fetched).
   * `timeoutMs` bounds each request (a call's remaining budget): a shard that does not answer fails this
   * call and is asked for again by a later one.
   */
  async get(ids: readonly string[], opts: { network?: boolean; timeoutMs?: number } = {}): Promise<{ items: Map<string, PackRecord>; stats: PackStats }> {
    const { m, key } = await this.load()
    const stats: PackStats = { files: 0, bytes: 0, fromNetwork: 0 }
    const byShard = new Map<number, string[]>()
    for (const id of new Set(ids)) {
      const sh = shardOf(id, m.shards.count)
      if (opts.network === false && !this.shards.has(sh)) continue
      let l = byShard.get(sh)
      if (!l) byShard.set(sh, (l = []))
      l.push(id)
    }
    const items = new Map<string, PackRecord>()
    const timeoutMs = Math.min(PACK_FETCH_MS, opts.timeoutMs ?? PACK_FETCH_MS)
    const shards = await Promise.all([...byShard.keys()].map((sh) => this.shard(m, key, sh, stats, timeoutMs).then((s) => [sh, s] as const)))
    for (const [sh, shard] of shards)
      for (const id of byShard.get(sh)!) {
        const r = Object.prototype.hasOwnProperty.call(shard.items, id) ? shard.items[id] : undefined
        if (r !== undefined) items.set(id, r)
      }
    return { items, stats }
  }

  /** Whether this worker read the shard that would hold `id` (so an id absent from it is absent from the pack). */
  holdsShardOf(m: PackManifest, id: string): boolean {
    return this.shards.has(shardOf(id, m.shards.count))
  }

  private shard(m: PackManifest, key: CryptoKey, i: number, stats: PackStats, timeoutMs: number): Promise<Shard> {
    let p = this.shards.get(i)
    if (!p) {
      p = this.file(m, key, i, stats, timeoutMs)
      this.remember(this.shards, i, p)
    }
    return p
  }

  /** Keeps a bounded number of parsed files in memory; a failed one is forgotten, so it is fetched again. */
  private remember<T>(map: Map<number, Promise<T>>, k: number, p: Promise<T>) {
    if (map.size >= 1024) map.delete(map.keys().next().value!)
    map.set(k, p)
    p.catch(() => map.delete(k))
  }

  /** One verified shard: the Cache API copy if allowed and its signature still holds, else the network's, verified, then cached if allowed. */
  private async file(m: PackManifest, key: CryptoKey, i: number, stats: PackStats, timeoutMs: number): Promise<Shard> {
    const name = shardFile(i)
    const url = new URL(name, this.baseUrl).href
    // caches.open() creates the cache: not even opened without a grant.
    const cache = this.persistent && typeof caches !== 'undefined' ? await caches.open(this.cacheName(m)).catch(() => undefined) : undefined
    let json: string | undefined
    let size = 0
    let body: ArrayBuffer | undefined
    const hit = await cache?.match(url).catch(() => undefined)
    if (hit) {
      const text = await hit.text()
      json = await verified(key, i, text)
      size = text.length
      if (json === undefined) await cache!.delete(url).catch(() => false) // damaged in the cache: fetch again
    }
    if (json === undefined) {
      // 'no-store': the HTTP cache keeps no copy either (it would outlive a denial, and it knows no consent).
      const res = await fetchOk(url, 'CatalogLoadError', undefined, { cache: 'no-store', timeoutMs, missingOk: isSparse(m) })
      stats.fromNetwork++
      if (res.status === 404) {
        // Sparse: no item's id hashes to this shard. A 404 can only hide records (those items then keep the
        // server's order); it adds none, and it is asked for again next session (nothing unsigned is cached).
        void res.body?.cancel().catch(() => {})
        stats.files++
        return { items: Object.create(null) as Shard['items'] }
      }
      body = await res.arrayBuffer()
      json = await verified(key, i, new TextDecoder().decode(body))
      if (json === undefined) throw new InPageError('CatalogIntegrityError', `${name}: its signature does not verify with the key in pack.json (${m.name}@${m.version})`)
      size = body.byteLength
    }
    let shard: Shard
    try {
      shard = checkShard(JSON.parse(json))
    } catch (err) {
      // Signed, yet not a shard: the pack's builder is at fault. This call fails by name; the worker carries on.
      throw new InPageError('CatalogDataError', `${name} (${m.name}@${m.version}): ${err instanceof SyntaxError ? 'not valid JSON' : (err as Error).message}`)
    }
    if (body && this.persistent) await cache?.put(url, new Response(body, { headers: { 'Content-Type': 'application/json' } })).catch(() => {})
    stats.files++
    stats.bytes += size
    return shard
  }
}

/** The shard's JSON when its signature verifies, else undefined. */
async function verified(key: CryptoKey, i: number, text: string): Promise<string | undefined> {
  try {
    const { signature, json } = splitShardFile(text)
    const ok = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature, signedMessage(i, json))
    return ok ? json : undefined
  } catch {
    return undefined
  }
}
