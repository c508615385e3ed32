// Which events of a history the model reads: one rule, applied once, on the side that owns the history
// (the page's engine client, eval's harness) before anything is sent or scored. What it gives is typed
// `ModelEvents`: the worker and score() take only that, so the rule is never applied twice.

import type { ItemSnapshot, StoredEvent } from '../core/types'
import type { RerankOptions } from './types'

/** What the model reads of a history: the last `maxHistory` item events of these types. */
export interface HistoryReads {
  maxHistory: number
  eventTypes: readonly string[]
}

/** An item event the model reads: it names its item and carries the item's public fields. */
export interface ModelEvent extends StoredEvent {
  itemId: string
  item: ItemSnapshot
}

declare const selected: unique symbol
/**
 * The events selectModelEvents chose, oldest first: only it makes one (the brand exists for the type checker
 * alone, so the array crosses postMessage as it is).
 */
export type ModelEvents = readonly ModelEvent[] & { readonly [selected]: true }

/** The item events the sequence model reads, oldest first, at most `reads.maxHistory`. */
export function selectModelEvents(history: readonly StoredEvent[], reads: HistoryReads): ModelEvents {
  const out: ModelEvent[] = []
  // From the newest back: a long history is never copied whole.
  for (let i = history.length - 1; i >= 0 && out.length < reads.maxHistory; i--) {
    const e = history[i]!
    if (e.itemId && e.item && reads.eventTypes.includes(e.type)) out.push(e as ModelEvent)
  }
  return out.reverse() as readonly ModelEvent[] as ModelEvents
}

/** Ids of the items bought, whatever their age (for `excludePurchased`). */
export function purchasedItems(history: readonly StoredEvent[]): string[] {
  return [...new Set(history.filter((e) => e.type === 'purchase' && e.itemId).map((e) => e.itemId!))]
}

/** Ids bought exactly once (RerankOptions.purchased 'demote': an item bought twice or more is a repeat purchase, kept). */
export function boughtOnce(ids: readonly string[]): string[] {
  const n = new Map<string, number>()
  for (const id of ids) n.set(id, (n.get(id) ?? 0) + 1)
  return [...n].filter(([, c]) => c === 1).map(([id]) => id)
}

/**
 * The ids rankCandidates' `purchased` set holds for these options: every bought item under `excludePurchased`, those
 * bought once under `purchased: 'demote'` (the default), none under 'keep'.
 */
export function purchasedFor(history: readonly StoredEvent[], o: Pick<RerankOptions, 'excludePurchased' | 'purchased'>): string[] {
  if (o.excludePurchased) return purchasedItems(history)
  if ((o.purchased ?? 'demote') === 'keep') return []
  return boughtOnce(history.filter((e) => e.type === 'purchase' && e.itemId).map((e) => e.itemId!))
}
