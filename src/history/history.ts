// The shopper's behaviour history: consent, batching, retention, quota, other tabs.
// Everything here stays in this browser; nothing is ever sent anywhere.

import { describeError } from '../core/errors'
import { defaults } from '../core/defaults'
import type { ConsentState, RetentionOptions, StorageKind, StoragePersistence, StoredEvent } from '../core/types'
import { requestPersistence } from './persist'
import { deleteDatabase } from '../storage/idb'
import { newShopperKey } from './shopper-key'
import { openEventStore, SCHEMA_VERSION, type EventKey, type EventStore, type PrunePolicy } from './store'

export const DEFAULT_RETENTION = defaults.retention
const DAY = 86_400_000

export interface HistoryOptions {
  name: string
  retention?: RetentionOptions
  /** The site's current consent decision, if it has one. */
  consent?: ConsentState
  storage?: 'auto' | 'memory'
  /**
   * Keep a random shopper key for the holdout (src/experiment.ts): in memory while consent is pending,
   * stored beside the events only under a grant, replaced by a fresh one by forget() and a denial.
   */
  shopperKey?: boolean
  now?: () => number
  onChange?: (source: 'local' | 'remote') => void
  onConsent?: (state: ConsentState) => void
  onError?: (error: { name: string; message: string }) => void
}

export interface ExportDocument extends HistoryExport {
  /**
   * The item-vector cache's entries (its keys name items this shopper was shown): the model they
   * belong to and the item id. The vectors themselves are public (made from catalog text).
   */
  itemVectorCache: { model: string; itemId: string }[]
  /**
   * The catalog pack records kept for the history's items (`inpage:<name>:pack`, stored under a grant): which
   * items. The records themselves are the pack's public data.
   */
  packRecords: { itemId: string }[]
}

/** What the history itself holds. */
export interface HistoryExport {
  format: 'inpage-export'
  version: 1
  schema: number
  exportedAt: string
  name: string
  consent: ConsentState
  storage: StorageKind
  retention: Required<RetentionOptions>
  events: StoredEvent[]
  /** With an experiment: the holdout's random key, and whether it is stored ('device') or this page's only. */
  shopperKey?: { id: string; kept: 'device' | 'page' }
}

type Notice = { type: 'events' } | { type: 'forget' } | { type: 'consent'; state: ConsentState }

export function dbNameFor(name: string) {
  return `inpage:${name}:history`
}

function gpcOn(): boolean {
  try {
    return (globalThis.navigator as Navigator & { globalPrivacyControl?: boolean })?.globalPrivacyControl === true
  } catch {
    return false
  }
}

const WRITE_BATCH = defaults.writeBatch

const yieldToPage = () => new Promise<void>((r) => setTimeout(r, 0))

export class ShopperHistory {
  /** Resolves once storage is open (and older data migrated). */
  readonly opened: Promise<void>
  readonly retention: Required<RetentionOptions>
  private store: EventStore | undefined
  private storeKind: StorageKind = 'none'
  private state: ConsentState = 'pending'
  /** Events not in the store: consent pending, or a write that failed. Oldest first. */
  private unsaved: StoredEvent[] = []
  private queue: { ev: StoredEvent; done: () => void }[] = []
  private timer: ReturnType<typeof setTimeout> | undefined
  private cache: StoredEvent[] | undefined
  private count = 0
  private skipped = 0
  private lastError: { name: string; message: string } | undefined
  private fallbackReason: string | undefined
  private persistence: StoragePersistence = 'not-asked'
  private channel: BroadcastChannel | undefined
  private readonly tab = Math.random().toString(36).slice(2, 10)
  private seq = 0
  private readonly now: () => number
  /**
   * Every use of the store runs here, one after another, in call order: a grant that is still opening
   * the database can never write after a later denial, and nothing reopens a database being erased.
   */
  private tail: Promise<unknown> = Promise.resolve()
  /** Bumped by every setConsent(): a consent task that is no longer the latest does nothing. */
  private consentCalls = 0
  /** Bumped by every erase: a write in progress stops at its next batch. */
  private erasures = 0
  /** The holdout's key (with the shopperKey option): this page's until a grant stores it or adopts the stored one. */
  private key: string | undefined
  private keyStored = false

