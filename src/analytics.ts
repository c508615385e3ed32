// Events for the store's own analytics: what a list showed (impression) and which item of it the
// shopper chose (select), with the experiment's arm. They carry only what the page already has (the
// list's name, item ids, positions) plus the arm; inpage itself sends nothing anywhere. The GA4 bridge
// (opt-in) writes them to the page's own `window.dataLayer`, where the site's tags pick them up.

import type { Variant } from './experiment'
import type { RerankResult } from './ranking/types'
import type { TrackEvent } from './core/types'
import { boolean, defineOptions } from './core/validate'

export interface ImpressionEvent {
  /** The list's name: the rerank() call's `surface` ('default' without one). */
  list: string
  /** The arm that ran (with an experiment), else 'personalized'. */
  variant: Variant
  /** The list as shown, first first: item id and its 0-based position. */
  items: { id: string; position: number }[]
}

export interface SelectEvent {
  list: string
  variant: Variant
  itemId: string
  /** 0-based position of the item in that list's latest impression. */
  position: number
}

export interface AnalyticsOptions {
  /**
   * Push GA4's recommended ecommerce events to `window.dataLayer`: `view_item_list` per impression and
   * `select_item` per select, `item_list_id` the list, `item_list_name` "<list>:<variant>". Default false.
   */
  ga4?: boolean
}

/** GA4 takes at most 200 items per event. */
export const GA4_MAX_ITEMS = 200

export const analyticsOptions = defineOptions<AnalyticsOptions>('analytics', { ga4: boolean() })

/** The `analytics` option, checked: InvalidOptionsError for a bad or unknown key. */
export function validateAnalytics(raw: unknown, path = 'analytics'): AnalyticsOptions {
  return raw === undefined ? {} : analyticsOptions.parse(raw, path)
}

type Emit = { impression: (e: ImpressionEvent) => void; select: (e: SelectEvent) => void }

/** Each list's latest impression, to give a select its position and arm. */
export class Analytics {
  private lists = new Map<string, ImpressionEvent>()
  constructor(
    private readonly emit: Emit,
    private readonly options: AnalyticsOptions = {},
  ) {}

  impression(result: RerankResult, surface: string | undefined, variant: Variant) {
    const e: ImpressionEvent = { list: surface || 'default', variant, items: result.items.map((it, position) => ({ id: it.id, position })) }
    // Newest last, so a select without a list name finds the latest list that showed its item.
    this.lists.delete(e.list)
    this.lists.set(e.list, e)
    this.emit.impression(e)
    if (this.options.ga4)
      pushDataLayer({
        event: 'view_item_list',
        ecommerce: {
          item_list_id: e.list,
          item_list_name: `${e.list}:${e.variant}`,
          items: e.items.slice(0, GA4_MAX_ITEMS).map((it) => ({ item_id: it.id, index: it.position, item_list_id: e.list, item_list_name: `${e.list}:${e.variant}` })),
        },
      })
  }

  /** A tracked click on an item a list showed: its list (the event's surface, else the latest list with it) and position. */
  track(ev: Pick<TrackEvent, 'type' | 'itemId' | 'surface'>) {
    if (ev.type !== 'click' || !ev.itemId) return
    const named = ev.surface ? this.lists.get(ev.surface) : undefined
    const shown = named?.items.some((i) => i.id === ev.itemId) ? named : [...this.lists.values()].reverse().find((l) => l.items.some((i) => i.id === ev.itemId))
    if (!shown) return
    const position = shown.items.find((i) => i.id === ev.itemId)!.position
    const e: SelectEvent = { list: shown.list, variant: shown.variant, itemId: ev.itemId, position }
    this.emit.select(e)
    if (this.options.ga4)
      pushDataLayer({
        event: 'select_item',
        ecommerce: {
          item_list_id: e.list,
          item_list_name: `${e.list}:${e.variant}`,
          items: [{ item_id: e.itemId, index: e.position, item_list_id: e.list, item_list_name: `${e.list}:${e.variant}` }],
        },
      })
  }

  /** forget() and a denial: the lists shown so far named items of this shopper's page. */
  clear() {
    this.lists.clear()
  }
}

/** Google's documented pattern: clear the previous ecommerce object, then push the event. */
function pushDataLayer(event: object) {
  const w = globalThis as unknown as { dataLayer?: unknown[] }
  const dl = (w.dataLayer ??= [])
  if (!Array.isArray(dl)) return
  dl.push({ ecommerce: null })
  dl.push(event)
}
