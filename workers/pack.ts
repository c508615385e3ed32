// A catalog pack as the worker reads it (docs/catalog-pack.md): pack.json fresh each session, then only
// the shard files of the items asked for, each verified (ECDSA P-256 over SHA-256, with the key in
// pack.json) before use and kept in the Cache API under the pack's version. What a rerank costs follows
// the page and the history, never the catalog's size.

import { InPageError } from '../src/errors'
import { checkPackManifest, decodeRecord, shardFile, shardOf, signedMessage, splitShardFile, type PackItem, type PackManifest, type Shard } from '../src/pack/format'
import { fetchLatest, fetchOk } from './loader'
import { PACK_CACHE_PREFIX } from '../src/history/erase'


export interface PackStats {
  /** Files read for the last request, and their bytes (from the network or the Cache API). */
  files: number
  bytes: number
  fromNetwork: number
}

export class PackSource {
  private manifest: Promise<{ m: PackManifest; key: CryptoKey }> | undefined
  private readonly shards = new Map<number, Promise<Shard>>()
  private stats: PackStats = { files: 0, bytes: 0, fromNetwork: 0 }

  constructor(private readonly baseUrl: string) {}

  /** pack.json, fetched once per worker (from the network: it names the version; offline, the last copy read). */
  async info(): Promise<PackManifest> {
    return (await this.load()).m
  }

  private load(): Promise<{ m: PackManifest; key: CryptoKey }> {
    this.manifest ??= (async () => {
      const url = new URL('pack.json', this.baseUrl).href
      const res = await fetchLatest(url, 'CatalogLoadError')
      let m: PackManifest
      try {
        m = checkPackManifest(await res.json())
      } catch (err) {
        throw new InPageError('CatalogLoadError', `${url}: ${(err as Error).message}`)
      }
      // A new version replaces the old entries of this pack.
      if (typeof caches !== 'undefined')
        for (const k of await caches.keys().catch(() => [] as string[]))
          if (k.startsWith(`${PACK_CACHE_PREFIX}${m.name}@`) && k !== this.cacheName(m)) await caches.delete(k).catch(() => false)
      let key: CryptoKey
      try {
        key = await crypto.subtle.importKey('jwk', m.signature.publicKey, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
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

  /** The items of `ids` the pack holds (absent ids are simply not in the map), and what it cost. */
  async get(ids: readonly string[]): Promise<{ items: Map<string, PackItem>; stats: PackStats }> {
    const { m, key } = await this.load()
    this.stats = { files: 0, bytes: 0, fromNetwork: 0 }
    const byShard = new Map<number, string[]>()
    for (const id of new Set(ids)) {
      const sh = shardOf(id, m.shards.count)
      let l = byShard.get(sh)
      if (!l) byShard.set(sh, (l = []))
      l.push(id)
    }
    const items = new Map<string, PackItem>()
    const shards = await Promise.all([...byShard.keys()].map((sh) => this.shard(m, key, sh).then((s) => [sh, s] as const)))
    for (const [sh, shard] of shards)
      for (const id of byShard.get(sh)!) {
        const r = Object.prototype.hasOwnProperty.call(shard.items, id) ? shard.items[id] : undefined
        if (r) items.set(id, decodeRecord(r))
      }
    return { items, stats: this.stats }
  }

  private shard(m: PackManifest, key: CryptoKey, i: number): Promise<Shard> {
    let p = this.shards.get(i)
    if (!p) {
      p = this.file(m, key, i)
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

  /** One verified shard: the Cache API copy if its signature still holds, else the network's, verified, then cached. */
  private async file(m: PackManifest, key: CryptoKey, i: number): Promise<Shard> {
    const name = shardFile(i)
    const url = new URL(name, this.baseUrl).href
    const cache = typeof caches !== 'undefined' ? await caches.open(this.cacheName(m)).catch(() => undefined) : undefined
    let json: string | undefined
    let size = 0
    const hit = await cache?.match(url).catch(() => undefined)
    if (hit) {
      const text = await hit.text()
      json = await verified(key, i, text)
      size = text.length
      if (json === undefined) await cache!.delete(url).catch(() => false) // damaged in the cache: fetch again
    }
    if (json === undefined) {
      const body = await (await fetchOk(url, 'CatalogLoadError')).arrayBuffer()
      this.stats.fromNetwork++
      const text = new TextDecoder().decode(body)
      json = await verified(key, i, text)
      if (json === undefined) throw new InPageError('CatalogIntegrityError', `${name}: its signature does not verify with the key in pack.json (${m.name}@${m.version})`)
      size = body.byteLength
      await cache?.put(url, new Response(body, { headers: { 'Content-Type': 'application/json' } })).catch(() => {})
    }
    this.stats.files++
    this.stats.bytes += size
    try {
      return JSON.parse(json) as Shard
    } catch {
      throw new InPageError('CatalogLoadError', `${name}: not valid JSON`)
    }
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
