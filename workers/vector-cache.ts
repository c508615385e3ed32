// Text vectors of items, cached by (model version, item id, text hash): in memory always, in
// IndexedDB only under consent; bounded, and erased by forget() (which ends this worker first). Entries
// read back are checked (length, finite) before use. Misses go to the encoder in one request.

import { promisifyRequest } from 'idb-keyval'
import { hasIndexedDB, openKvStore, type KvStore } from '../src/storage/idb'
import { textHash } from '../src/ranking/text'
import { defaults } from '../src/core/defaults'
import type { TextVectorSource } from '../src/ranking/personalize'

const VECTOR_CACHE_LIMIT = defaults.vectorCacheLimit

export class VectorCache implements TextVectorSource {
  private readonly memory = new Map<string, Float32Array>()
  private kv: KvStore | undefined
  private writes = 0
  hits = 0
  misses = 0

  constructor(
    private readonly dbName: string,
    private readonly version: string,
    /** Floats per vector: a stored entry of another length, or with a non-finite float, is a miss. */
    private readonly dims: number,
    private readonly encode: (texts: string[]) => Promise<Float32Array[]>,
    private readonly limit = VECTOR_CACHE_LIMIT,
  ) {}

  /**
   * Whether vectors may be kept in IndexedDB. Only under a grant: the cached ids tell which items
   * this shopper saw. Without it the cache lives in this worker's memory and no database is opened
   * (even a read would create one).
   */
  set persistent(on: boolean) {
    if (on && !this.kv && hasIndexedDB()) this.kv = openKvStore(this.dbName)
    if (!on && this.kv) {
      this.kv.close()
      this.kv = undefined
    }
  }

  private key(id: string, text: string) {
    return `${this.version}|${id}|${textHash(text)}`
  }

  /** Which of these items have a vector here (memory, or IndexedDB under a grant), without encoding any. */
  async cached(items: readonly { id: string; text: string }[]): Promise<boolean[]> {
    return (await this.lookup(items.map((it) => this.key(it.id, it.text)))).map(Boolean)
  }

  /** The vectors of `keys` found in memory, else in IndexedDB (under a grant; read back into memory). */
  private async lookup(keys: readonly string[]): Promise<(Float32Array | undefined)[]> {
    const out: (Float32Array | undefined)[] = keys.map((k) => this.memory.get(k))
    const missing = keys.map((_, i) => i).filter((i) => !out[i])
    if (missing.length && this.kv) {
      try {
        const got = await this.kv.use('readonly', (s) => Promise.all(missing.map((i) => promisifyRequest(s.get(keys[i]!)))))
        got.forEach((v, j) => {
          if (this.usable(v)) {
            out[missing[j]!] = v
            this.memory.set(keys[missing[j]!]!, v)
          }
        })
      } catch {
        // The cache is an optimisation: any IndexedDB fault just means encoding again.
      }
    }
    return out
  }

  async textVectors(items: readonly { id: string; text: string }[]): Promise<Float32Array[]> {
    const keys = items.map((it) => this.key(it.id, it.text))
    const out = await this.lookup(keys)
    const todo = keys.map((_, i) => i).filter((i) => !out[i])
    this.hits += items.length - todo.length
    this.misses += todo.length
    if (todo.length) {
      const vecs = await this.encode(todo.map((i) => items[i]!.text))
      todo.forEach((i, j) => {
        out[i] = vecs[j]!
        this.memory.set(keys[i]!, vecs[j]!)
      })
      void this.persist(todo.map((i) => [keys[i]!, vecs[todo.indexOf(i)]!] as [string, Float32Array]))
    }
    if (this.memory.size > this.limit) for (const k of [...this.memory.keys()].slice(0, this.memory.size - this.limit)) this.memory.delete(k)
    return out as Float32Array[]
  }

  /** Another script can write this database: what it holds is checked before it is trusted. */
  private usable(v: unknown): v is Float32Array {
    return v instanceof Float32Array && v.length === this.dims && v.every(Number.isFinite)
  }

  private async persist(rows: [string, Float32Array][]) {
    if (!this.kv) return
    try {
      await this.kv.use('readwrite', (s) => {
        for (const [k, v] of rows) s.put(v, k)
        return promisifyRequest(s.transaction)
      })
      this.writes += rows.length
      // Closed meanwhile (consent revoked): never reopen the database just to trim it.
      if (this.kv && this.writes > this.limit / 10) await this.trim(this.kv)
    } catch {
      /* quota or a closed database: the memory copy still serves this page */
    }
  }

  /** Keeps the cache bounded: drops entries of other model versions, then the surplus. */
  private async trim(kv: KvStore) {
    this.writes = 0
    await kv.use('readwrite', async (s) => {
      const keys = (await promisifyRequest(s.getAllKeys())) as string[]
      const stale = keys.filter((k) => !k.startsWith(`${this.version}|`))
      const current = keys.length - stale.length
      const surplus = keys.filter((k) => k.startsWith(`${this.version}|`)).slice(0, Math.max(0, current - this.limit))
      for (const k of [...stale, ...surplus]) s.delete(k)
      return promisifyRequest(s.transaction)
    })
  }

  close() {
    this.kv?.close()
    this.kv = undefined
    this.memory.clear()
  }
}
