// Where events live: IndexedDB (one database per recommender name) or memory when IndexedDB is
// unavailable. Each event has its own key ['e', ts, tab, seq], so tabs writing at once never
// overwrite each other and the key order is the age order.

import { promisifyRequest } from 'idb-keyval'
import type { StoredEvent } from '../core/types'
import { EVENT_TYPES } from './events'
import { parseCategoryPath } from '../ranking/text'
import { isShopperKey } from './shopper-key'
import { databaseExists, deleteDatabase, hasIndexedDB, openKvStore, type KvStore } from '../storage/idb'

/** Current schema. 1 = one array under the key 'history' (the first prototype); 2 = a key per event. */
export const SCHEMA_VERSION = 2

export type EventKey = [string, number, string, number]

export interface Meta {
  schema: number
  created: number
  /** Only 'granted' is ever persisted: pending and denied store nothing. */
  consent?: 'granted'
}

export interface PrunePolicy {
  maxEvents: number
  /** Events with ts below this are dropped. */
  minTs: number
}

export interface EventStore {
  readonly kind: 'indexeddb' | 'memory'
  append(rows: [EventKey, StoredEvent][]): Promise<void>
  /** Oldest first. Rows that are not events of the current shape are skipped and counted. */
  list(): Promise<{ events: StoredEvent[]; skipped: number }>
  /** Drops what the policy says, plus the `extra` oldest beyond it. Returns how many went. */
  prune(policy: PrunePolicy, extra?: number): Promise<number>
  getMeta(): Promise<Meta | undefined>
  setMeta(meta: Meta): Promise<void>
  /** The holdout's shopper key (src/experiment.ts), stored under the key 'experiment'; undefined when absent or malformed. */
  getShopperKey(): Promise<string | undefined>
  setShopperKey(key: string): Promise<void>
  /** Erases every byte this store holds. */
  destroy(): Promise<void>
}

/** The record `{ id }` holding the holdout's shopper key: outside the event range, so list() never sees it. */
export const SHOPPER_KEY = 'experiment'

/** A stored key another script may have written: only 32 hex digits are taken. */
function readShopperKey(v: unknown): string | undefined {
  const id = v && typeof v === 'object' ? (v as { id?: unknown }).id : undefined
  return isShopperKey(id) ? id : undefined
}

const EVENT_RANGE = () => IDBKeyRange.bound(['e'], ['e', []])

const optString = (x: unknown) => x === undefined || typeof x === 'string'
const optNumber = (x: unknown) => x === undefined || (typeof x === 'number' && Number.isFinite(x))

/** The shape of a stored item, checked field by field: a record another script wrote must not reach the engine. */
function isStoredItem(v: unknown): boolean {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false
  const i = v as Record<string, unknown>
  const cat = i.category
  return (
    typeof i.title === 'string' &&
    optString(i.brand) &&
    optNumber(i.price) &&
    (cat === undefined || (Array.isArray(cat) && cat.every((c) => typeof c === 'string')))
  )
}

export function isStoredEvent(v: unknown): v is StoredEvent {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false
  const e = v as StoredEvent
  return (
    (EVENT_TYPES as readonly unknown[]).includes(e.type) &&
    typeof e.ts === 'number' &&
    Number.isFinite(e.ts) &&
    optString(e.itemId) &&
    (e.item === undefined || isStoredItem(e.item)) &&
    optString(e.query) &&
    optString(e.surface) &&
    optNumber(e.dwellMs)
  )
}

/** Keys to drop, given all event keys oldest first. */
export function keysToPrune<K extends { 1: number }>(keys: K[], policy: PrunePolicy, extra = 0): K[] {
  let cut = 0
  while (cut < keys.length && keys[cut]![1] < policy.minTs) cut++
  const over = keys.length - cut - policy.maxEvents
  if (over > 0) cut += over
  cut = Math.min(keys.length, cut + extra)
  return keys.slice(0, cut)
}

