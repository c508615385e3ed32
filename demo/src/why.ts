// "Why this order": which of the shopper's history events moved the shown list most. Each bar sums the exact
// leave-one-out drops (a reason's `contribution`) of the moved-up items that cite the event, so the view says no
// more than the reasons beside each item do. Reads the last rerank result only; after each one, lists.ts calls it.
import type { Reason, RerankResult } from 'inpage'
import { decode, h } from './dom'
import { SHOWN, plural, state } from './state'

const VERB: Record<string, string> = { view: 'viewed', click: 'opened', add_to_cart: 'added to cart', purchase: 'bought', search: 'searched for', dwell: 'looked at' }
const KIND: Record<Reason['kind'], string> = { similar: 'similar items', 'bought-together': 'often bought together' }

export interface EventLift {
  itemId: string
  eventType: string
  title: string
  /** Moved-up items in view whose reasons cite this event. */
  items: number
  /** The sum of their cited drops (personal-score units). */
  lift: number
  kinds: Set<Reason['kind']>
}

/** Per cited history event, the items it lifted in the first `shown` places and their summed drops, largest first. */
export function eventLifts(res: RerankResult, shown = SHOWN): EventLift[] {
  const by = new Map<string, EventLift>()
  res.items.slice(0, shown).forEach((it, pos) => {
    if (pos >= it.serverRank) return // only what moved up carries reasons
    for (const r of it.reasons) {
      const key = `${r.eventType}|${r.itemId}`
      let e = by.get(key)
      if (!e) by.set(key, (e = { itemId: r.itemId, eventType: r.eventType, title: r.title, items: 0, lift: 0, kinds: new Set() }))
      e.items++
      e.lift += r.contribution
      e.kinds.add(r.kind)
    }
  })
  return [...by.values()].sort((a, b) => b.lift - a.lift || b.items - a.items)
}

export function renderWhyOrder() {
  const el = document.getElementById('why-order')
  if (!el) return
  const res = state.result
  const head = h('h3', { id: 'why-order-h' }, 'Why this order')
  if (!res?.personalized || state.knobs.personalWeight === 0) return el.replaceChildren(head, h('p', { class: 'muted small', 'data-testid': 'why-order-empty' }, 'Nothing in this shopper’s history moved the list yet.'))
  const lifts = eventLifts(res)
  const total = lifts.reduce((s, e) => s + e.lift, 0)
  const top = lifts.slice(0, 5)
  const more = lifts.length > top.length ? h('p', { class: 'muted small' }, `${plural(lifts.length - top.length, 'more event')} cited.`) : ''
  el.replaceChildren(
    head,
    h('p', { class: 'muted small' }, `The history events that moved the top ${SHOWN} most: each bar is the score the cited items lose when that one event is left out.`),
    top.length
      ? h(
          'ol',
          { class: 'why-events', 'data-testid': 'why-order', style: 'list-style:none;padding:0;margin:0' },
          ...top.map((e) => {
            const bar = h('div', { style: `height:6px;border-radius:3px;background:#2f6fdf;width:${Math.max(4, (100 * e.lift) / top[0]!.lift).toFixed(0)}%` })
            return h(
              'li',
              { 'data-testid': 'why-event', 'data-item-id': e.itemId, 'data-lift': e.lift.toFixed(6), 'data-items': e.items, style: 'margin:0 0 10px' },
              h('div', { class: 'small', title: decode(e.title) }, `You ${VERB[e.eventType] ?? e.eventType} ‘${decode(e.title).slice(0, 60)}’`),
              bar,
              h('div', { class: 'muted small' }, `${plural(e.items, 'item')} up · ${total > 0 ? Math.round((100 * e.lift) / total) : 0}% of the cited lift · ${[...e.kinds].map((k) => KIND[k]).join(', ')}`),
            )
          }),
        )
      : h('p', { class: 'muted small', 'data-testid': 'why-order-empty' }, 'No item moved up with a reason that holds.'),
    more,
  )
}
