// The dataset format eval reads (eval/README.md): RecBole atomic files as in ../shared/data/amazon-scientific.
// items.jsonl (one object per item, `item` = integer id 0..n-1, `asin` = the store's item id) and
// `<split>.inter` (tab-separated: user, space-separated history oldest first, target).
// The one reader of the shared dataset: eval, the unit tests, e2e, bench and the demo's store server.

import { join, resolve } from 'node:path'
import { InputError, readText, type Encoding } from './input'

/** The shared data folder: $INPAGE_DATA, else ../shared/data beside the repository (`base`, default the
 * working directory, which npm scripts set to the repository root). Read in place, never copied in. */
export function dataRoot(base = process.cwd()): string {
  return resolve(base, process.env.INPAGE_DATA ?? join('..', 'shared', 'data'))
}

/** The catalogue the tests, bench and demo use (amazon-scientific) inside the shared data folder. */
export function datasetDir(name = 'amazon-scientific', base?: string): string {
  return join(dataRoot(base), name)
}

export interface Item {
  item: number
  /** The item id the store and the browser use (ASIN for the Amazon data). */
  asin: string
  title: string
  brand: string | null
  categories: string[]
  description: string | null
}

export interface Row {
  user: string
  /** Item indices, oldest first. */
  hist: number[]
  target: number
}

export interface Dataset {
  dir: string
  items: Item[]
  /** Category-page key per item: categories[2], or the last entry of a shorter path, '' if none. */
  catKeys: string[]
  /** Interaction count in the training histories (the valid.inter histories); targets never count. */
  pop: Float64Array
  splits: Partial<Record<'valid' | 'test', Row[]>>
}

export function categoryKey(categories: readonly string[] | null | undefined): string {
  if (!categories || !categories.length) return ''
  return categories.length > 2 ? categories[2]! : categories[categories.length - 1]!
}

/** Each item's leaf category ('' for none): what calibration and the exposure rows read. */
export function leafCategories(items: readonly { categories: readonly string[] }[]): string[] {
  return items.map((it) => it.categories.at(-1) ?? '')
}

/** The header line a .inter file starts with. */
export const INTER_HEADER = /^user_id/

const INDEX = /^\d+$/

/**
 * One .inter line (after the header) → a Row, or an InputError naming the line: three tab-separated
 * fields, the history item indices (space-separated, may be empty) and the target whole numbers below
 * `nItems` when given. Shared by eval's reader and the pack builder's streaming check.
 */
export function interRow(line: string, file: string, n: number, nItems?: number): Row {
  const f = line.split('\t')
  if (f.length !== 3) throw new InputError(file, n, `expected 3 tab-separated fields (user, history, target), got ${f.length}`)
  const [u, h, t] = f as [string, string, string]
  const index = (s: string, what: string) => {
    if (!INDEX.test(s)) throw new InputError(file, n, `${what} ${JSON.stringify(s.slice(0, 40))} is not an item index (a whole number)`)
    const i = Number(s)
    if (nItems !== undefined && i >= nItems) throw new InputError(file, n, `${what} ${i} is not in items.jsonl (${nItems} items)`)
    return i
  }
  // The history, digit by digit (the pack builder reads millions of these): space-separated whole numbers.
  const hist: number[] = []
  let v = -1
  for (let k = 0; k <= h.length; k++) {
    const c = k < h.length ? h.charCodeAt(k) : 32
    if (c >= 48 && c <= 57) v = v < 0 ? c - 48 : v * 10 + (c - 48)
    else if (c === 32) {
      if (v >= 0) {
        if (nItems !== undefined && v >= nItems) index(String(v), 'history item')
        hist.push(v)
      }
      v = -1
    } else {
      const from = h.lastIndexOf(' ', k) + 1
      const to = h.indexOf(' ', k)
      index(h.slice(from, to < 0 ? undefined : to), 'history item') // throws: not a whole number
    }
  }
  return { user: u, hist, target: index(t.trim(), 'target') }
}

export function readInter(text: string, file = '.inter', nItems?: number): Row[] {
  const lines = text.split('\n')
  const head = lines[0]?.replace(/\r$/, '') ?? ''
  if (!head.trim() && lines.length <= 1) throw new InputError(file, 1, 'empty: the header line (user_id:token …) is missing')
  if (!INTER_HEADER.test(head)) throw new InputError(file, 1, `not a .inter file: the first line should be its header (user_id:token …), got ${JSON.stringify(head.slice(0, 60))}`)
  const rows: Row[] = []
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '')
    if (!line) continue
    rows.push(interRow(line, file, i + 1, nItems))
  }
  return rows
}