export class IdbEventStore implements EventStore {
  readonly kind = 'indexeddb'
  private kv: KvStore
  constructor(readonly dbName: string) {
    this.kv = openKvStore(dbName)
  }
  /** Opens the database and migrates older schemas; throws when IndexedDB is unusable. */
  async open(now: number): Promise<void> {
    await this.kv.use('readwrite', async (s) => {
      const meta = (await promisifyRequest(s.get('meta'))) as Meta | undefined
      if (meta && meta.schema >= SCHEMA_VERSION) return
      // One transaction: a failed migration aborts and leaves the old data as it was.
      const old = (await promisifyRequest(s.get('history'))) as unknown
      const rows = Array.isArray(old) ? migrateV1(old) : []
      for (const [k, v] of rows) s.put(v, k)
      if (old !== undefined) s.delete('history')
      s.put({ schema: SCHEMA_VERSION, created: meta?.created ?? now, ...(meta?.consent ? { consent: meta.consent } : {}) }, 'meta')
    })
  }
  append(rows: [EventKey, StoredEvent][]): Promise<void> {
    return this.kv.use('readwrite', (s) => {
      for (const [k, v] of rows) s.put(v, k)
      return promisifyRequest(s.transaction)
    })
  }
  async list() {
    const values = await this.kv.use('readonly', (s) => promisifyRequest(s.getAll(EVENT_RANGE())))
    const events = values.filter(isStoredEvent)
    return { events, skipped: values.length - events.length }
  }
  prune(policy: PrunePolicy, extra = 0): Promise<number> {
    return this.kv.use('readwrite', async (s) => {
      const keys = (await promisifyRequest(s.getAllKeys(EVENT_RANGE()))) as unknown as EventKey[]
      const drop = keysToPrune(keys, policy, extra)
      for (const k of drop) s.delete(k)
      await promisifyRequest(s.transaction)
      return drop.length
    })
  }
  getMeta() {
    return this.kv.use('readonly', (s) => promisifyRequest(s.get('meta')) as Promise<Meta | undefined>)
  }
  setMeta(meta: Meta) {
    return this.kv.use('readwrite', (s) => {
      s.put(meta, 'meta')
      return promisifyRequest(s.transaction)
    })
  }
  async getShopperKey() {
    const v = await this.kv.use('readonly', (s) => promisifyRequest(s.get(SHOPPER_KEY)) as Promise<unknown>)
    return readShopperKey(v)
  }
  setShopperKey(key: string) {
    return this.kv.use('readwrite', (s) => {
      s.put({ id: key }, SHOPPER_KEY)
      return promisifyRequest(s.transaction)
    })
  }
  async destroy() {
    this.kv.close()
    await deleteDatabase(this.dbName)
    this.kv = openKvStore(this.dbName)
  }
}

export class MemoryEventStore implements EventStore {
  readonly kind = 'memory'
  private rows: [EventKey, StoredEvent][] = []
  private meta: Meta | undefined
  private shopperKey: string | undefined
  async append(rows: [EventKey, StoredEvent][]) {
    for (const r of rows) this.rows.push(r) // no push(...rows): a burst would overflow the stack
    this.rows.sort((a, b) => compareKeys(a[0], b[0]))
  }
  async list() {
    return { events: this.rows.map((r) => r[1]), skipped: 0 }
  }
  async prune(policy: PrunePolicy, extra = 0) {
    const n = keysToPrune(this.rows.map((r) => r[0]), policy, extra).length
    this.rows.splice(0, n)
    return n
  }
  async getMeta() {
    return this.meta
  }
  async setMeta(meta: Meta) {
    this.meta = meta
  }
  async getShopperKey() {
    return this.shopperKey
  }
  async setShopperKey(key: string) {
    this.shopperKey = key
  }
  async destroy() {
    this.rows = []
    this.shopperKey = undefined
    this.meta = undefined
  }
}

export function compareKeys(a: EventKey, b: EventKey): number {
  for (let i = 1; i < 4; i++) {
    const x = a[i]!
    const y = b[i]!
    if (x < y) return -1
    if (x > y) return 1
  }
  return 0
}

/** Schema 1 stored `{type, id, title, brand, category: 'A > B', price, surface, time}` in one array. */
export function migrateV1(old: unknown[]): [EventKey, StoredEvent][] {
  const out: [EventKey, StoredEvent][] = []
  old.forEach((r, i) => {
    if (!r || typeof r !== 'object') return
    const o = r as Record<string, unknown>
    if (typeof o.type !== 'string' || typeof o.time !== 'number') return
    const ev: StoredEvent = { type: o.type as StoredEvent['type'], ts: o.time }
    if (typeof o.id === 'string') {
      ev.itemId = o.id
      ev.item = { title: typeof o.title === 'string' ? o.title : o.id }
      if (typeof o.brand === 'string') ev.item.brand = o.brand
      if (typeof o.category === 'string') ev.item.category = parseCategoryPath(o.category)
      if (typeof o.price === 'number') ev.item.price = o.price
    }
    if (typeof o.query === 'string') ev.query = o.query
    if (typeof o.surface === 'string') ev.surface = o.surface
    out.push([['e', ev.ts, 'v1', i], ev])
  })
  return out
}

/**
 * IndexedDB when it opens, else memory. With `create: false` a database that does not exist yet
 * is not created (nothing is written before consent): `store` is then undefined until a grant opens it
 * with `create: true`.
 */
export async function openEventStore(
  dbName: string,
  now: number,
  prefer: 'auto' | 'memory',
  create: boolean,
): Promise<{ store: EventStore | undefined; fallbackReason?: string }> {
  if (prefer === 'memory') return { store: new MemoryEventStore(), fallbackReason: 'storage: memory was requested' }
  if (!hasIndexedDB()) return { store: new MemoryEventStore(), fallbackReason: 'IndexedDB is not available' }
  try {
    if (!create && !(await databaseExists(dbName))) return { store: undefined }
    const idb = new IdbEventStore(dbName)
    await idb.open(now)
    return { store: idb }
  } catch (err) {
    return { store: new MemoryEventStore(), fallbackReason: `IndexedDB failed to open: ${(err as Error)?.name ?? err}` }
  }
}
