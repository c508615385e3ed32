// Bring your own logs: a plain events CSV (`user,item,timestamp`) and an items JSONL
// (`{id, title, brand, categories, description}`) → the folder format eval reads (eval/README.md).

import { itemText } from '../src/ranking/text'
import { parseCsv, parseCsvRows } from './csv'
import { InputError, readText, type Encoding } from './input'
import { writeFolder } from './write-folder'

export { parseCsv }

export interface ConvertOptions {
  /** Longest history kept per row (most recent items). Default 50, as in the Amazon data. */
  maxHistory?: number
  /** Users with fewer events are dropped (3 = one history item, the valid target, the test target). */
  minEvents?: number
  /** The input files' names in error messages. */
  eventsFile?: string
  itemsFile?: string
}

export interface ConvertStats {
  users: number
  droppedUsers: number
  /** The events of the dropped users (fewer than minEvents each). */
  droppedEvents: number
  items: number
  itemsWithoutEvents: number
  itemsWithoutMetadata: number
  events: number
  trainRows: number
}

function timestamp(s: string, file: string, line: number): number {
  const t = s.trim()
  const n = /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : Date.parse(t)
  if (!Number.isFinite(n)) throw new InputError(file, line, `timestamp ${JSON.stringify(s.slice(0, 60))} is neither a number nor a date`)
  return n
}

interface InItem {
  id: string
  title?: string | null
  brand?: string | null
  categories?: string[] | string | null
  description?: string | null
}

function categoriesOf(c: InItem['categories']): string[] {
  if (!c) return []
  if (Array.isArray(c)) return c.map(String).map((s) => s.trim()).filter(Boolean)
  return c.split(/\s*>\s*|\s*\|\s*/).map((s) => s.trim()).filter(Boolean)
}

const isText = (v: unknown) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))

