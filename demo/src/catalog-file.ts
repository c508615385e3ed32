// "Try it on your catalog", in the tab: a JSON array or a CSV with id,title,brand,category,price columns
// (category paths written "Root > Sub > Leaf"), checked and read here, then sent to the store server
// as items JSONL (node/convert.ts's input), with the store's optional events CSV.

import { parseCsv } from '../../node/csv'
import { parseCategoryPath } from 'inpage'

export interface Product {
  id: string
  title: string
  brand?: string
  category: string[]
  description?: string
  price?: number
}

/** The demo server builds a pack per upload: kept small enough for a 2-core machine. */
export const MAX_ITEMS = 20_000

function toProduct(o: Record<string, unknown>): Product | undefined {
  const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v).trim() : '')
  const id = str(o.id)
  const title = str(o.title)
  if (!id || !title) return undefined
  const p: Product = { id, title, category: [] }
  const brand = str(o.brand)
  if (brand) p.brand = brand
  if (Array.isArray(o.category)) p.category = o.category.map(str).filter(Boolean)
  else if (str(o.category)) p.category = parseCategoryPath(str(o.category))
  const price = parseFloat(str(o.price).replace(/[^0-9.]/g, ''))
  if (Number.isFinite(price)) p.price = price
  const description = str(o.description)
  if (description) p.description = description.slice(0, 500)
  return p
}

export interface Parsed {
  items: Product[]
  skipped: number
}

/** Parses a catalog file; throws an Error with a sentence for the user when it cannot. */
export function parseCatalog(name: string, text: string): Parsed {
  let records: Record<string, unknown>[]
  if (/\.json$/i.test(name) || /^\s*\[/.test(text)) {
    let data: unknown
    try {
      data = JSON.parse(text)
    } catch {
      throw new Error('This JSON file does not parse.')
    }
    if (!Array.isArray(data)) throw new Error('The JSON file must hold an array of products.')
    records = data.filter((d): d is Record<string, unknown> => !!d && typeof d === 'object')
  } else {
    const [header, ...rows] = parseCsv(text)
    const cols = (header ?? []).map((c) => c.trim().toLowerCase())
    if (!cols.includes('id') || !cols.includes('title')) throw new Error('The CSV needs a header row with at least id and title columns.')
    records = rows.map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i] ?? ''])))
  }
  const seen = new Set<string>()
  const items: Product[] = []
  let skipped = 0
  for (const r of records) {
    const p = toProduct(r)
    if (!p || seen.has(p.id) || items.length >= MAX_ITEMS) {
      skipped++
      continue
    }
    seen.add(p.id)
    items.push(p)
  }
  if (!items.length) throw new Error('No product with an id and a title was found.')
  return { items, skipped }
}

export function toCsv(items: Product[]): string {
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s)
  return ['id,title,brand,category,price', ...items.map((p) => [p.id, p.title, p.brand ?? '', p.category.join(' > '), p.price ?? ''].map((v) => q(String(v))).join(','))].join('\n')
}

/** Items JSONL as `npm run eval -- convert` reads it ({id, title, brand, categories, description}), with the price. */
export function toItemsJsonl(items: Product[]): string {
  return items.map((p) => JSON.stringify({ id: p.id, title: p.title, brand: p.brand ?? null, categories: p.category, description: p.description ?? null, ...(p.price !== undefined ? { price: p.price } : {}) })).join('\n') + '\n'
}