const isText = (v: unknown) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))

export function readItems(text: string, file = 'items.jsonl'): Item[] {
  const items: Item[] = []
  const lineOf: number[] = []
  const byId = new Map<string, number>()
  text.split('\n').forEach((l, k) => {
    if (!l.trim()) return
    const n = k + 1
    let o: unknown
    try {
      o = JSON.parse(l)
    } catch (e) {
      throw new InputError(file, n, `not JSON (${(e as Error).message.split('\n')[0]})`)
    }
    if (!o || typeof o !== 'object' || Array.isArray(o)) throw new InputError(file, n, 'not a JSON object')
    const r = o as Record<string, unknown>
    if (!Number.isInteger(r.item) || (r.item as number) < 0) throw new InputError(file, n, '"item" (the index, a whole number) is required')
    const asin = r.asin ?? r.item
    if (!isText(asin) || String(asin) === '') throw new InputError(file, n, '"asin" (the store\'s item id) must be a non-empty string')
    for (const f of ['title', 'brand', 'description']) if (r[f] !== undefined && r[f] !== null && !isText(r[f])) throw new InputError(file, n, `"${f}" must be a string`)
    if (r.categories !== undefined && r.categories !== null && !(Array.isArray(r.categories) && r.categories.every(isText)))
      throw new InputError(file, n, '"categories" must be a list of strings')
    const id = String(asin)
    const seen = byId.get(id)
    if (seen !== undefined) throw new InputError(file, n, `id ${JSON.stringify(id)} is already on line ${seen}`)
    byId.set(id, n)
    items.push({
      item: r.item as number,
      asin: id,
      title: isText(r.title) ? String(r.title) : '',
      brand: isText(r.brand) ? String(r.brand) : null,
      categories: ((r.categories as unknown[] | null | undefined) ?? []).map(String),
      description: isText(r.description) ? String(r.description) : null,
    })
    lineOf[r.item as number] ??= n
  })
  if (!items.length) throw new InputError(file, 1, 'no items (the file is empty)')
  items.sort((a, b) => a.item - b.item)
  items.forEach((r, i) => {
    if (r.item !== i)
      throw new InputError(file, lineOf[r.item]!, r.item < i ? `item index ${r.item} repeats` : `item indices must be 0..n-1 (${i} is missing)`)
  })
  return items
}

/** The items of a dataset folder (its items.jsonl), index = item id. */
export function readItemsFile(dir: string, encoding?: Encoding): Item[] {
  const f = join(dir, 'items.jsonl')
  return readItems(readText(f, encoding), f)
}

/** The rows of a dataset folder's `<split>.inter`; with `nItems`, indices are checked against it. */
export function readInterFile(dir: string, split: 'train' | 'valid' | 'test', nItems?: number, encoding?: Encoding): Row[] {
  const f = join(dir, `${split}.inter`)
  return readInter(readText(f, encoding), f, nItems)
}

/** An item as a store hands it to rerank(): the public candidate fields. */
export interface CatalogItem {
  id: string
  title: string
  brand?: string
  /** Category path, root first ([] when the data has none). */
  category: string[]
  description?: string
}

/** A dataset item as a catalogue item; `descriptionChars` keeps at most that much of the description (0: none). */
export function catalogItem(r: Item, descriptionChars = Infinity): CatalogItem {
  return {
    id: r.asin,
    title: r.title,
    ...(r.brand ? { brand: r.brand } : {}),
    category: r.categories,
    ...(r.description && descriptionChars > 0 ? { description: r.description.slice(0, descriptionChars) } : {}),
  }
}

export function popularity(nItems: number, trainHistories: readonly Row[]): Float64Array {
  const pop = new Float64Array(nItems)
  for (const r of trainHistories) for (const i of r.hist) pop[i]! += 1
  return pop
}

export function loadDataset(dir: string, splits: readonly ('valid' | 'test')[], encoding?: Encoding): Dataset {
  const items = readItemsFile(dir, encoding)
  // Every index is checked against items.jsonl as it is read (an InputError naming the file and line).
  const valid = readInterFile(dir, 'valid', items.length, encoding)
  const ds: Dataset = { dir, items, catKeys: items.map((r) => categoryKey(r.categories)), pop: popularity(items.length, valid), splits: { valid } }
  for (const s of splits) if (!ds.splits[s]) ds.splits[s] = readInterFile(dir, s, items.length, encoding)
  return ds
}
