// The dataset format eval reads (eval/README.md): RecBole atomic files as in ../shared/data/amazon-scientific.
// items.jsonl (one object per item, `item` = integer id 0..n-1, `asin` = the store's item id) and
// `<split>.inter` (tab-separated: user, space-separated history oldest first, target).

import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'

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

export function popularity(nItems: number, trainHistories: readonly Row[]): Float64Array {
  const pop = new Float64Array(nItems)
  for (const r of trainHistories) for (const i of r.hist) pop[i]! += 1
  return pop
}

export function loadDataset(dir: string, splits: readonly ('valid' | 'test')[]): Dataset {
  for (const f of ['items.jsonl', 'valid.inter']) if (!existsSync(join(dir, f))) throw new Error(`${dir}: ${f} is missing (see eval/README.md)`)
  const items = readItems(readFileSync(join(dir, 'items.jsonl'), 'utf8'))
  const valid = readInter(readFileSync(join(dir, 'valid.inter'), 'utf8'))
  const ds: Dataset = { dir, items, catKeys: items.map((r) => categoryKey(r.categories)), pop: popularity(items.length, valid), splits: { valid } }
  for (const s of splits) if (!ds.splits[s]) ds.splits[s] = readInter(readFileSync(join(dir, `${s}.inter`), 'utf8'))
  for (const [s, rows] of Object.entries(ds.splits))
    for (const r of rows) for (const i of [...r.hist, r.target]) if (!(i >= 0 && i < items.length)) throw new Error(`${s}.inter: item ${i} not in items.jsonl`)
  return ds
}
