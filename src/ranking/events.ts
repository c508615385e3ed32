// Which events of a history the model reads: one rule, applied on the side that owns the history
// (the page's engine client, eval's harness) before anything is sent or scored.

import type { StoredEvent } from '../core/types'

/** What the model reads of a history: the last `maxHistory` item events of these types. */
export interface HistoryReads {
  maxHistory: number
  eventTypes: readonly string[]
}

/** The item events the sequence model reads, oldest first, at most `reads.maxHistory`. */
export function selectModelEvents(history: readonly StoredEvent[], reads: HistoryReads): StoredEvent[] {
  const out: StoredEvent[] = []
  // From the newest back: a long history is never copied whole.
  for (let i = history.length - 1; i >= 0 && out.length < reads.maxHistory; i--) {
    const e = history[i]!
    if (e.itemId && e.item && reads.eventTypes.includes(e.type)) out.push(e)
  }
  return out.reverse()
}

/** Ids of the items bought, whatever their age (for `excludePurchased`). */
export function purchasedItems(history: readonly StoredEvent[]): string[] {
  return [...new Set(history.filter((e) => e.type === 'purchase' && e.itemId).map((e) => e.itemId!))]
}
