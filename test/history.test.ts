import { describe, expect, it } from 'vitest'
import { ShopperHistory, dbNameFor } from '../src/history/history'
import { IdbEventStore, keysToPrune, migrateV1, SCHEMA_VERSION, type EventKey } from '../src/history/store'
import { openKvStore } from '../src/storage/idb'
import { createRecommender } from '../src/recommender'
import type { StoredEvent } from '../src/core/types'

let n = 0
const uniq = () => `t${Date.now()}-${n++}`
const DAY = 86_400_000
const T0 = Date.now() - DAY
const view = (id: string, ts: number): StoredEvent => ({ type: "view", itemId: id, item: { title: `item ${id}` }, ts: ts < 1e9 ? T0 + ts : ts })

async function dbNames() {
  return (await indexedDB.databases()).map((d) => d.name)
}

describe('retention', () => {
  it('keysToPrune drops the too-old, then the oldest beyond maxEvents', () => {
    const keys: EventKey[] = [1, 2, 3, 4, 5, 6].map((ts) => ['e', ts, 'a', ts])
    expect(keysToPrune(keys, { maxEvents: 10, minTs: 3 }).map((k) => k[1])).toEqual([1, 2])
    expect(keysToPrune(keys, { maxEvents: 2, minTs: 0 }).map((k) => k[1])).toEqual([1, 2, 3, 4])
    expect(keysToPrune(keys, { maxEvents: 10, minTs: 0 }, 2).map((k) => k[1])).toEqual([1, 2])
  })

  it('enforces maxEvents on write, oldest first', async () => {
    const h = new ShopperHistory({ name: uniq(), consent: 'granted', retention: { maxEvents: 5 } })
    for (let i = 0; i < 12; i++) void h.add(view(`i${i}`, 1000 + i))
    await h.flush()
    const ids = (await h.events()).map((e) => e.itemId)
    expect(ids).toEqual(['i7', 'i8', 'i9', 'i10', 'i11'])
    expect(h.status().events).toBe(5)
  })

  it('enforces maxAgeDays on open', async () => {
    const name = uniq()
    let now = 100 * DAY
    const h = new ShopperHistory({ name, consent: 'granted', retention: { maxAgeDays: 30 }, now: () => now })
    await h.add(view('old', now - 20 * DAY))
    await h.add(view('new', now - 1 * DAY))
    await h.dispose()
    now += 15 * DAY // 'old' is now 35 days old
    const h2 = new ShopperHistory({ name, consent: 'granted', retention: { maxAgeDays: 30 }, now: () => now })
    expect((await h2.events()).map((e) => e.itemId)).toEqual(['new'])
  })
})

describe('migration', () => {
  it('migrates schema 1 (one array) to schema 2 (a key per event) and keeps every event', async () => {
    const name = uniq()
    const kv = openKvStore(dbNameFor(name))
    const now = Date.now()
    const v1 = [
      { type: 'view', id: 'a', title: 'Alpha', brand: 'B', category: 'Root > Leaf', price: 3, surface: 'category', time: now - 2000 },
      { type: 'search', query: 'gloves', time: now - 1000 },
      { broken: true },
    ]
    await kv.use('readwrite', (s) => s.put(v1, 'history'))
    kv.close()
    const h = new ShopperHistory({ name, consent: 'granted' })
    const events = await h.events()
    expect(events).toEqual([
      { type: 'view', itemId: 'a', item: { title: 'Alpha', brand: 'B', category: ['Root', 'Leaf'], price: 3 }, surface: 'category', ts: now - 2000 },
      { type: 'search', query: 'gloves', ts: now - 1000 },
    ])
    const store = new IdbEventStore(dbNameFor(name))
    expect((await store.getMeta())?.schema).toBe(SCHEMA_VERSION)
    const kv2 = openKvStore(dbNameFor(name))
    expect(await kv2.use('readonly', (s) => new Promise((r) => (s.get('history').onsuccess = (e) => r((e.target as IDBRequest).result))))).toBeUndefined()
  })

  it('migrateV1 skips rows it cannot read', () => {
    expect(migrateV1([null, 3, { type: 'view' }, { type: 'click', id: 'x', time: 5 }])).toHaveLength(1)
  })
})

