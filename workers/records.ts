// The catalog pack records of the shopper's history items, kept with the history and under its rules
// (SECURITY.md): a record is taken when its item is on the page (a candidate, or the item a track() call is
// about), never fetched because of the history. In this worker's memory always; in IndexedDB
// (`inpage:<name>:pack`) only under a grant, when the memory copies are written too; erased by forget() and a
// denial with the rest; listed by exportData(). Bounded like the history (its retention), oldest use first.

import { promisifyRequest } from 'idb-keyval'
import { hasIndexedDB, openKvStore, type KvStore } from '../src/storage/idb'
import type { PackRecord } from '../src/pack/format'

/** What is kept of one item: its raw record (checked again on each use) and where it came from. */
export interface KeptRecord {
  /** `name@version` of the pack, or 'attached' (a candidate's record from the store's server). */
  pack: string
  /** `name@version` of the model whose encoder made the record's text vector (the record is checked against the running model). */
  model: string
  r: PackRecord
  /** Last use (ms): entries older than the history's retention go. */
  ts: number
}

export class RecordStore {
  private readonly memory = new Map<string, KeptRecord>()
  private kv: KvStore | undefined
  private loaded: Promise<void> | undefined

  constructor(
    private readonly dbName: string,
    private readonly limit: number,
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Under a grant the records go to IndexedDB (those in memory at once); without one, no database is opened. */
  set persistent(on: boolean) {
    if (on && !this.kv && hasIndexedDB()) {
      this.kv = openKvStore(this.dbName)
      this.loaded = undefined
      void this.write([...this.memory])
    }
    if (!on && this.kv) {
      this.kv.close()
      this.kv = undefined
    }
  }

  /** The kept records of `ids` (memory, then IndexedDB under a grant). */
  async get(ids: readonly string[]): Promise<Map<string, KeptRecord>> {
    await this.load()
    const out = new Map<string, KeptRecord>()
    const cutoff = this.now() - this.maxAgeMs
    for (const id of ids) {
      const k = this.memory.get(id)
      if (k && k.ts >= cutoff) out.set(id, k)
    }
    return out
  }

  /** Keeps these records (ids the page was about), replacing older ones of the same items. */
  async put(rows: readonly (readonly [string, Omit<KeptRecord, 'ts'>])[]): Promise<void> {
    if (!rows.length) return
    await this.load()
    const ts = this.now()
    const kept = rows.map(([id, k]) => [id, { ...k, ts }] as [string, KeptRecord])
    for (const [id, k] of kept) {
      this.memory.delete(id) // re-inserted last: the Map's order is the order of use
      this.memory.set(id, k)
    }
    const surplus = [...this.memory.keys()].slice(0, Math.max(0, this.memory.size - this.limit))
    for (const id of surplus) this.memory.delete(id)
    await this.write(kept, surplus)
  }

  /** Reads the stored records into memory once per grant (older entries and a surplus are dropped). */
  private load(): Promise<void> {
    if (!this.kv) return Promise.resolve()
    const kv = this.kv
    this.loaded ??= (async () => {
      try {
        const [keys, values] = await kv.use('readonly', (s) => Promise.all([promisifyRequest(s.getAllKeys()), promisifyRequest(s.getAll())]))
        const cutoff = this.now() - this.maxAgeMs
        const rows = keys
          .map((k, i) => [k, values[i]] as const)
          .filter((r): r is [string, KeptRecord] => typeof r[0] === 'string' && usable(r[1]))
          .sort((a, b) => a[1].ts - b[1].ts)
        for (const [id, k] of rows) if (!this.memory.has(id) && k.ts >= cutoff) this.memory.set(id, k)
        const stale = keys.filter((k) => typeof k !== 'string' || !this.memory.has(k))
        if (stale.length) await this.write([], stale)
      } catch {
        /* a store that cannot be read: this page keeps its records in memory */
      }
    })()
    return this.loaded
  }

  private async write(rows: readonly (readonly [string, KeptRecord])[], drop: readonly IDBValidKey[] = []) {
    const kv = this.kv
    if (!kv || (!rows.length && !drop.length)) return
    try {
      await kv.use('readwrite', (s) => {
        for (const k of drop) s.delete(k)
        for (const [id, k] of rows) s.put(k, id)
        return promisifyRequest(s.transaction)
      })
    } catch {
      /* quota or a closed database: the memory copy still serves this page */
    }
  }

  close() {
    this.kv?.close()
    this.kv = undefined
    this.memory.clear()
  }
}

/** Another script can write this database: an entry is used only in the shape written here. */
function usable(v: unknown): v is KeptRecord {
  const k = v as KeptRecord
  return !!k && typeof k === 'object' && typeof k.pack === 'string' && typeof k.model === 'string' && typeof k.ts === 'number' && !!k.r && typeof k.r === 'object'
}
