// The demo's store servers, as a Vite plugin: one plain, NON-personalized backend per store (demo/stores.ts,
// and each catalog uploaded from the page), each over its own catalog with its own catalog pack. A store
// server knows its catalog and aggregate popularity, never the shopper. Endpoints (JSON):
//   GET  /api/store                        the stores this demo serves, with their packs (name@version)
//   GET  /api/<store>/store                the store's departments and counts
//   GET  /api/<store>/category?dept=&limit= a department's items by popularity ('' = the whole store)
//   GET  /api/<store>/search?q=&limit=     BM25 over item text (the store's ordinary search)
//   GET  /api/<store>/shoppers             a few real test users of the dataset, for the simulator
//   GET  /api/<store>/replay?count=        the first `count` test users with 3-20 purchases, for the holdout demo
//   POST /api/upload                       a catalog (+ optional events CSV) → a new store and its pack
//   GET  /api/upload/<id>                  that upload's progress
//   GET  /packs/<store>/…                  the store's catalog pack (demo/packs.ts)
// Popularity = how often an item occurs in the training histories (valid.inter's history lists).
import { join } from 'node:path'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Plugin } from 'vite'
import { BM25 } from '../eval/bm25.js'
import { catalogItem, loadDataset, type Row } from '../eval/data.js'
import type { PackManifest } from '../src/pack/format.js'
import type { Product } from './src/catalog-file'
import { ensurePack, packFiles, textVectorsSetting, type PackState, type TextVectors } from './packs.js'
import { MODEL, STORES, type StoreInfo } from './stores.js'
import { forgetUploads, handleUpload, uploadStatus } from './uploads.js'

export interface Shopper {
  id: string
  label: string
  history: Product[]
  /** The purchase the dataset held out (test target): where does it land? */
  next: Product
}

const department = (p: Product) => p.category[1] ?? 'Other'

// Words that say nothing about a shopper's taste, for labelling shoppers of a catalog without departments.
const STOP = new Set('with from pack for and the ounce ounces fluid inch inches count size long high free ultra professional natural piece pieces pcs black white color colors'.split(' '))

export class Store {
  readonly products: Product[]
  readonly popularity: Float64Array
  private byPopularity: number[]
  private readonly bm25: BM25
  private testRows: Row[]

  /** `prices`: id → price, for catalogs that have them (an uploaded file). */
  constructor(dir: string, prices?: Map<string, number>) {
    const ds = loadDataset(dir, ['test'])
    this.products = ds.items.map((r) => {
      const p: Product = catalogItem(r, 280)
      const price = prices?.get(p.id)
      return price === undefined ? p : { ...p, price }
    })
    this.popularity = ds.pop
    // Ties keep catalog order, so the server's order is stable.
    this.byPopularity = this.products.map((_, i) => i).sort((a, b) => this.popularity[b]! - this.popularity[a]! || a - b)
    // The same BM25 as eval's search protocol; the title counts twice: the store's search favours title matches.
    this.bm25 = new BM25(ds.items.map((r) => [r.title, r.title, r.brand ?? '', r.categories.slice(1).join(' '), r.description ?? ''].join(' ')))
    this.testRows = ds.splits.test!
  }

  /** Departments (the second level of the category path) with enough items to be a page; none when the
   * catalog has one root category and nothing below it (Beauty): the page then shows the whole store. */
  departments() {
    const counts = new Map<string, number>()
    for (const p of this.products) counts.set(department(p), (counts.get(department(p)) ?? 0) + 1)
    const least = this.products.length >= 1000 ? 25 : 1
    return [...counts].filter(([name, n]) => n >= least && name !== 'Other').sort((a, b) => b[1] - a[1]).map(([name, count]) => ({ name, count }))
  }

  /** The root categories, for a page that has no departments to list. */
  roots() {
    return [...new Set(this.products.map((p) => p.category[0]).filter((c): c is string => !!c))].slice(0, 5)
  }