describe('consent', () => {
  it('pending keeps events in memory only; granted writes them', async () => {
    const name = uniq()
    const h = new ShopperHistory({ name })
    await h.add(view('a', Date.now()))
    expect(h.status()).toMatchObject({ consent: 'pending', events: 1 })
    const fresh = new IdbEventStore(dbNameFor(name))
    expect((await fresh.list()).events).toHaveLength(0)
    await h.setConsent('granted')
    expect((await fresh.list()).events.map((e) => e.itemId)).toEqual(['a'])
  })

  it('denied erases what was stored and keeps nothing new', async () => {
    const name = uniq()
    const h = new ShopperHistory({ name, consent: 'granted' })
    await h.add(view('a', Date.now()))
    expect(await dbNames()).toContain(dbNameFor(name))
    await h.setConsent('denied')
    await h.add(view('b', Date.now()))
    expect(await h.events()).toEqual([])
    expect(await dbNames()).not.toContain(dbNameFor(name))
  })

  it('a persisted grant survives a reload', async () => {
    const name = uniq()
    const h = new ShopperHistory({ name })
    await h.setConsent('granted')
    await h.dispose()
    const h2 = new ShopperHistory({ name })
    await h2.opened
    expect(h2.consent).toBe('granted')
  })
})

describe('export and forget', () => {
  it('exports a versioned document of everything stored', async () => {
    const name = uniq()
    const rec = createRecommender({ name, consent: 'granted' })
    await rec.track({ type: 'view', itemId: 'a', item: { title: 'A' }, timestamp: T0 + 5 })
    await rec.track({ type: 'search', query: 'gloves', timestamp: T0 + 6 })
    const doc = await rec.exportData()
    expect(doc).toMatchObject({ format: 'inpage-export', version: 1, schema: 2, name, consent: 'granted', storage: 'indexeddb' })
    expect(doc.retention).toEqual({ maxEvents: 1000, maxAgeDays: 90 })
    expect(doc.events).toEqual([
      { type: 'view', itemId: 'a', item: { title: 'A' }, ts: T0 + 5 },
      { type: 'search', query: 'gloves', ts: T0 + 6 },
    ])
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc)
    expect(Number.isNaN(Date.parse(doc.exportedAt))).toBe(false)
  })

  it('forget deletes the database', async () => {
    const name = uniq()
    const rec = createRecommender({ name, consent: 'granted' })
    await rec.track({ type: 'view', itemId: 'a', item: { title: 'A' } })
    await rec.forget()
    expect(await dbNames()).not.toContain(dbNameFor(name))
    expect((await rec.exportData()).events).toEqual([])
  })
})

describe('faults', () => {
  it('QuotaExceededError: evicts the oldest and retries once', async () => {
    const name = uniq()
    const h = new ShopperHistory({ name, consent: 'granted' })
    for (let i = 0; i < 8; i++) void h.add(view(`i${i}`, 1000 + i))
    await h.flush()
    const put = IDBObjectStore.prototype.put
    let fails = 1
    IDBObjectStore.prototype.put = function (...args: Parameters<typeof put>) {
      if (fails-- > 0) throw new DOMException('full', 'QuotaExceededError')
      return put.apply(this, args)
    }
    try {
      await h.add(view('new', 2000))
    } finally {
      IDBObjectStore.prototype.put = put
    }
    const ids = (await h.events()).map((e) => e.itemId)
    expect(ids.at(-1)).toBe('new')
    expect(ids.length).toBeLessThan(9)
    expect(h.status().lastError).toBeUndefined()
  })

  it('a write that keeps failing is reported and the events stay in memory', async () => {
    const errors: string[] = []
    const h = new ShopperHistory({ name: uniq(), consent: 'granted', onError: (e) => errors.push(e.name) })
    await h.opened
    const put = IDBObjectStore.prototype.put
    IDBObjectStore.prototype.put = () => {
      throw new DOMException('full', 'QuotaExceededError')
    }
    try {
      await h.add(view('kept', 5))
    } finally {
      IDBObjectStore.prototype.put = put
    }
    expect(errors).toEqual(['QuotaExceededError'])
    expect((await h.events()).map((e) => e.itemId)).toEqual(['kept'])
  })

  it('falls back to memory when IndexedDB is missing', async () => {
    const saved = globalThis.indexedDB
    // @ts-expect-error simulate a browser without IndexedDB
    delete globalThis.indexedDB
    try {
      const rec = createRecommender({ name: uniq(), consent: 'granted' })
      await rec.track({ type: 'view', itemId: 'a', item: { title: 'A' } })
      expect(rec.status()).toMatchObject({ storage: 'memory', events: 1 })
      expect(rec.status().storageFallback).toMatch(/not available/)
    } finally {
      globalThis.indexedDB = saved
    }
  })

  it('skips stored records of the wrong shape and keeps the rest', async () => {
    const name = uniq()
    const h = new ShopperHistory({ name, consent: 'granted' })
    await h.add(view('good', 10))
    const kv = openKvStore(dbNameFor(name))
    await kv.use('readwrite', (s) => s.put({ nonsense: true }, ['e', T0 + 11, 'x', 0]))
    kv.close()
    const h2 = new ShopperHistory({ name, consent: 'granted' })
    expect((await h2.events()).map((e) => e.itemId)).toEqual(['good'])
    expect(h2.status().skipped).toBe(1)
  })

  it('track rejects with InvalidEventError (never a synchronous throw) and writes nothing', async () => {
    const rec = createRecommender({ name: uniq(), consent: 'granted' })
    await expect(rec.track({ type: 'view' } as never)).rejects.toMatchObject({ name: 'InvalidEventError' })
    await rec.flush()
    expect(rec.status().events).toBe(0)
  })

  it('rejects bad options with InvalidOptionsError', () => {
    expect(() => createRecommender({ name: 'a b' })).toThrow(expect.objectContaining({ name: 'InvalidOptionsError' }))
    expect(() => createRecommender({ retention: { maxEvents: -1 } })).toThrow(expect.objectContaining({ name: 'InvalidOptionsError' }))
  })
})

