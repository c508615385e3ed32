// One demo store's catalog as its plain, non-personalized server sees it: products, popularity,
// departments, BM25 search and the dataset's test shoppers (demo/store-server.ts serves it).
import { join } from 'node:path'
import { BM25 } from '../node/bm25.js'
import { catalogItem, categoryKey, loadDataset, type Row } from '../node/data.js'
import type { PackRecord } from '../src/pack/format.js'
import type { Product } from './src/catalog-file'

/**
 * The uplift view's replay (GET /api/<store>/uplift): test shoppers as eval's category protocol sees them
 * (eval/protocols.ts listRow): each history, its held-out next purchase, and the page it is scored on, the 100
 * most popular items of the target's category key (categoryPages), junk rows included as eval includes them.
 * Items are sent once, without descriptions (the model reads title, category and brand), each with its pack
 * record when the pack is built (demo/store-server.ts).
 */
export interface UpliftData {
  /** Test shoppers in the split; `shoppers` holds the first `count` of them, in the split's order (eval's `--users`). */
  total: number
  products: Record<string, Product & { pack?: PackRecord }>
  /** Category key → item ids, the server's order (popularity, ties by catalog order). */
  pages: Record<string, string[]>
  shoppers: { id: string; history: string[]; target: string; page: string }[]
}

/** eval's category protocol page size (eval/options.ts DEFAULT_OPTIONS.pageSize). */
const UPLIFT_PAGE = 100

export interface Shopper {
  id: string
  label: string
  history: Product[]
  /** The purchase the dataset held out (test target): where does it land? */
  next: Product
  /** A page of this store that holds `next` (its department, else a search for its title), if there is one. */
  nextPage?: { dept: string } | { q: string }
}

/**
 * Amazon's data splits some department names at their comma ("Test, Measure & Inspect" became "Test" >
 * "Measure & Inspect"). A one-word department whose items all have the same child, a name with "&", is
 * one of those: shown joined again. The items' category paths are not changed (the model reads them as eval does).
 */
function splitNames(products: Product[]): Map<string, string> {
  const children = new Map<string, Set<string | undefined>>()
  for (const p of products) if (p.category[1]) (children.get(p.category[1]) ?? children.set(p.category[1], new Set()).get(p.category[1])!).add(p.category[2])
  const joined = new Map<string, string>()
  for (const [name, kids] of children) {
    const [only] = kids
    if (kids.size === 1 && only && only.includes('&') && !/\s/.test(name)) joined.set(name, `${name}, ${only}`)
  }
  return joined
}

/** A row whose title is markup left over from scraping ("Industrial & Scientific />") or a category name. */
export function junkTitle(title: string, categoryNames: ReadonlySet<string>) {
  const t = title.trim()
  return !t || /<|\/>/.test(t) || categoryNames.has(t)
}

/** The page size the storefront asks for (demo/src/state.ts CANDIDATES). */
const PAGE = 60

// Words that say nothing about a shopper's taste, for labelling shoppers of a catalog without departments.
const STOP = new Set('with from pack for and the ounce ounces fluid inch inches count size long high free ultra professional natural piece pieces pcs black white color colors'.split(' '))

export class Store {
  readonly products: Product[]
  readonly popularity: Float64Array
  private byPopularity: number[]
  private readonly bm25: BM25
  private testRows: Row[]
  /** Rows with a junk title: kept (histories hold them) but never listed; their count is logged. */
  readonly junk: Uint8Array
  private readonly joined: Map<string, string>
  private readonly department = (p: Product) => {
    const d = p.category[1] ?? 'Other'
    return this.joined.get(d) ?? d
  }

  /** `prices`: id → price, for catalogs that have them (an uploaded file). */
  constructor(dir: string, prices?: Map<string, number>) {
    const ds = loadDataset(dir, ['test'])
    this.products = ds.items.map((r) => {
      const p: Product = catalogItem(r, 280)
      const price = prices?.get(p.id)
      return price === undefined ? p : { ...p, price }
    })
    this.popularity = ds.pop
    this.joined = splitNames(this.products)
    const names = new Set(this.products.flatMap((p) => p.category))
    this.junk = Uint8Array.from(this.products, (p) => (junkTitle(p.title, names) ? 1 : 0))
    // Ties keep catalog order, so the server's order is stable.
    this.byPopularity = this.products.map((_, i) => i).filter((i) => !this.junk[i]).sort((a, b) => this.popularity[b]! - this.popularity[a]! || a - b)
    // The same BM25 as eval's search protocol; the title counts twice: the store's search favours title matches.
    this.bm25 = new BM25(ds.items.map((r) => [r.title, r.title, r.brand ?? '', r.categories.slice(1).join(' '), r.description ?? ''].join(' ')))
    this.testRows = ds.splits.test!
  }