  category(dept: string, limit: number): Product[] {
    return this.byPopularity.filter((i) => !dept || department(this.products[i]!) === dept).slice(0, limit).map((i) => this.products[i]!)
  }

  search(q: string, limit: number): Product[] {
    const s = this.bm25.scores(q)
    const hits = [...s.keys()].filter((doc) => s[doc]! > 0)
    return hits.sort((x, y) => s[y]! - s[x]! || this.popularity[y]! - this.popularity[x]! || x - y).slice(0, limit).map((doc) => this.products[doc]!)
  }

  /**
   * Test users with 8–20 purchases and a visible taste: mostly one department, or in a catalog without
   * departments, one word in most of their titles ("nail", "hair"). Small catalogs (an upload) take any
   * test user with a history when too few qualify.
   */
  /** The first `count` test users with 3-20 purchases, in the split's order: no choice by taste (the holdout demo). */
  replay(count: number): Shopper[] {
    return this.testRows
      .filter((row) => row.hist.length >= 3 && row.hist.length <= 20)
      .slice(0, count)
      .map((row) => ({ id: row.user, label: `#${row.user}`, history: row.hist.map((i) => this.products[i]!), next: this.products[row.target]! }))
  }

  shoppers(count = 8): Shopper[] {
    const picked: Shopper[] = []
    const seen = new Set<string>()
    const withDepartments = this.departments().length > 0
    const taste = (hist: number[]): [string, number] | undefined => {
      const keys = withDepartments
        ? hist.map((i) => [department(this.products[i]!)])
        : hist.map((i) => [...new Set(this.products[i]!.title.toLowerCase().match(/[a-z]{4,}/g) ?? [])].filter((w) => !STOP.has(w)))
      const n = new Map<string, number>()
      for (const ks of keys) for (const k of ks) n.set(k, (n.get(k) ?? 0) + 1)
      const top = [...n].filter(([k]) => k !== 'Other').sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]
      return top && [top[0], top[1] / hist.length]
    }
    const shopper = (row: Row, label: string): Shopper => ({
      id: row.user,
      label: `#${row.user} · ${label}${label ? ' · ' : ''}${row.hist.length} purchases`,
      history: row.hist.map((i) => this.products[i]!),
      next: this.products[row.target]!,
    })
    for (const row of this.testRows) {
      if (row.hist.length < 8 || row.hist.length > 20) continue
      const top = taste(row.hist)
      if (!top || top[1] < (withDepartments ? 0.6 : 0.5) || seen.has(top[0])) continue
      seen.add(top[0])
      picked.push(shopper(row, withDepartments ? top[0] : `“${top[0]}”`))
      if (picked.length === count) return picked
    }
    if (this.products.length < 1000)
      for (const row of this.testRows) {
        if (picked.length === count) break
        if (row.hist.length >= 2 && !picked.some((s) => s.id === row.user)) picked.push(shopper(row, ''))
      }
    return picked
  }
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' })
  res.end(JSON.stringify(body))
}

const clamp = (v: string | null, def: number) => Math.max(1, Math.min(200, Number(v) || def))

/** A store this server runs: its catalog (loaded on first use) and its pack (built at start). */
export interface StoreEntry {
  info: StoreInfo
  dir: string
  textVectors: TextVectors
  /** An upload's files, converted into `dir` by the pack job. */
  convert?: { events: string; items: string }
  pack: PackState
  packReady: Promise<PackManifest>
  prices?: Map<string, number>
  store?: Store
  /** An uploaded catalog (not one of demo/stores.ts). */
  uploaded?: boolean
}

export type Registry = Map<string, StoreEntry>

/** Registers a store and starts building its pack (one build at a time: the machine may be small). */
let queue: Promise<unknown> = Promise.resolve()
export function addStore(registry: Registry, entry: Omit<StoreEntry, 'pack' | 'packReady'>): StoreEntry {
  const pack: PackState = { state: 'building', log: [] }
  const packReady = queue.then(() => ensurePack(entry.info.id, { data: entry.dir, model: MODEL, textVectors: entry.textVectors, ...(entry.convert ? { convert: entry.convert } : {}) }, pack))
  queue = packReady.catch(() => {})
  packReady.catch((e: Error) => console.error(`inpage demo: the pack of ${entry.info.id} failed: ${e.message}`))
  const full: StoreEntry = { ...entry, pack, packReady }
  registry.set(entry.info.id, full)
  return full
}

