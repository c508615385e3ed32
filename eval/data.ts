// The dataset format eval reads (eval/README.md): RecBole atomic files as in ../shared/data/amazon-scientific.
// items.jsonl (one object per item, `item` = integer id 0..n-1, `asin` = the store's item id) and
// `<split>.inter` (tab-separated: user, space-separated history oldest first, target).
// The one reader of the shared dataset: eval, the unit tests, e2e, bench and the demo's store server.

import { readFileSync, existsSync } from 'node:fs'
import { join, resolve } from 'node:path'

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

export function readInter(text: string): Row[] {
  const lines = text.split('\n')
  if (!lines[0]?.startsWith('user_id')) throw new Error(`not a .inter file (header: ${lines[0]?.slice(0, 60)})`)
  const rows: Row[] = []
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '')
    if (!line) continue
    const [u, h, t] = line.split('\t')
    if (u === undefined || h === undefined || t === undefined) throw new Error(`.inter line ${i + 1}: expected 3 tab-separated fields`)
    rows.push({ user: u, hist: h.trim() ? h.trim().split(' ').map(Number) : [], target: Number(t) })
  }
  return rows
}

export function readItems(text: string): Item[] {
  const items = text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Partial<Item> & { item: number })
    .map((r) => ({
      item: r.item,
      asin: String(r.asin ?? r.item),
      title: String(r.title ?? ''),
      brand: r.brand ?? null,
      categories: r.categories ?? [],
      description: r.description ?? null,
    }))
  items.sort((a, b) => a.item - b.item)
  items.forEach((r, i) => {
    if (r.item !== i) throw new Error(`items.jsonl: item ids must be 0..n-1 (missing ${i})`)
  })
  return items
}

/** The items of a dataset folder (its items.jsonl), index = item id. */
export function readItemsFile(dir: string): Item[] {
  return readItems(readFileSync(join(dir, 'items.jsonl'), 'utf8'))
}

/** The rows of a dataset folder's `<split>.inter`. */
export function readInterFile(dir: string, split: 'train' | 'valid' | 'test'): Row[] {
  return readInter(readFileSync(join(dir, `${split}.inter`), 'utf8'))
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

export function loadDataset(dir: string, splits: readonly ('valid' | 'test')[]): Dataset {
  for (const f of ['items.jsonl', 'valid.inter']) if (!existsSync(join(dir, f))) throw new Error(`${dir}: ${f} is missing (see eval/README.md)`)
  const items = readItemsFile(dir)
  const valid = readInterFile(dir, 'valid')
  const ds: Dataset = { dir, items, catKeys: items.map((r) => categoryKey(r.categories)), pop: popularity(items.length, valid), splits: { valid } }
  for (const s of splits) if (!ds.splits[s]) ds.splits[s] = readInterFile(dir, s)
  for (const [s, rows] of Object.entries(ds.splits))
    for (const r of rows) for (const i of [...r.hist, r.target]) if (!(i >= 0 && i < items.length)) throw new Error(`${s}.inter: item ${i} not in items.jsonl`)
  return ds
}