  constructor(private readonly opts: HistoryOptions) {
    this.now = opts.now ?? Date.now
    this.retention = {
      maxEvents: opts.retention?.maxEvents ?? DEFAULT_RETENTION.maxEvents,
      maxAgeDays: opts.retention?.maxAgeDays ?? DEFAULT_RETENTION.maxAgeDays,
    }
    this.state = opts.consent ?? (gpcOn() ? 'denied' : 'pending')
    if (opts.shopperKey) this.key = newShopperKey()
    this.opened = this.serial(() => this.open())
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task, task)
    this.tail = run.catch(() => {})
    return run
  }

  private async open() {
    if (typeof BroadcastChannel !== 'undefined') {
      this.channel = new BroadcastChannel(`inpage:${this.opts.name}`)
      this.channel.onmessage = (m: MessageEvent<Notice>) => this.onNotice(m.data)
    }
    await this.openStore(this.state === 'granted')
    const store = this.store
    if (!store) return // no database yet, and no consent to create one
    try {
      const meta = await store.getMeta()
      // A grant the site recorded after asking the shopper outlives GPC; the site's explicit option wins,
      // and so does any setConsent() this page made while the store was opening.
      if (this.opts.consent === undefined && this.consentCalls === 0 && meta?.consent === 'granted') this.state = 'granted'
      if (this.state === 'denied') await this.eraseStored()
      else {
        if (this.state === 'granted' && meta?.consent !== 'granted') await this.persistGrant(store)
        if (this.state === 'granted') this.askPersistence()
        if (this.state === 'granted') await this.keepKey(store)
        await this.prune(store)
      }
    } catch (err) {
      this.report(err)
    }
  }

  /** Opens storage; creates the database only when `create` (i.e. under a grant). */
  private async openStore(create: boolean) {
    const { store, fallbackReason } = await openEventStore(dbNameFor(this.opts.name), this.now(), this.opts.storage ?? 'auto', create)
    this.store = store
    this.storeKind = store?.kind ?? (fallbackReason ? 'memory' : 'indexeddb')
    this.fallbackReason = fallbackReason
  }

  /** Under a grant: adopt the key stored by an earlier page (or another tab), else store this page's. */
  private async keepKey(store: EventStore) {
    if (!this.key) return
    const stored = await store.getShopperKey()
    if (stored) this.key = stored
    else await store.setShopperKey(this.key)
    this.keyStored = true
  }

  /** The holdout's key once storage has opened (so a stored key has been read), and where it is kept. */
  async shopperKey(): Promise<{ id: string; kept: 'device' | 'page' } | undefined> {
    await this.opened
    return this.keyNow()
  }

  /** The key as of now, without waiting for storage (status()). */
  keyNow(): { id: string; kept: 'device' | 'page' } | undefined {
    return this.key ? { id: this.key, kept: this.keyStored ? 'device' : 'page' } : undefined
  }

  /** Erased: a fresh key, this page's only, that nothing links to the old one. */
  private renewKey() {
    if (!this.key) return
    this.key = newShopperKey()
    this.keyStored = false
  }

  private async persistGrant(store: EventStore) {
    await store.setMeta({ schema: SCHEMA_VERSION, created: (await store.getMeta())?.created ?? this.now(), consent: 'granted' })
  }

  /** Once per page, under a grant, for a history kept in IndexedDB; never awaited (a browser may prompt). */
  private askPersistence() {
    if (this.persistence !== 'not-asked' || this.store?.kind !== 'indexeddb') return
    this.persistence = 'asking'
    void requestPersistence().then((answer) => (this.persistence = answer))
  }

  get consent(): ConsentState {
    return this.state
  }

  status() {
    return {
      storage: this.storeKind,
      consent: this.state,
      events: this.count + this.unsaved.length + this.queue.length,
      skipped: this.skipped,
      persistence: this.persistence,
      ...(this.fallbackReason ? { storageFallback: this.fallbackReason } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    }
  }

  /** Queues a validated event. Resolves once it is written (or kept in memory); never rejects. */
  add(ev: StoredEvent): Promise<void> {
    if (this.state === 'denied') return Promise.resolve()
    return new Promise((done) => {
      this.queue.push({ ev, done })
      // A burst: only the newest maxEvents can outlive retention, so the queue never holds many more.
      if (this.queue.length >= 2 * this.retention.maxEvents + WRITE_BATCH) this.compactQueue()
      this.timer ??= setTimeout(() => void this.flush(), 0)
    })
  }

  private compactQueue() {
    this.queue.sort((a, b) => a.ev.ts - b.ev.ts) // stable: equal times keep their arrival order
    for (const dropped of this.queue.splice(0, this.queue.length - this.retention.maxEvents)) dropped.done()
  }

  /** Writes everything queued, at most WRITE_BATCH events per transaction. Never rejects. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    return this.serial(async () => {
      const batch = this.queue.splice(0)
      if (!batch.length) return
      try {
        await this.write(batch.map((b) => b.ev))
      } catch (err) {
        this.report(err)
      } finally {
        for (const b of batch) b.done()
      }
    })
  }

  private policy(): PrunePolicy {
    return { maxEvents: this.retention.maxEvents, minTs: this.now() - this.retention.maxAgeDays * DAY }
  }

  /** The events retention would keep of `events` alone, oldest first. */
  private retained(events: StoredEvent[]): StoredEvent[] {
    const minTs = this.policy().minTs
    const kept = events.filter((e) => e.ts >= minTs).sort((a, b) => a.ts - b.ts)
    return kept.length > this.retention.maxEvents ? kept.slice(kept.length - this.retention.maxEvents) : kept
  }

  /** Runs inside serial(). */
  private async write(events: StoredEvent[]) {
    if (this.state !== 'granted') {
      if (this.state === 'pending') this.keepInMemory(events)
      return
    }
    if (!this.store) await this.openStore(true) // erased earlier while the grant stayed
    const store = this.store
    if (!store) return this.keepInMemory(events)
    const erasures = this.erasures
    const rows = this.retained(events).map((ev): [EventKey, StoredEvent] => [['e', ev.ts, this.tab, this.seq++], ev])
    try {
      for (let i = 0; i < rows.length; i += WRITE_BATCH) {
        // Erased or revoked meanwhile: the rest of this burst is dropped, not written after the erase.
        if (erasures !== this.erasures || this.state !== 'granted') return
        if (i > 0) await yieldToPage()
        const part = rows.slice(i, i + WRITE_BATCH)
        try {
          await store.append(part)
        } catch (err) {
          if ((err as Error)?.name !== 'QuotaExceededError') throw err
          // Make room by dropping the oldest events (at least the batch's size), then retry once.
          await store.prune(this.policy(), Math.max(part.length, Math.ceil(this.count / 4)))
          await store.append(part)
        }
      }
      if (erasures !== this.erasures) return
      await this.prune(store)
      this.post({ type: 'events' })
      this.opts.onChange?.('local')
    } catch (err) {
      if (erasures === this.erasures) this.keepInMemory(events)
      this.report(err)
    }
  }

  private keepInMemory(events: StoredEvent[]) {
    const all = this.unsaved
    for (const e of events) all.push(e) // a loop, not push(...events): a burst would overflow the stack
    this.unsaved = this.retained(all)
    this.cache = undefined
    this.opts.onChange?.('local')
  }

  private async prune(store: EventStore) {
    await store.prune(this.policy())
    const { events, skipped } = await store.list()
    this.count = events.length
    this.skipped = skipped
    this.cache = events
  }

  /** What ranking may use, oldest first: stored events only under a grant, plus unsaved ones. */
  async events(): Promise<StoredEvent[]> {
    return this.snapshot(() => this.state === 'granted')
  }

  private async snapshot(withStored: () => boolean): Promise<StoredEvent[]> {
    await this.opened
    if (!this.cache && this.store && withStored())
      await this.serial(async () => {
        if (this.cache || !this.store || !withStored()) return // erased or revoked while waiting
        try {
          const { events, skipped } = await this.store.list()
          this.cache = events
          this.count = events.length
          this.skipped = skipped
        } catch (err) {
          this.report(err)
        }
      })
    const stored = withStored() ? (this.cache ?? []) : []
    if (!this.unsaved.length) return stored.slice()
    return [...stored, ...this.unsaved].sort((a, b) => a.ts - b.ts)
  }

  /**
   * Takes effect at once for everything that follows (track, rerank, export); the storage work runs in
   * call order, and of several calls the last one decides. A denial erases whatever came before it.
   */
  setConsent(state: ConsentState, fromOtherTab = false): Promise<void> {
    const call = ++this.consentCalls
    const before = this.state
    this.state = state
    if (state === 'denied') this.dropMemory()
    if (!fromOtherTab) this.post({ type: 'consent', state })
    if (before !== state) this.opts.onConsent?.(state)
    return this.serial(async () => {
      try {
        if (state === 'denied') return await this.eraseStored()
        if (call !== this.consentCalls) return // a later call decides
        if (state === 'granted') {
          if (!this.store) await this.openStore(true)
          if (!this.store) return
          await this.persistGrant(this.store)
          this.askPersistence()
          await this.keepKey(this.store)
          const pending = this.unsaved.splice(0)
          if (pending.length) await this.write(pending)
          else this.cache = undefined
        } else if (before === 'granted' && this.store) {
          // Back to pending: stop remembering the grant; stored events stay until denied or forgotten.
          const meta = await this.store.getMeta()
          if (meta) await this.store.setMeta({ schema: meta.schema, created: meta.created })
        }
      } catch (err) {
        this.report(err)
      }
    })
  }

  async export(): Promise<HistoryExport> {
    await this.opened // storage kind and consent are known only once the store is open
    return {
      format: 'inpage-export',
      version: 1,
      schema: SCHEMA_VERSION,
      exportedAt: new Date(this.now()).toISOString(),
      name: this.opts.name,
      consent: this.state,
      storage: this.storeKind,
      retention: { ...this.retention },
      // Everything stored, whatever the consent now: the shopper asked to see it.
      events: await this.snapshot(() => this.state !== 'denied'),
      ...(this.key ? { shopperKey: this.keyNow()! } : {}),
    }
  }

  /**
   * Erases every stored byte and everything in memory. Memory goes at once; the database as soon as
   * the storage task in progress (at most one write batch) ends. This page's consent state stays.
   */
  forget(): Promise<void> {
    this.dropMemory()
    return this.serial(async () => {
      try {
        await this.eraseStored()
      } catch (err) {
        // Blocked by a tab that keeps the database open: memory is erased now, the database when it lets go.
        this.report(err)
      }
      this.post({ type: 'forget' })
    })
  }

  private dropMemory() {
    this.erasures++
    this.renewKey()
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    for (const q of this.queue.splice(0)) q.done()
    this.unsaved = []
    this.cache = []
    this.count = 0
    this.skipped = 0
    this.opts.onChange?.('local')
  }

  /** Runs inside serial(). The database goes whole, the stored grant with it: the site asks again next visit. */
  private async eraseStored() {
    this.erasures++
    this.cache = []
    this.count = 0
    this.skipped = 0
    const store = this.store
    if (store?.kind === 'indexeddb') this.store = undefined // reopened (and recreated) only by a later grant's write
    if (store) await store.destroy()
    else if (this.storeKind === 'indexeddb') await deleteDatabase(dbNameFor(this.opts.name))
  }

  private onNotice(n: Notice) {
    if (n.type === 'events') {
      this.cache = undefined
      this.opts.onChange?.('remote')
    } else if (n.type === 'forget') {
      this.renewKey()
      for (const q of this.queue.splice(0)) q.done()
      this.unsaved = []
      this.cache = undefined
      this.opts.onChange?.('remote')
    } else if (n.type === 'consent' && n.state !== this.state) {
      void this.setConsent(n.state, true)
    }
  }

  private post(n: Notice) {
    try {
      this.channel?.postMessage(n)
    } catch {
      /* a closed channel only means no other tab hears it */
    }
  }

  private report(err: unknown) {
    this.lastError = describeError(err)
    this.opts.onError?.(this.lastError)
  }

  async dispose() {
    await this.flush()
    this.channel?.close()
    this.channel = undefined
  }
}
