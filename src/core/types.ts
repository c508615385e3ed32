// Public types: events, options, status. Names are a contract with storefronts.

export type ConsentState = 'pending' | 'granted' | 'denied'

export type EventType = 'view' | 'click' | 'add_to_cart' | 'purchase' | 'search' | 'dwell'

/** The public fields of an item the model reads. Never personal data. */
export interface ItemSnapshot {
  title: string
  brand?: string
  /** Category path, root first, e.g. ['Industrial & Scientific', 'Lab Supplies']. */
  category?: string[]
  price?: number
}

/** What a storefront passes to `track()`. */
export interface TrackEvent {
  type: EventType
  /** Required for every type but `search`. */
  itemId?: string
  /** Required with `itemId`: the item's public fields at the time of the event. */
  item?: ItemSnapshot
  /** `search` only: the shopper's query. Stays on the device. */
  query?: string
  /** `dwell` only: milliseconds the item was in view. */
  dwellMs?: number
  /** Where it happened: 'category', 'search', 'rail', 'product', or your own name. */
  surface?: string
  /** Milliseconds since the epoch; defaults to now. */
  timestamp?: number
}

/** An event as stored in IndexedDB (schema 2): a validated TrackEvent whose time is `ts`. */
export interface StoredEvent extends Omit<TrackEvent, 'timestamp'> {
  ts: number
}

export interface RetentionOptions {
  /** Oldest events beyond this count are dropped. Default 1000. */
  maxEvents?: number
  /** Events older than this are dropped. Default 90. */
  maxAgeDays?: number
}

export type StorageKind = 'indexeddb' | 'memory' | 'none'

/**
 * What the browser said to `navigator.storage.persist()`, asked once per page and only under consent
 * `granted`: 'not-asked' (no grant yet, or the history is in memory), 'asking', 'persistent' (kept
 * under storage pressure), 'best-effort' (the browser may evict it; Safari also erases it after 7
 * days without a visit), 'unsupported' (no StorageManager).
 */
export type StoragePersistence = 'not-asked' | 'asking' | 'persistent' | 'best-effort' | 'unsupported'

/** Neighbour lists: for a history item h, the weight w(h → i) of each neighbour i. */
export type Neighbors = ReadonlyMap<string, ReadonlyMap<string, number>>