export const packInfo = (e: StoreEntry) => {
  const m = e.pack.manifest
  return {
    state: e.pack.state,
    url: `/packs/${e.info.id}/`,
    ...(m ? { name: m.name, version: m.version, id: `${m.name}@${m.version}`, items: m.items, textVectors: m.textVectors, model: m.model, shards: m.shards.count, users: m.aggregates.users, events: m.aggregates.events } : {}),
    ...(e.pack.error ? { error: e.pack.error } : {}),
  }
}

/** Connect middleware for /api/* and /packs/*; each store's catalog loads on first use. */
export function storeApi(dataDir: string) {
  const registry: Registry = new Map()
  const textVectors = textVectorsSetting()
  forgetUploads()
  for (const info of STORES) addStore(registry, { info, dir: join(dataDir, info.dataset), textVectors })
  const packs = packFiles((id) => registry.get(id)?.packReady)

  return (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const url = new URL(req.url ?? '/', 'http://store')
    if (url.pathname.startsWith('/packs/')) return packs(req, res, next)
    if (!url.pathname.startsWith('/api/')) return next()
    const parts = url.pathname.split('/').slice(2)
    if (url.pathname === '/api/store')
      return send(res, 200, {
        stores: [...registry.values()].map((e) => ({ id: e.info.id, name: e.info.name, tagline: e.info.tagline, source: e.info.source, uploaded: !!e.uploaded, pack: packInfo(e) })),
      })
    if (parts[0] === 'upload') {
      if (req.method === 'POST' && parts.length === 1) return void handleUpload(req, res, registry, send)
      if (req.method === 'GET' && parts.length === 2) return uploadStatus(parts[1]!, res, registry, send)
      return send(res, 405, { error: 'POST /api/upload, or GET /api/upload/<id>' })
    }
    const entry = registry.get(parts[0] ?? '')
    if (!entry) return send(res, 404, { error: `no store "${parts[0]}"` })
    if (entry.uploaded && entry.pack.state !== 'ready') return send(res, 409, { error: `${entry.info.name} is not ready: its pack is ${entry.pack.state}` })
    let store: Store
    try {
      store = entry.store ??= new Store(entry.dir, entry.prices)
    } catch (e) {
      return send(res, 500, { error: `cannot read the catalog in ${entry.dir} (set INPAGE_DATA): ${(e as Error).message}` })
    }
    const q = url.searchParams
    switch (parts[1]) {
      case 'store':
        return send(res, 200, { id: entry.info.id, name: entry.info.name, tagline: entry.info.tagline, source: entry.info.source, uploaded: !!entry.uploaded, items: store.products.length, departments: store.departments(), roots: store.roots(), pack: packInfo(entry) })
      case 'category':
        return send(res, 200, { items: store.category(q.get('dept') ?? '', clamp(q.get('limit'), 60)) })
      case 'search':
        return send(res, 200, { items: store.search(q.get('q') ?? '', clamp(q.get('limit'), 60)) })
      case 'shoppers':
        return send(res, 200, { shoppers: store.shoppers() })
      case 'replay':
        return send(res, 200, { shoppers: store.replay(clamp(q.get('count'), 24)) })
      default:
        return send(res, 404, { error: 'no such endpoint' })
    }
  }
}

export function storeServer(dataDir: string): Plugin {
  // One set of stores per server process (`vite` or `vite preview`), built when the server starts.
  let api: ReturnType<typeof storeApi> | undefined
  return {
    name: 'inpage-demo-store',
    configureServer(server) {
      server.middlewares.use((api ??= storeApi(dataDir)))
    },
    configurePreviewServer(server) {
      server.middlewares.use((api ??= storeApi(dataDir)))
    },
  }
}
