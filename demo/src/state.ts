// The demo's shared state: the current store and its recommender, the page's view and rerank, the
// simulated shopper, the knobs, the requests log; the one way to the store server (`api`), and the
// hooks by which a panel reaches one above it. Every panel imports this file; it imports no panel.
import type { Candidate, ConsentState, Recommender, RerankResult } from 'inpage'
import type { Product } from './catalog-file'
import type { Shopper } from '../store'

export const SHOWN = 20
export const CANDIDATES = 60

/** A store's pack as its server describes it (GET /api/store). */
export interface PackInfo {
  state: 'building' | 'ready' | 'error'
  url: string
  id?: string
  name?: string
  version?: string
  items?: number
  textVectors?: 'int8' | 'none'
  users?: number
  events?: number
  error?: string
}
export interface StoreSummary {
  id: string
  name: string
  tagline: string
  source: string
  uploaded: boolean
  pack: PackInfo
}
export interface StorePage extends StoreSummary {
  items: number
  /** Rows with a junk title the store server does not list. */
  hidden?: number
  departments: { name: string; count: number }[]
  roots: string[]
}

/** One recommender per store: `name` keeps each store's shopper history apart; `catalog` is its pack. */
export let rec: Recommender
/** Only stores.ts, when it opens a store, sets it. */
export function setRec(r: Recommender) {
  rec = r
}

export const state = {
  stores: [] as StoreSummary[],
  store: undefined as StorePage | undefined,
  /** The catalog file read in the tab: its file name, the store name it suggests, its products. */
  upload: undefined as { name: string; storeName: string; items: Product[]; skipped: number; format: string } | undefined,
  view: { kind: 'dept', dept: '' } as { kind: 'dept'; dept: string } | { kind: 'search'; q: string },
  candidates: [] as Product[],
  result: undefined as RerankResult | undefined,
  knobs: { personalWeight: 0.8, lambda: 1, maxPerCategory: 0, popularityPrior: true, calibration: 0.2 }, // the library's defaults without a query
  shoppers: [] as Shopper[],
  shopper: undefined as Shopper | undefined,
  step: 0,
  playing: undefined as ReturnType<typeof setInterval> | undefined,
  requests: [] as string[],
  /** Every request this page sent to the store server, by method (the strip's privacy line). */
  sent: { get: 0, post: 0 },
  /** The last rerank went over budget and was tried again. */
  retried: false,
}

/**
 * The calls that go up the panel order (state < status < why < lists < simulator < privacy < tuning < stores
 * < own-catalog < main): a panel imports only panels below it, and reaches one above through here.
 * main.ts sets them before anything runs; an unset one throws, so a missed wiring is not silent.
 */
export interface Hooks {
  /** privacy.ts: the requests log in the privacy panel, after each request (from `api`). */
  renderRequests(): void
  /** simulator.ts: where the shopper's next purchase sits, after the lists re-render (from lists.ts). */
  renderNextPurchase(): void
  /** privacy.ts: the stored history, after the simulator resets its shopper. */
  renderPrivacy(): Promise<void>
}
const unset = (name: string) => () => {
  throw new Error(`demo: hooks.${name} is not wired (main.ts)`)
}
export const hooks: Hooks = { renderRequests: unset('renderRequests'), renderNextPurchase: unset('renderNextPurchase'), renderPrivacy: unset('renderPrivacy') }

/** Every request this page sends to the store server, logged for the privacy panel. */
export async function api<T>(path: string, post?: { body: string; note: string }): Promise<T> {
  const line = post ? `POST ${path} · ${post.note}` : `GET ${path}`
  state.sent[post ? 'post' : 'get']++
  // Repeats (an upload's progress, polled) are counted on one line.
  const last = /^(.*?)(?: ×(\d+))?$/.exec(state.requests[0] ?? '')!
  if (last[1] === line) state.requests[0] = `${line} ×${Number(last[2] ?? 1) + 1}`
  else state.requests.unshift(line)
  state.requests.length = Math.min(state.requests.length, 8)
  hooks.renderRequests()
  const res = await fetch(path, post ? { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: post.body } : {})
  const body = await res.json()
  if (!res.ok) throw new Error(body.error ?? `${path}: ${res.status}`)
  return body as T
}

/** The current store's own server. */
export const storeApi = <T>(path: string) => api<T>(`/api/${state.store!.id}/${path}`)

// `pack`: the record the store's server attached (demo/store-server.ts), so the worker fetches no shard for it.
export const toCandidate = (p: Product & { pack?: Candidate['pack'] }): Candidate => ({
  id: p.id,
  title: p.title,
  ...(p.brand ? { brand: p.brand } : {}),
  category: p.category,
  ...(p.description ? { description: p.description } : {}),
  ...(p.price !== undefined ? { price: p.price } : {}),
  ...(p.pack ? { pack: p.pack } : {}),
})

/**
 * The shopper's consent choice per store, kept as the store's consent platform would keep it (the store's
 * own localStorage, not inpage's): inpage remembers a grant itself, but "Off" keeps nothing, so without
 * this a reload would ask again.
 */
export const consentChoice = {
  key: (store: string) => `demo-consent:${store}`,
  get(store: string): ConsentState | undefined {
    const v = localStorage.getItem(this.key(store))
    return v === 'denied' || v === 'pending' || v === 'granted' ? v : undefined
  },
  set(store: string, v: ConsentState) {
    localStorage.setItem(this.key(store), v)
  },
}

export const snapshot = (p: Product) => ({ title: p.title, brand: p.brand, category: p.category, price: p.price })
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`
