// The shopper's behaviour history: consent, batching, retention, quota, other tabs.
// Everything here stays in this browser; nothing is ever sent anywhere.

import { describeError } from '../errors'
import type { ConsentState, RetentionOptions, StorageKind, StoredEvent } from '../types'
import { deleteDatabase } from './idb'
import { openEventStore, SCHEMA_VERSION, type EventKey, type EventStore, type PrunePolicy } from './store'

export const DEFAULT_RETENTION = { maxEvents: 1000, maxAgeDays: 90 } as const
const DAY = 86_400_000

export interface HistoryOptions {
  name: string
  retention?: RetentionOptions
  /** The site's current consent decision, if it has one. */
  consent?: ConsentState
  storage?: 'auto' | 'memory'
  now?: () => number
  onChange?: (source: 'local' | 'remote') => void
  onConsent?: (state: ConsentState) => void
  onError?: (error: { name: string; message: string }) => void
}

export interface ExportDocument {
  format: 'inpage-export'
  version: 1
  schema: number
  exportedAt: string
  name: string
  consent: ConsentState
  storage: StorageKind
  retention: Required<RetentionOptions>
  events: StoredEvent[]
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

export class History {
  readonly ready: Promise<void>
  readonly retention: Required<RetentionOptions>
  private store: EventStore | undefined
  private storeKind: StorageKind = 'none'
  private state: ConsentState = 'pending'
  /** Events not in the store: consent pending, or a write that failed. Oldest first. */
  private unsaved: StoredEvent[] = []
  private queue: { ev: StoredEvent; done: () => void }[] = []
  private flushing: Promise<void> | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private cache: StoredEvent[] | undefined
  private count = 0
  private skipped = 0
  private lastError: { name: string; message: string } | undefined
  private fallbackReason: string | undefined
  private channel: BroadcastChannel | undefined
  private readonly tab = Math.random().toString(36).slice(2, 10)
  private seq = 0
  private readonly now: () => number

