// Bring your own logs: a plain events CSV (`user,item,timestamp`) and an items JSONL
// (`{id, title, brand, categories, description}`) → the folder format eval reads (eval/README.md).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { itemText } from '../src/ranking/text'
import { parseCsv } from './csv'

export { parseCsv }

export interface ConvertOptions {
  /** Longest history kept per row (most recent items). Default 50, as in the Amazon data. */
  maxHistory?: number
  /** Users with fewer events are dropped (3 = one history item, the valid target, the test target). */
  minEvents?: number
}

export interface ConvertStats {
  users: number
  droppedUsers: number
  items: number
  itemsWithoutEvents: number
  itemsWithoutMetadata: number
  events: number
  trainRows: number
}

function timestamp(s: string, line: number): number {
  const t = s.trim()
  const n = /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : Date.parse(t)
  if (!Number.isFinite(n)) throw new Error(`events line ${line}: timestamp "${s}" is neither a number nor a date`)
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

export function convert(eventsCsv: string, itemsJsonl: string, opts: ConvertOptions = {}): { files: Record<string, string>; stats: ConvertStats } {
  const maxHistory = opts.maxHistory ?? 50
  const minEvents = Math.max(3, opts.minEvents ?? 3)
  const [header, ...body] = parseCsv(eventsCsv)
  if (!header) throw new Error('events CSV is empty')
  const col = (name: string) => {
    const i = header.findIndex((h) => h.trim().toLowerCase() === name)
    if (i < 0) throw new Error(`events CSV: header needs a "${name}" column (got ${header.join(',')})`)
    return i
  }
  const [cu, ci, ct] = [col('user'), col('item'), col('timestamp')]

  // Events per user, in time order (ties: file order); users in order of first appearance.
  const byUser = new Map<string, { item: string; ts: number; line: number }[]>()
  body.forEach((r, k) => {
    const user = r[cu]?.trim()
    const item = r[ci]?.trim()
    if (!user || !item) throw new Error(`events line ${k + 2}: user and item are required`)
    let l = byUser.get(user)
    if (!l) byUser.set(user, (l = []))
    l.push({ item, ts: timestamp(r[ct] ?? '', k + 2), line: k })
  })

  const meta = new Map<string, InItem>()
  itemsJsonl.split('\n').forEach((l, k) => {
    if (!l.trim()) return
    const o = JSON.parse(l) as InItem
    if (o.id === undefined || o.id === null) throw new Error(`items line ${k + 1}: "id" is required`)
    meta.set(String(o.id), o)
  })

  const itemIndex = new Map<string, number>()
  const idOf = (id: string) => {
    let i = itemIndex.get(id)
    if (i === undefined) itemIndex.set(id, (i = itemIndex.size))
    return i
  }
  const seqs: { user: string; items: number[] }[] = []
  let dropped = 0
  let events = 0
  for (const [user, evs] of byUser) {
    if (evs.length < minEvents) {
      dropped++
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
      items: itemIndex.size,
      itemsWithoutEvents: itemIndex.size - withEvents,
      itemsWithoutMetadata: noMeta,
      events,
      trainRows,
    },
  }
}

export function convertFiles(eventsPath: string, itemsPath: string, outDir: string, opts: ConvertOptions = {}): ConvertStats {
  const { files, stats } = convert(readFileSync(eventsPath, 'utf8'), readFileSync(itemsPath, 'utf8'), opts)
  mkdirSync(outDir, { recursive: true })
  for (const [f, text] of Object.entries(files)) writeFileSync(join(outDir, f), text)
  return stats
}