// Hardening (issue 17): the consent/erase queue and bursts, in Node with fake-indexeddb. The same
// promises are proved in real Chromium by e2e/hostile.spec.ts.
describe('consent and erase run in call order; the last call wins', () => {
  it('a grant still opening the store never writes after a later denial', async () => {
    const name = uniq()
    const h = new ShopperHistory({ name })
    const a = h.setConsent('granted')
    void h.add(view('x', 1))
    const b = h.setConsent('denied')
    await Promise.all([a, b])
    await h.flush()
    expect(h.consent).toBe('denied')
    expect(await dbNames()).not.toContain(dbNameFor(name))
    const again = new ShopperHistory({ name })
    await again.opened
    expect(again.consent).toBe('pending')
  })

  it('deny then grant, unawaited: the denial erases what came before, the grant starts afresh', async () => {
    const name = uniq()
    const h = new ShopperHistory({ name, consent: 'granted' })
    await h.add(view('old', 1))
    const a = h.setConsent('denied')
    void h.add(view('dropped', 2)) // tracked while denied
    const b = h.setConsent('granted')
    void h.add(view('new', 3))
    await Promise.all([a, b])
    await h.flush()
    const again = new ShopperHistory({ name })
    expect((await again.events()).map((e) => e.itemId)).toEqual(['new'])
    expect(again.consent).toBe('granted')
  })

  it('forget() during a write drops the rest of the burst; nothing is written after the erase', async () => {
    const name = uniq()
    const h = new ShopperHistory({ name, consent: 'granted', retention: { maxEvents: 5000 } })
    await h.opened
    for (let i = 0; i < 3000; i++) void h.add(view(`b${i}`, i))
    const flushing = h.flush()
    await new Promise((r) => setTimeout(r, 0))
    await h.forget()
    await flushing
    expect(await h.events()).toEqual([])
    expect(await dbNames()).not.toContain(dbNameFor(name))
  })

  it('150,000 events while pending keep the newest maxEvents, without a stack overflow', async () => {
    for (const storage of ['auto', 'memory'] as const) {
      const h = new ShopperHistory({ name: uniq(), storage })
      const errors: string[] = []
      const h2 = new ShopperHistory({ name: uniq(), storage, onError: (e) => errors.push(e.name) })
      for (let i = 0; i < 150_000; i++) void h2.add(view(`i${i}`, i))
      await h2.flush()
      const evs = await h2.events()
      expect(evs.length).toBe(1000)
      expect(evs.at(-1)!.itemId).toBe('i149999')
      expect(errors).toEqual([])
      await h.dispose()
      await h2.dispose()
    }
  })
})
