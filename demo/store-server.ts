// The demo's store servers, as a Vite plugin: one plain, NON-personalized backend per store (demo/stores.ts,
// and each catalog uploaded from the page), each over its own catalog with its own catalog pack. A store
// server knows its catalog and aggregate popularity, never the shopper. Endpoints (JSON):
//   GET  /api/store                        the stores this demo serves, with their packs (name@version)
//   GET  /api/<store>/store                the store's departments and counts
//   GET  /api/<store>/category?dept=&limit= a department's items by popularity ('' = the whole store)
//   GET  /api/<store>/search?q=&limit=     BM25 over item text (the store's ordinary search)
//   GET  /api/<store>/shoppers             a few real test users of the dataset, for the simulator
//   GET  /api/<store>/replay?count=        the first `count` test users with 3-20 purchases, for the holdout demo
//   GET  /api/<store>/uplift?count=       the first `count` test users (all without it) as eval's category protocol sees them, for the uplift view (items with their pack records)
//   POST /api/upload                       a catalog (+ optional events CSV) → a new store and its pack
//   GET  /api/upload/<id>                  that upload's progress
//   GET  /packs/<store>/…                  the store's catalog pack (demo/packs.ts)
// Popularity = how often an item occurs in the training histories (valid.inter's history lists).
// The category and search answers carry each item's pack record (`pack`, read and verified with openPack
// from catalog/read.ts), as a store's server attaches them to its candidates: the browser then fetches no
// shard for the page (the recommended path; docs/catalog-pack.md). Until the pack is built they go without.
import { join } from 'node:path'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Plugin } from 'vite'
import { openPack, type OpenPack } from '../catalog/read.js'
import type { PackRecord } from '../src/pack/format.js'
import { PACKS_DIR, packFiles, textVectorsSetting } from './packs.js'
import { addStore, packInfo, type Registry, type StoreEntry } from './registry.js'
import { Store } from './store.js'
import { STORES } from './stores.js'
import { forgetUploads, handleUpload, uploadStatus } from './uploads.js'

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' })
  res.end(JSON.stringify(body))
}

const clamp = (v: string | null, def: number) => Math.max(1, Math.min(200, Number(v) || def))

/** Connect middleware for /api/* and /packs/*; each store's catalog loads on first use. */
export function storeApi(dataDir: string) {
  const registry: Registry = new Map()
  const textVectors = textVectorsSetting()
  forgetUploads()
  for (const info of STORES) addStore(registry, { info, dir: join(dataDir, info.dataset), textVectors })
  const packs = packFiles((id) => registry.get(id)?.packReady)
  // One reader per store and pack version (a rebuilt pack is opened again); shards are read once, verified.
  const readers = new Map<string, { version: string; pack: OpenPack }>()
  const withRecords = <T extends { id: string }>(entry: StoreEntry, items: T[]): (T & { pack?: PackRecord })[] => {
    const m = entry.pack.manifest
    if (entry.pack.state !== 'ready' || !m) return items
    try {
      let r = readers.get(entry.info.id)
      if (r?.version !== m.version) readers.set(entry.info.id, (r = { version: m.version, pack: openPack(join(PACKS_DIR, entry.info.id)) }))
      const pack = r.pack
      return items.map((p) => {
        const rec = pack.record(p.id)
        return rec ? { ...p, pack: rec } : p
      })
    } catch (e) {
      // A pack that does not verify is never attached: the browser reads (and refuses) it itself.
      console.error(`inpage demo: the pack of ${entry.info.id} cannot be attached: ${(e as Error).message}`)
      readers.delete(entry.info.id)
      return items
    }
  }

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
      if (!entry.store) {
        entry.store = new Store(entry.dir, entry.prices)
        const hidden = entry.store.junk.reduce((n, j) => n + j, 0)
        // The log a store's team reads: rows the storefront will not list, and why.
        if (hidden) console.log(`inpage demo: ${entry.info.id}: ${hidden} rows with a junk title (markup or a category name) are not listed; histories keep them`)
      }
      store = entry.store
    } catch (e) {
      return send(res, 500, { error: `cannot read the catalog in ${entry.dir} (set INPAGE_DATA): ${(e as Error).message}` })
    }
    const q = url.searchParams
    switch (parts[1]) {
      case 'store':
        return send(res, 200, { id: entry.info.id, name: entry.info.name, tagline: entry.info.tagline, source: entry.info.source, uploaded: !!entry.uploaded, items: store.products.length, hidden: store.junk.reduce((n, j) => n + j, 0), departments: store.departments(), roots: store.roots(), pack: packInfo(entry) })
      case 'category':
        return send(res, 200, { items: withRecords(entry, store.category(q.get('dept') ?? '', clamp(q.get('limit'), 60))) })
      case 'search':
        return send(res, 200, { items: withRecords(entry, store.search(q.get('q') ?? '', clamp(q.get('limit'), 60))) })
      case 'shoppers':
        return send(res, 200, { shoppers: store.shoppers() })
      case 'uplift': {
        const n = Number(q.get('count'))
        const data = store.uplift(Number.isInteger(n) && n > 0 ? n : undefined)
        // Each item with its pack record, as the category answers: the replay fetches no shard for a page's items.
        return send(res, 200, { ...data, products: Object.fromEntries(withRecords(entry, Object.values(data.products)).map((p) => [p.id, p])) })
      }
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