  /** Departments (the second level of the category path) with enough items to be a page; none when the
   * catalog has one root category and nothing below it (Beauty): the page then shows the whole store. */
  departments() {
    const counts = new Map<string, number>()
    for (const [i, p] of this.products.entries()) if (!this.junk[i]) counts.set(this.department(p), (counts.get(this.department(p)) ?? 0) + 1)
    const least = this.products.length >= 1000 ? 25 : 1
    return [...counts].filter(([name, n]) => n >= least && name !== 'Other').sort((a, b) => b[1] - a[1]).map(([name, count]) => ({ name, count }))
  }

  /** The root categories, for a page that has no departments to list. */
  roots() {
    return [...new Set(this.products.map((p) => p.category[0]).filter((c): c is string => !!c))].slice(0, 5)
  }

  category(dept: string, limit: number): Product[] {
    return this.byPopularity.filter((i) => !dept || this.department(this.products[i]!) === dept).slice(0, limit).map((i) => this.products[i]!)
  }

  search(q: string, limit: number): Product[] {
    const s = this.bm25.scores(q)
    const hits = [...s.keys()].filter((doc) => s[doc]! > 0 && !this.junk[doc])
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

  /** The first `count` test rows (all without a count) with eval's category pages: see UpliftData. */
  uplift(count?: number): UpliftData {
    const rows = count ? this.testRows.slice(0, count) : this.testRows
    // eval's categoryPages, over every row of the catalog: the same key, popularity and tie order.
    this.catPages ??= (() => {
      const by = new Map<string, number[]>()
      this.products.forEach((p, i) => {
        const k = categoryKey(p.category)
        ;(by.get(k) ?? by.set(k, []).get(k)!).push(i)
      })
      for (const l of by.values()) l.sort((a, b) => this.popularity[b]! - this.popularity[a]! || a - b).splice(UPLIFT_PAGE)
      return by
    })()
    const products: Record<string, Product> = {}
    const pages: Record<string, string[]> = {}
    const use = (i: number) => {
      const p = this.products[i]!
      if (!products[p.id]) products[p.id] = { id: p.id, title: p.title, ...(p.brand ? { brand: p.brand } : {}), category: p.category }
      return p.id
    }
    const shoppers = rows.map((row) => {
      const key = categoryKey(this.products[row.target]!.category)
      pages[key] ??= (this.catPages!.get(key) ?? []).map(use)
      return { id: row.user, history: row.hist.map(use), target: use(row.target), page: key }
    })
    return { total: this.testRows.length, products, pages, shoppers }
  }
  private catPages: Map<string, number[]> | undefined

  /** A page (as the storefront asks for it) that lists `p`: its department's, else a search for its title's first words. */
  pageOf(p: Product): Shopper['nextPage'] {
    const has = (list: Product[]) => list.some((x) => x.id === p.id)
    const dept = this.department(p)
    if (this.departments().some((d) => d.name === dept) && has(this.category(dept, PAGE))) return { dept }
    const words = p.title.split(/\s+/)
    for (const n of [4, 6, 8]) {
      const q = words.slice(0, n).join(' ')
      if (has(this.search(q, PAGE))) return { q }
    }
    return undefined
  }

  shoppers(count = 8): Shopper[] {
    const picked: Shopper[] = []
    const seen = new Set<string>()
    const withDepartments = this.departments().length > 0
    const taste = (hist: number[]): [string, number] | undefined => {
      const keys = withDepartments
        ? hist.map((i) => [this.department(this.products[i]!)])
        : hist.map((i) => [...new Set(this.products[i]!.title.toLowerCase().match(/[a-z]{4,}/g) ?? [])].filter((w) => !STOP.has(w)))
      const n = new Map<string, number>()
      for (const ks of keys) for (const k of ks) n.set(k, (n.get(k) ?? 0) + 1)
      const top = [...n].filter(([k]) => k !== 'Other').sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]
      return top && [top[0], top[1] / hist.length]
    }
    const shopper = (row: Row, label: string): Shopper => {
      const next = this.products[row.target]!
      const nextPage = this.pageOf(next)
      return {
        id: row.user,
        label: `#${row.user} · ${label}${label ? ' · ' : ''}${row.hist.length} purchases`,
        history: row.hist.map((i) => this.products[i]!),
        next,
        ...(nextPage ? { nextPage } : {}),
      }
    }
    // A shopper whose history holds a junk row would show it in the timeline: the simulator picks others.
    const clean = (row: Row) => !this.junk[row.target] && row.hist.every((i) => !this.junk[i])
    for (const row of this.testRows) {
      if (row.hist.length < 8 || row.hist.length > 20 || !clean(row)) continue
      const top = taste(row.hist)
      if (!top || top[1] < (withDepartments ? 0.6 : 0.5) || seen.has(top[0])) continue
      seen.add(top[0])
      picked.push(shopper(row, withDepartments ? top[0] : `“${top[0]}”`))
      if (picked.length === count) return picked
    }
    if (this.products.length < 1000)
      for (const row of this.testRows) {
        if (picked.length === count) break
        if (row.hist.length >= 2 && clean(row) && !picked.some((s) => s.id === row.user)) picked.push(shopper(row, ''))
      }
    return picked
  }
}
