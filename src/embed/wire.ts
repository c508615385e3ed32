// Data-attribute wiring for the script tag: tracks marked items on view and click, and reorders
// marked lists in place by moving their own DOM nodes. Uses only inpage's public API.

import type { Candidate, Recommender, RerankOptions, RerankResult, TrackEvent } from '../index'
import { LIMITS } from '../history/events'
import { parseCategoryPath } from '../ranking/text'
import { defaults } from '../core/defaults'
import { defineOptions, number } from '../core/validate'

export interface WireOptions {
  /** How long an item must stay at least half visible before it counts as viewed. Default 1000. */
  dwellMs?: number
  /** Budget of each list's rerank() (a list's `data-budget-ms` wins). Default: the library's. */
  budgetMs?: number
}

const wireOptions = defineOptions<WireOptions>('wire options', { dwellMs: number({ min: 0 }), budgetMs: number({ min: 0 }) })

export interface Embed {
  /**
   * Reorders every `[data-inpage-rerank]` list now (e.g. after the page added items). One result per
   * list, in document order; `undefined` for a list with no usable item or one rerank() refused.
   */
  refresh(): Promise<(RerankResult | undefined)[]>
  /** Reorders one marked list now (what `<inpage-list>` calls when it is added or its attributes change). */
  rerank(list: HTMLElement): Promise<RerankResult | undefined>
  /** Stops tracking and observing. Lists keep their order. */
  stop(): void
}

const ITEM = '[data-inpage-item]'
const LIST = '[data-inpage-rerank]'
const CLICK_KINDS = ['click', 'add_to_cart', 'purchase'] as const

/** The public fields a page wrote on an item element. Never reads its text content. */
export function candidateFromElement(el: HTMLElement): Candidate {
  const d = el.dataset
  const c: Candidate = { id: d.inpageItem!, title: d.title ?? '' }
  if (d.brand) c.brand = d.brand
  if (d.category) c.category = parseCategoryPath(d.category)
  const price = parseFloat(d.price ?? '')
  if (Number.isFinite(price) && price >= 0) c.price = price
  if (d.pinned !== undefined) c.pinned = true
  if (d.sponsored !== undefined) c.sponsored = true
  return c
}

function surfaceOf(el: Element): string {
  const holder = el.closest<HTMLElement>('[data-inpage-surface],' + LIST)
  return holder?.dataset.inpageSurface ?? holder?.dataset.inpageRerank ?? 'page'
}

const warned = new WeakSet<Element>()

function track(rec: Recommender, el: HTMLElement, type: TrackEvent['type']) {
  // Item elements with missing or bad fields (no data-title, an empty or over-long id) are the page's
  // bug: say so once per element, and never throw into the page's own handlers.
  const skip = (e: unknown) => {
    if (warned.has(el)) return
    warned.add(el)
    console.warn(`inpage: an item element was not tracked: ${(e as Error)?.name}: ${(e as Error)?.message}`, el)
  }
  try {
    const { id, title, brand, category, price } = candidateFromElement(el)
    rec.track({ type, itemId: id, item: { title, brand, category, price }, surface: surfaceOf(el) }).catch(skip)
  } catch (e) {
    skip(e)
  }
}

/**
 * Moves the list's item children into `order` (ids), keeping every other child where it was: each
 * item's slot is held by a marker while the nodes move, so the nodes themselves survive.
 */
export function reorder(list: Element, order: string[]) {
  const items = [...list.children].filter((c): c is HTMLElement => c instanceof HTMLElement && c.matches(ITEM))
  const byId = new Map(items.map((el) => [el.dataset.inpageItem!, el]))
  const next = order.map((id) => byId.get(id)).filter((el): el is HTMLElement => !!el)
  for (const el of items) if (!next.includes(el)) next.push(el)
  if (next.every((el, i) => el === items[i])) return
  const marks = items.map((el) => {
    const m = document.createComment('')
    el.before(m)
    return m
  })
  marks.forEach((m, i) => m.replaceWith(next[i]!))
}

function inView(el: Element) {
  const r = el.getBoundingClientRect()
  return r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth
}

