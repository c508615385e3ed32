// "Try it on your catalog", in the tab: eval convert's items JSONL, a JSON array with the same keys, or a
// CSV with id,title,brand,category,price columns (category paths written "Root > Sub > Leaf"), checked and
// read here, then sent to the store server as items JSONL (node/convert.ts's input), with the store's
// optional events CSV (user,item,timestamp).

import { parseCsvRows } from '../../node/csv'
import { decode } from './dom'
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

/** Why a row is not a product (skipped and counted), or the product. */
function toProduct(o: Record<string, unknown>, categoryNames: Set<string>): Product | string {
  const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v).trim() : '')
  const id = str(o.id)
  // Titles are decoded here, at conversion: the store's own text, not its HTML escaping.
  const title = decode(str(o.title))
  if (!id) return 'no id'
  if (!title) return 'no title'
  if (/<|\/>/.test(title)) return 'a title that is markup'
  const p: Product = { id, title, category: [] }
  const brand = decode(str(o.brand))
  if (brand) p.brand = brand
  // `categories` is eval convert's key (a list, or one "A > B > C" string); `category` the CSV's column.
  const cat = o.categories ?? o.category
  if (Array.isArray(cat)) p.category = cat.map(str).filter(Boolean).map(decode)
  else if (str(cat)) p.category = parseCategoryPath(decode(str(cat)))
  if (categoryNames.has(title) || p.category.includes(title)) return 'a title that is a category name'
  const price = parseFloat(str(o.price).replace(/[^0-9.]/g, ''))
  if (Number.isFinite(price)) p.price = price
  const description = decode(str(o.description))
  if (description) p.description = description.slice(0, 500)
  return p
}

export interface Parsed {
  items: Product[]
  skipped: number
  /** Skipped rows by reason, with the first line of each (the log the page shows). */
  reasons: { reason: string; count: number; first: string }[]
  format: 'items JSONL' | 'JSON array' | 'CSV'
}

/** A refusal: names the file, the line and what was expected. */
const refuse = (file: string, line: number, what: string) => new Error(`${file}:${line}: ${what}`)

const EXPECTED = {
  jsonl: 'expected one product per line as a JSON object {"id", "title", "brand", "categories", "description", "price"} (eval convert’s items JSONL)',
  json: 'expected a JSON array of products [{"id", "title", "brand", "categories", "description", "price"}]',
  csv: 'expected a header row with id and title (and brand, category “Root > Sub > Leaf”, price) as its column names',
}

/** The line of a JSON.parse error: V8 says "(line L column C)" or "at position N". */
function jsonErrorLine(text: string, e: Error): number {
  const l = /line (\d+)/.exec(e.message)
  if (l) return Number(l[1])
  const pos = /position (\d+)/.exec(e.message)
  return pos ? text.slice(0, Number(pos[1])).split('\n').length : 1
}

/** The line each top-level element of a JSON array starts on (for the log of skipped rows). */
function elementLines(text: string): number[] {
  const lines: number[] = []
  let depth = 0
  let line = 1
  let inString = false
  let expectValue = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === '\n') line++
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
      continue
    }
    if (depth === 1 && expectValue && !/[\s,\]]/.test(c)) lines.push(line), (expectValue = false)
    if (c === '"') inString = true
    else if (c === '[' || c === '{') {
      depth++
      if (depth === 1) expectValue = true
    } else if (c === ']' || c === '}') depth--
    else if (c === ',' && depth === 1) expectValue = true
  }
  return lines
}

/** Parses a catalog file (eval convert's items JSONL, a JSON array with the same keys, or a CSV); throws an
 * Error that names the file, the line and what was expected when it cannot. */
