// Real catalog items for e2e, read from the shared dataset (never copied into the repository).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export const DATA_DIR = process.env.INPAGE_DATA ?? join(process.cwd(), '..', 'shared', 'data')

export interface CatalogItem {
  id: string
  title: string
  brand?: string
  category: string[]
  description?: string
}

let cache: CatalogItem[] | undefined
export function catalog(): CatalogItem[] {
  cache ??= readFileSync(join(DATA_DIR, 'amazon-scientific', 'items.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .map((d) => ({ id: d.asin, title: d.title, category: d.categories ?? [], ...(d.brand ? { brand: d.brand } : {}) }))
  return cache
}

/** Items whose category path contains `name` at level 2 (or is its last entry). */
export function inCategory(name: string): CatalogItem[] {
  return catalog().filter((it) => (it.category[2] ?? it.category.at(-1)) === name)
}
