// Reasons: which history events raised an item's personal score. Faithful by construction: a reason's
// contribution is the exact drop of the personal score when that one event is left out.

import type { EventType } from '../core/types'
import type { Reason } from './types'

export interface HistoryItemEvent {
  type: EventType
  itemId: string
  title: string
}

const VERB: Record<EventType, string> = {
  view: 'viewed',
  click: 'looked at',
  add_to_cart: 'added to your cart',
  purchase: 'bought',
  search: 'searched for',
  dwell: 'spent time on',
}

export function reasonText(ev: Pick<HistoryItemEvent, 'type' | 'title'>): string {
  const title = ev.title.length > 60 ? `${ev.title.slice(0, 57)}…` : ev.title
  return `Because you ${VERB[ev.type]} '${title}'`
}

/**
 * @param full       personal score of each candidate with the whole history
 * @param without    without[e][i] = personal score of candidate i with event e left out
 * @param events     the history events the model read, in the same order as `without`
 * @param candidates which candidates to explain
 * @param ids        candidate ids: an item never cites its own event (the shopper bought it; that says nothing)
 */
export function explain(
  full: readonly number[],
  without: readonly (readonly number[])[],
  events: readonly HistoryItemEvent[],
  candidates: readonly number[],
  ids?: readonly string[],
  maxReasons = 2,
  minContribution = 1e-6,
): Map<number, Reason[]> {
  const out = new Map<number, Reason[]>()
  // Per event, once: its (event type, item) key and its sentence (a long list explains hundreds of items).
  const keys = events.map((ev) => `${ev.type}|${ev.itemId}`)
  const texts = new Map<string, string>()
  const textOf = (e: number) => {
    let t = texts.get(keys[e]!)
    if (t === undefined) texts.set(keys[e]!, (t = reasonText(events[e]!)))
    return t
  }
  for (const i of candidates) {
    const best = new Map<string, { e: number; contribution: number }>() // one reason per (event type, item)
    for (let e = 0; e < events.length; e++) {
      if (ids && events[e]!.itemId === ids[i]) continue
      const contribution = full[i]! - without[e]![i]!
      if (!(contribution > minContribution)) continue
      if ((best.get(keys[e]!)?.contribution ?? -Infinity) >= contribution) continue
      best.set(keys[e]!, { e, contribution })
    }
    const top = [...best.values()].sort((a, b) => b.contribution - a.contribution).slice(0, maxReasons)
    out.set(i, top.map(({ e, contribution }) => ({ eventType: events[e]!.type, itemId: events[e]!.itemId, title: events[e]!.title, contribution, text: textOf(e) })))
  }
  return out
}