export function parseCatalog(name: string, text: string): Parsed {
  const head = text.replace(/^\uFEFF/, '').trimStart()
  let records: { line: number; r: Record<string, unknown> }[]
  let format: Parsed['format']
  if (/\.(jsonl|ndjson)$/i.test(name) || head.startsWith('{')) {
    format = 'items JSONL'
    records = []
    text.split('\n').forEach((l, k) => {
      if (!l.trim()) return
      let o: unknown
      try {
        o = JSON.parse(l)
      } catch (e) {
        throw refuse(name, k + 1, `not JSON (${(e as Error).message.split('\n')[0]}); ${EXPECTED.jsonl}`)
      }
      if (!o || typeof o !== 'object' || Array.isArray(o)) throw refuse(name, k + 1, `not a JSON object; ${EXPECTED.jsonl}`)
      records.push({ line: k + 1, r: o as Record<string, unknown> })
    })
  } else if (/\.json$/i.test(name) || head.startsWith('[')) {
    format = 'JSON array'
    let data: unknown
    try {
      data = JSON.parse(text)
    } catch (e) {
      throw refuse(name, jsonErrorLine(text, e as Error), `not JSON (${(e as Error).message.split('\n')[0]}); ${EXPECTED.json}`)
    }
    if (!Array.isArray(data)) throw refuse(name, 1, `${data === null ? 'null' : typeof data}, not an array; ${EXPECTED.json}`)
    const lines = elementLines(text)
    records = []
    data.forEach((d, i) => {
      if (!d || typeof d !== 'object' || Array.isArray(d)) throw refuse(name, lines[i] ?? 1, `element ${i + 1} is not an object; ${EXPECTED.json}`)
      records.push({ line: lines[i] ?? 1, r: d as Record<string, unknown> })
    })
  } else {
    format = 'CSV'
    const csv = parseCsvRows(text.replace(/^\uFEFF/, ''))
    if (csv.unclosedQuote !== undefined) throw refuse(name, csv.unclosedQuote, 'a quoted field never closes (a " without its closing ")')
    const [header, ...rows] = csv.rows
    const cols = (header ?? []).map((c) => c.trim().toLowerCase())
    for (const need of ['id', 'title'])
      if (!cols.includes(need)) throw refuse(name, csv.lines[0] ?? 1, `the header has no "${need}" column (got ${JSON.stringify(cols.join(',').slice(0, 60))}); ${EXPECTED.csv}`)
    records = rows.map((r, k) => {
      if (r.length > cols.length) throw refuse(name, csv.lines[k + 1]!, `${r.length} fields, the header has ${cols.length}: quote a field that holds a comma`)
      return { line: csv.lines[k + 1]!, r: Object.fromEntries(cols.map((c, i) => [c, r[i] ?? ''])) }
    })
  }
  const names = new Set<string>()
  const seen = new Set<string>()
  const items: Product[] = []
  const reasons = new Map<string, { count: number; first: string }>()
  const skip = (reason: string, line: number) => {
    const r = reasons.get(reason)
    if (r) r.count++
    else reasons.set(reason, { count: 1, first: `${name}:${line}` })
  }
  for (const { r } of records) {
    const c = r.categories ?? r.category
    for (const x of Array.isArray(c) ? c : typeof c === 'string' ? parseCategoryPath(c) : []) if (typeof x === 'string') names.add(x.trim())
  }
  for (const { line, r } of records) {
    const p = toProduct(r, names)
    if (typeof p === 'string') skip(p, line)
    else if (seen.has(p.id)) skip('a duplicate id', line)
    else if (items.length >= MAX_ITEMS) skip(`over ${MAX_ITEMS.toLocaleString('en')} products`, line)
    else {
      seen.add(p.id)
      items.push(p)
    }
  }
  if (!items.length) throw refuse(name, records[0]?.line ?? 1, `no product with an id and a title; ${format === 'CSV' ? EXPECTED.csv : format === 'JSON array' ? EXPECTED.json : EXPECTED.jsonl}`)
  const list = [...reasons].map(([reason, v]) => ({ reason, ...v }))
  return { items, skipped: list.reduce((n, x) => n + x.count, 0), reasons: list, format }
}

/** An events CSV as `eval convert` reads it: checked in the tab for its header (the store server checks every line). */
export function checkEvents(name: string, text: string): { rows: number } {
  const csv = parseCsvRows(text.replace(/^\uFEFF/, ''))
  if (csv.unclosedQuote !== undefined) throw refuse(name, csv.unclosedQuote, 'a quoted field never closes (a " without its closing ")')
  const cols = (csv.rows[0] ?? []).map((c) => c.trim().toLowerCase())
  for (const need of ['user', 'item', 'timestamp'])
    if (!cols.includes(need)) throw refuse(name, csv.lines[0] ?? 1, `the header has no "${need}" column (got ${JSON.stringify(cols.join(',').slice(0, 60))}); expected user,item,timestamp (eval convert’s events CSV)`)
  return { rows: csv.rows.length - 1 }
}

export function toCsv(items: Product[]): string {
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s)
  return ['id,title,brand,category,price', ...items.map((p) => [p.id, p.title, p.brand ?? '', p.category.join(' > '), p.price ?? ''].map((v) => q(String(v))).join(','))].join('\n')
}

/** Items JSONL as `npm run eval -- convert` reads it ({id, title, brand, categories, description}), with the price. */
export function toItemsJsonl(items: Product[]): string {
  return items.map((p) => JSON.stringify({ id: p.id, title: p.title, brand: p.brand ?? null, categories: p.category, description: p.description ?? null, ...(p.price !== undefined ? { price: p.price } : {}) })).join('\n') + '\n'
}
