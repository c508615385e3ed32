// The demo's store server, as a Vite plugin: a plain, NON-personalized backend over the real catalog.
// It knows the catalog and aggregate popularity, never the shopper. Endpoints (JSON):
//   GET /api/store                    departments and counts
//   GET /api/category?dept=&limit=    a department's items by popularity ('' = the whole store)
//   GET /api/search?q=&limit=         BM25 over item text (the store's ordinary search)
//   GET /api/shoppers                 a few real test users of the dataset, for the simulator
// Popularity = how often an item occurs in the training histories (valid.inter's history lists).
import { join } from 'node:path'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Plugin } from 'vite'
import { BM25 } from '../eval/bm25.js'
import { catalogItem, loadDataset, type Row } from '../eval/data.js'
import type { Product } from './src/catalog-file'

export interface Shopper {
  id: string
  label: string
  history: Product[]
  /** The purchase the dataset held out (test target): where does it land? */
  next: Product
}

const department = (p: Product) => p.category[1] ?? 'Other'

export class Store {
  readonly products: Product[]
  readonly popularity: Float64Array
  private byPopularity: number[]
  private readonly bm25: BM25
  private testRows: Row[]

  constructor(dir: string) {
    const ds = loadDataset(dir, ['test'])
    this.products = ds.items.map((r) => catalogItem(r, 280))
    this.popularity = ds.pop
    // Ties keep catalog order, so the server's order is stable.
    this.byPopularity = this.products.map((_, i) => i).sort((a, b) => this.popularity[b]! - this.popularity[a]! || a - b)
    // The same BM25 as eval's search protocol; the title counts twice: the store's search favours title matches.
    this.bm25 = new BM25(ds.items.map((r) => [r.title, r.title, r.brand ?? '', r.categories.slice(1).join(' '), r.description ?? ''].join(' ')))
    this.testRows = ds.splits.test!
  }

  departments() {
    const counts = new Map<string, number>()
    for (const p of this.products) counts.set(department(p), (counts.get(department(p)) ?? 0) + 1)
    return [...counts].filter(([name, n]) => n >= 25 && name !== 'Other').sort((a, b) => b[1] - a[1]).map(([name, count]) => ({ name, count }))
  }

  category(dept: string, limit: number): Product[] {
    return this.byPopularity.filter((i) => !dept || department(this.products[i]!) === dept).slice(0, limit).map((i) => this.products[i]!)
  }

  search(q: string, limit: number): Product[] {
    const s = this.bm25.scores(q)
    const hits = [...s.keys()].filter((doc) => s[doc]! > 0)
    return hits.sort((x, y) => s[y]! - s[x]! || this.popularity[y]! - this.popularity[x]! || x - y).slice(0, limit).map((doc) => this.products[doc]!)
  }

  /** Test users with 8–20 purchases, mostly in one department: a visible taste, several departments. */
  shoppers(count = 8): Shopper[] {
    const picked: Shopper[] = []
    const seen = new Set<string>()
    for (const row of this.testRows) {
      if (row.hist.length < 8 || row.hist.length > 20) continue
      const depts = row.hist.map((i) => department(this.products[i]!))
      const top = [...new Set(depts)].map((d) => [d, depts.filter((x) => x === d).length] as const).sort((a, b) => b[1] - a[1])[0]!
      if (top[1] / depts.length < 0.6 || seen.has(top[0]) || top[0] === 'Other') continue
      seen.add(top[0])
      picked.push({
        id: row.user,
        label: `#${row.user} · ${top[0]} · ${row.hist.length} purchases`,
        history: row.hist.map((i) => this.products[i]!),
        next: this.products[row.target]!,
      })
      if (picked.length === count) break
    }
    return picked
  }
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' })
  res.end(JSON.stringify(body))
}

const clamp = (v: string | null, def: number) => Math.max(1, Math.min(200, Number(v) || def))

/** Connect middleware for /api/*; the Store loads on first use. */
export function storeApi(dataDir: string) {
  let store: Store | undefined
  return (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const url = new URL(req.url ?? '/', 'http://store')
    if (!url.pathname.startsWith('/api/')) return next()
    try {
      store ??= new Store(join(dataDir, 'amazon-scientific'))
    } catch (e) {
      return send(res, 500, { error: `cannot read the catalog in ${dataDir} (set INPAGE_DATA): ${(e as Error).message}` })
    }
    const q = url.searchParams
    switch (url.pathname) {
      case '/api/store':
        return send(res, 200, { name: 'Benchmark Supply Co.', items: store.products.length, departments: store.departments() })
      case '/api/category':
        return send(res, 200, { items: store.category(q.get('dept') ?? '', clamp(q.get('limit'), 60)) })
      case '/api/search':
        return send(res, 200, { items: store.search(q.get('q') ?? '', clamp(q.get('limit'), 60)) })
      case '/api/shoppers':
        return send(res, 200, { shoppers: store.shoppers() })
      default:
        return send(res, 404, { error: 'no such endpoint' })
    }
  }
}

export function storeServer(dataDir: string): Plugin {
  return {
    name: 'inpage-demo-store',
    configureServer(server) {
      server.middlewares.use(storeApi(dataDir))
    },
    configurePreviewServer(server) {
      server.middlewares.use(storeApi(dataDir))
    },
  }
}