  constructor(private readonly opts: HistoryOptions) {
    this.now = opts.now ?? Date.now
    this.retention = {
      maxEvents: opts.retention?.maxEvents ?? DEFAULT_RETENTION.maxEvents,
      maxAgeDays: opts.retention?.maxAgeDays ?? DEFAULT_RETENTION.maxAgeDays,
    }
    this.state = opts.consent ?? (gpcOn() ? 'denied' : 'pending')
    this.ready = this.open()
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
      // A grant the site recorded after asking the shopper outlives GPC; the site's explicit option wins.
      if (this.opts.consent === undefined && meta?.consent === 'granted') this.state = 'granted'
      if (this.state === 'denied') await store.destroy()
      else {
        if (this.state === 'granted' && meta?.consent !== 'granted') await this.persistGrant(store)
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

  private async persistGrant(store: EventStore) {
    await store.setMeta({ schema: SCHEMA_VERSION, created: (await store.getMeta())?.created ?? this.now(), consent: 'granted' })
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
      ...(this.fallbackReason ? { storageFallback: this.fallbackReason } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    }
  }

  /** Queues a validated event. Resolves once it is written (or kept in memory); never rejects. */
  add(ev: StoredEvent): Promise<void> {
    if (this.state === 'denied') return Promise.resolve()
    return new Promise((done) => {
      this.queue.push({ ev, done })
      this.timer ??= setTimeout(() => void this.flush(), 0)
    })
  }

  /** Writes everything queued, in one transaction per batch. */
  async flush(): Promise<void> {
    await this.ready
    while (this.flushing) await this.flushing
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    const batch = this.queue.splice(0)
    if (!batch.length) return
    this.flushing = this.write(batch.map((b) => b.ev)).finally(() => {
      this.flushing = undefined
      batch.forEach((b) => b.done())
    })
    await this.flushing
  }

  private policy(): PrunePolicy {
    return { maxEvents: this.retention.maxEvents, minTs: this.now() - this.retention.maxAgeDays * DAY }
  }

  private async write(events: StoredEvent[]) {
    if (this.state !== 'granted') {
      if (this.state === 'pending') this.keepInMemory(events)
      return
    }
    const store = this.store
    if (!store) return this.keepInMemory(events)
    const rows = events.map((ev): [EventKey, StoredEvent] => [['e', ev.ts, this.tab, this.seq++], ev])
    try {
      try {
        await store.append(rows)
      } catch (err) {
        if ((err as Error)?.name !== 'QuotaExceededError') throw err
        // Make room by dropping the oldest events (at least the batch's size), then retry once.
        await store.prune(this.policy(), Math.max(rows.length, Math.ceil(this.count / 4)))
        await store.append(rows)
      }
      await this.prune(store)
      this.cache = undefined
      this.post({ type: 'events' })
      this.opts.onChange?.('local')
    } catch (err) {
      this.keepInMemory(events)
      this.report(err)
    }
  }

  private keepInMemory(events: StoredEvent[]) {
    this.unsaved.push(...events)
    this.unsaved.sort((a, b) => a.ts - b.ts)
    const minTs = this.policy().minTs
    this.unsaved = this.unsaved.filter((e) => e.ts >= minTs).slice(-this.retention.maxEvents)
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
    return this.snapshot(this.state === 'granted')
  }

  private async snapshot(withStored: boolean): Promise<StoredEvent[]> {
    await this.ready
    if (!this.cache && this.store && withStored) {
      try {
        const { events, skipped } = await this.store.list()
        this.cache = events
        this.count = events.length
        this.skipped = skipped
      } catch (err) {
        this.report(err)
      }
    }
    const stored = withStored ? (this.cache ?? []) : []
    if (!this.unsaved.length) return stored.slice()
    return [...stored, ...this.unsaved].sort((a, b) => a.ts - b.ts)
  }

  async setConsent(state: ConsentState, fromOtherTab = false): Promise<void> {
    await this.ready
    const before = this.state
    this.state = state
    try {
      if (state === 'granted' && !this.store) await this.openStore(true)
      const store = this.store
      if (state === 'denied') {
        this.queue.splice(0).forEach((q) => q.done())
        await this.erase()
      } else if (!store) {
        // pending, and no database: nothing stored to change
      } else if (state === 'granted') {
        await this.persistGrant(store)
        const pending = this.unsaved.splice(0)
        if (pending.length) await this.write(pending)
        else this.cache = undefined
      } else if (before === 'granted') {
        // Back to pending: stop remembering the grant; stored events stay until denied or forgotten.
        const meta = await store.getMeta()
        if (meta) await store.setMeta({ schema: meta.schema, created: meta.created })
      }
    } catch (err) {
      this.report(err)
    }
    if (!fromOtherTab) this.post({ type: 'consent', state })
    if (before !== state) this.opts.onConsent?.(state)
  }

  async export(): Promise<ExportDocument> {
    await this.ready // storage kind and consent are known only once the store is open
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
      events: await this.snapshot(this.state !== 'denied'),
    }
  }

  /** Erases every stored byte and everything in memory. This page's consent state stays as it is. */
  async forget(): Promise<void> {
    await this.ready
    this.queue.splice(0).forEach((q) => q.done())
    try {
      await this.erase()
    } catch (err) {
      // Blocked by a tab that keeps the database open: memory is erased now, the database when it lets go.
      this.report(err)
    }
    this.post({ type: 'forget' })
  }

  private async erase() {
    this.unsaved = []
    this.cache = []
    this.count = 0
    this.skipped = 0
    // The database goes whole, the stored grant with it: the site asks again on the next visit.
    if (this.store) await this.store.destroy()
    else if (this.storeKind === 'indexeddb') await deleteDatabase(dbNameFor(this.opts.name))
    this.opts.onChange?.('local')
  }

  private onNotice(n: Notice) {
    if (n.type === 'events') {
      this.cache = undefined
      this.opts.onChange?.('remote')
    } else if (n.type === 'forget') {
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
    await this.flush().catch(() => {})
    this.channel?.close()
    this.channel = undefined
  }
}
