// Reasons: which history events raised an item's personal score. Faithful by construction: a reason's
// contribution is the exact drop of the personal score when that one event is left out.

import type { EventType } from '../types'
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
 */
export function explain(
  full: readonly number[],
  without: readonly (readonly number[])[],
  events: readonly HistoryItemEvent[],
  candidates: readonly number[],
  maxReasons = 2,
  minContribution = 1e-6,
): Map<number, Reason[]> {
  const out = new Map<number, Reason[]>()
  for (const i of candidates) {
    const best = new Map<string, Reason>() // one reason per (event type, item)
    events.forEach((ev, e) => {
      const contribution = full[i]! - without[e]![i]!
      if (!(contribution > minContribution)) return
      const key = `${ev.type}|${ev.itemId}`
      if ((best.get(key)?.contribution ?? -Infinity) >= contribution) return
      best.set(key, { eventType: ev.type, itemId: ev.itemId, title: ev.title, contribution, text: reasonText(ev) })
    })
    out.set(i, [...best.values()].sort((a, b) => b.contribution - a.contribution).slice(0, maxReasons))
  }
  return out
}