export function wire(rec: Recommender, raw: WireOptions = {}, root: Document = document): Embed {
  const options = wireOptions.parse(raw)
  const dwellMs = options.dwellMs ?? defaults.dwellMs
  const timers = new Map<Element, ReturnType<typeof setTimeout>>()
  const viewed = new WeakSet<Element>()
  const watched = new WeakSet<Element>()
  const io = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        const el = e.target as HTMLElement
        clearTimeout(timers.get(el))
        timers.delete(el)
        if (e.isIntersecting && e.intersectionRatio >= 0.5 && !viewed.has(el))
          timers.set(
            el,
            setTimeout(() => {
              timers.delete(el)
              viewed.add(el)
              track(rec, el, 'view')
            }, dwellMs),
          )
      }
    },
    { threshold: [0, 0.5] },
  )
  const scan = (node: ParentNode) => {
    const found = [...node.querySelectorAll<HTMLElement>(ITEM)]
    if (node instanceof HTMLElement && node.matches(ITEM)) found.push(node)
    for (const el of found) if (!watched.has(el)) watched.add(el), io.observe(el)
  }
  // Clicks inside an item: `data-inpage-event="add_to_cart|purchase"` on a button says which kind.
  const onClick = (ev: Event) => {
    const t = ev.target instanceof Element ? ev.target : null
    const el = t?.closest<HTMLElement>(ITEM)
    if (!el) return
    const kind = t!.closest<HTMLElement>('[data-inpage-event]')?.dataset.inpageEvent as (typeof CLICK_KINDS)[number] | undefined
    track(rec, el, kind && CLICK_KINDS.includes(kind) ? kind : 'click')
  }
  root.addEventListener('click', onClick, true)
  const mo = new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) if (n instanceof HTMLElement) scan(n)
  })

  async function rerankList(list: HTMLElement, retry: boolean): Promise<RerankResult | undefined> {
    const d = list.dataset
    // Items without a title, with an empty or over-long id, or repeating an id cannot be ranked: they
    // keep to the end of the list instead of stopping the whole list.
    const ids = new Set<string>()
    const candidates = [...list.children]
      .filter((c): c is HTMLElement => c instanceof HTMLElement && c.matches(ITEM))
      .map(candidateFromElement)
      .filter((c) => c.id.trim() && c.id.length <= LIMITS.id && c.title.trim() && !ids.has(c.id) && ids.add(c.id))
    if (!candidates.length) return undefined
    const o: RerankOptions = { surface: d.inpageRerank || 'category' }
    if (d.query) o.query = d.query
    const budget = Number(d.budgetMs ?? options.budgetMs)
    if (Number.isFinite(budget) && budget >= 0) o.budgetMs = budget
    const k = Number(d.k)
    if (Number.isInteger(k) && k > 0) o.k = k
    const w = Number(d.personalWeight)
    if (d.personalWeight && w >= 0 && w <= 1) o.personalWeight = w
    if (d.popularityPrior === 'false') o.popularityPrior = false
    let result: RerankResult
    try {
      result = await rec.rerank(candidates, o)
    } catch (e) {
      // Bad markup (e.g. duplicate ids) is the page's bug: say so, keep the page's order.
      console.warn('inpage: a list was not reranked:', e)
      return undefined
    }
    reorder(list, result.items.map((i) => i.id))
    list.dispatchEvent(new CustomEvent('inpage:reranked', { detail: result, bubbles: true }))
    // The model was still loading: reorder once more when it is ready, unless the shopper is
    // already looking at the list (never move what is on screen).
    // A search list waits for the text encoder too (with a catalog pack it loads at the first query).
    if (retry && result.why === 'warming-up')
      rec.warmUp(o.query ? { encoder: true } : undefined).then(
        () => (inView(list) ? undefined : rerankList(list, false)),
        () => {},
      )
    return result
  }

  const refresh = () => Promise.all([...root.querySelectorAll<HTMLElement>(LIST)].map((l) => rerankList(l, true)))

  const start = () => {
    scan(root)
    mo.observe(root.documentElement, { childList: true, subtree: true })
  }
  if (root.readyState === 'loading') root.addEventListener('DOMContentLoaded', start, { once: true })
  else start()

  return {
    refresh,
    rerank: (list) => rerankList(list, true),
    stop() {
      io.disconnect()
      mo.disconnect()
      root.removeEventListener('click', onClick, true)
      for (const t of timers.values()) clearTimeout(t)
      timers.clear()
    },
  }
}