/** One items JSONL line as an InItem, or an InputError naming what is wrong. */
function inItem(l: string, file: string, line: number): InItem {
  let o: unknown
  try {
    o = JSON.parse(l)
  } catch (e) {
    throw new InputError(file, line, `not JSON (${(e as Error).message.split('\n')[0]})`)
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new InputError(file, line, 'not a JSON object')
  const r = o as Record<string, unknown>
  if (!isText(r.id) || String(r.id).trim() === '') throw new InputError(file, line, '"id" is required (a string or a number)')
  for (const k of ['title', 'brand', 'description'])
    if (r[k] !== undefined && r[k] !== null && !isText(r[k])) throw new InputError(file, line, `"${k}" must be a string`)
  const c = r.categories
  if (c !== undefined && c !== null && typeof c !== 'string' && !(Array.isArray(c) && c.every(isText)))
    throw new InputError(file, line, '"categories" must be a list of strings or one "A > B > C" string')
  return {
    id: String(r.id),
    title: isText(r.title) ? String(r.title) : null,
    brand: isText(r.brand) ? String(r.brand) : null,
    categories: c as InItem['categories'],
    description: isText(r.description) ? String(r.description) : null,
  }
}

export function convert(eventsCsv: string, itemsJsonl: string, opts: ConvertOptions = {}): { files: Record<string, string>; stats: ConvertStats } {
  const maxHistory = opts.maxHistory ?? 50
  const minEvents = Math.max(3, opts.minEvents ?? 3)
  const ef = opts.eventsFile ?? 'events CSV'
  const itf = opts.itemsFile ?? 'items JSONL'
  const csv = parseCsvRows(eventsCsv)
  if (csv.unclosedQuote !== undefined) throw new InputError(ef, csv.unclosedQuote, 'a quoted field never closes (a " without its closing ")')
  const [header, ...body] = csv.rows
  if (!header) throw new InputError(ef, 1, 'empty: the header line (user,item,timestamp) is missing')
  const col = (name: string) => {
    const i = header.findIndex((h) => h.trim().toLowerCase() === name)
    if (i < 0) throw new InputError(ef, csv.lines[0]!, `the header needs a "${name}" column (got ${JSON.stringify(header.join(',').slice(0, 80))})`)
    return i
  }
  const [cu, ci, ct] = [col('user'), col('item'), col('timestamp')]

  // Events per user, in time order (ties: file order); users in order of first appearance.
  const byUser = new Map<string, { item: string; ts: number; line: number }[]>()
  body.forEach((r, k) => {
    const line = csv.lines[k + 1]!
    if (r.length !== header.length) throw new InputError(ef, line, `${r.length} fields, the header has ${header.length}`)
    const user = r[cu]!.trim()
    const item = r[ci]!.trim()
    if (!user || !item) throw new InputError(ef, line, 'user and item are required')
    let l = byUser.get(user)
    if (!l) byUser.set(user, (l = []))
    l.push({ item, ts: timestamp(r[ct]!, ef, line), line: k })
  })

  const meta = new Map<string, InItem & { line: number }>()
  itemsJsonl.split('\n').forEach((l, k) => {
    if (!l.trim()) return
    const o = inItem(l, itf, k + 1)
    const seen = meta.get(o.id)
    if (seen) throw new InputError(itf, k + 1, `id ${JSON.stringify(o.id)} is already on line ${seen.line}`)
    meta.set(o.id, { ...o, line: k + 1 })
  })

  const itemIndex = new Map<string, number>()
  const idOf = (id: string) => {
    let i = itemIndex.get(id)
    if (i === undefined) itemIndex.set(id, (i = itemIndex.size))
    return i
  }
  const seqs: { user: string; items: number[] }[] = []
  let dropped = 0
  let droppedEvents = 0
  let events = 0
  for (const [user, evs] of byUser) {
    if (evs.length < minEvents) {
      dropped++
      droppedEvents += evs.length
      continue
    }
    evs.sort((a, b) => a.ts - b.ts || a.line - b.line)
    seqs.push({ user, items: evs.map((e) => idOf(e.item)) })
    events += evs.length
  }
  const withEvents = itemIndex.size
  for (const id of meta.keys()) idOf(id) // catalogue items nobody bought can still be recommended

  const head = 'user_id:token\titem_id_list:token_seq\titem_id:token\n'
  const line = (u: number, h: number[], t: number) => `${u}\t${h.slice(-maxHistory).join(' ')}\t${t}\n`
  let train = head
  let valid = head
  let test = head
  let trainRows = 0
  seqs.forEach(({ items: s }, u) => {
    const n = s.length
    for (let t = n - 3; t >= 1; t--) (train += line(u, s.slice(0, t), s[t]!)), trainRows++
    valid += line(u, s.slice(0, n - 2), s[n - 2]!)
    test += line(u, s.slice(0, n - 1), s[n - 1]!)
  })

  let noMeta = 0
  const items = [...itemIndex].map(([id, item]) => {
    const m = meta.get(id)
    if (!m) noMeta++
    const title = (m?.title ?? '').trim() || id
    const brand = m?.brand?.trim() || null
    const categories = categoriesOf(m?.categories)
    return JSON.stringify({ item, asin: id, title, brand, categories, description: m?.description ?? null, text: itemText({ title, brand, category: categories }) })
  })
  return {
    files: {
      'train.inter': train,
      'valid.inter': valid,
      'test.inter': test,
      'items.jsonl': items.join('\n') + '\n',
      item2index: [...itemIndex].map(([id, i]) => `${id}\t${i}\n`).join(''),
      user2index: seqs.map((s, u) => `${s.user}\t${u}\n`).join(''),
    },
    stats: {
      users: seqs.length,
      droppedUsers: dropped,
      droppedEvents,
      items: itemIndex.size,
      itemsWithoutEvents: itemIndex.size - withEvents,
      itemsWithoutMetadata: noMeta,
      events,
      trainRows,
    },
  }
}

/** The files convert() writes: an --out that holds anything else is not ours to write into. */
export const CONVERTED_FILES = ['train.inter', 'valid.inter', 'test.inter', 'items.jsonl', 'item2index', 'user2index'] as const

/** Reads both files (strictly decoded, `encoding` default UTF-8), converts, then writes `outDir`: only once
 * everything is read and checked, each file whole (written beside, then renamed into place). */
export function convertFiles(eventsPath: string, itemsPath: string, outDir: string, opts: ConvertOptions & { encoding?: Encoding } = {}): ConvertStats {
  const { files, stats } = convert(readText(eventsPath, opts.encoding), readText(itemsPath, opts.encoding), { eventsFile: eventsPath, itemsFile: itemsPath, ...opts })
  writeFolder(outDir, files, CONVERTED_FILES)
  return stats
}
