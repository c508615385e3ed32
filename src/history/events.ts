// Event validation: turns whatever a page passes into a clean StoredEvent, or a named error.
// Builds new objects field by field, so hostile keys (__proto__, constructor) never travel.

import { invalidEvent } from '../core/errors'
import { nearest } from '../core/validate'
import type { EventType, ItemSnapshot, StoredEvent } from '../core/types'

export const EVENT_TYPES: readonly EventType[] = ['view', 'click', 'add_to_cart', 'purchase', 'search', 'dwell']

/** Over-long strings are cut, not refused: a long title is the catalog's business, not an error. */
export const LIMITS = {
  id: 256,
  title: 512,
  brand: 128,
  categoryLevel: 128,
  categoryDepth: 12,
  query: 256,
  surface: 64,
  /** Events stamped further in the future than this are refused (clock skew allowance). */
  futureMs: 24 * 3600 * 1000,
} as const

const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k)

export function cut(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) : s
}

function optString(o: Record<string, unknown>, key: string, max: number, where: string): string | undefined {
  if (!has(o, key) || o[key] === undefined || o[key] === null) return undefined
  const v = o[key]
  if (typeof v !== 'string') throw invalidEvent(`${where}.${key} must be a string, got ${typeof v}`)
  const t = cut(v.trim(), max)
  return t === '' ? undefined : t
}

function finite(v: unknown, what: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw invalidEvent(`${what} must be a finite number ≥ ${min}`)
  return v
}

/** Validates public item fields; shared with candidate validation. */
export function validateItem(raw: unknown, where: string, fail = invalidEvent): ItemSnapshot {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw fail(`${where} must be an object with at least a title`)
  const o = raw as Record<string, unknown>
  let title: string | undefined
  let brand: string | undefined
  try {
    title = optString(o, 'title', LIMITS.title, where)
    brand = optString(o, 'brand', LIMITS.brand, where)
  } catch (e) {
    throw fail((e as Error).message)
  }
  if (!title) throw fail(`${where}.title is required`)
  const item: ItemSnapshot = { title }
  if (brand) item.brand = brand
  const cat = has(o, 'category') ? o.category : undefined
  if (cat !== undefined && cat !== null) {
    if (!Array.isArray(cat) || !cat.every((c) => typeof c === 'string'))
      throw fail(`${where}.category must be an array of strings (the path, root first)`)
    const path = cat
      .slice(0, LIMITS.categoryDepth)
      .map((c: string) => cut(c.trim(), LIMITS.categoryLevel))
      .filter((c) => c !== '')
    if (path.length) item.category = path
  }
  if (has(o, 'price') && o.price !== undefined && o.price !== null) {
    if (typeof o.price !== 'number' || !Number.isFinite(o.price) || o.price < 0)
      throw fail(`${where}.price must be a finite number ≥ 0`)
    item.price = o.price
  }
  return item
}

/** Validates one event. Throws `InvalidEventError`; returns a fresh, clean object. */
export function validateEvent(raw: unknown, now = Date.now()): StoredEvent {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalidEvent('event must be an object')
  const o = raw as Record<string, unknown>
  const type = has(o, 'type') ? o.type : undefined
  if (typeof type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(type))
    throw invalidEvent(`event.type must be one of ${EVENT_TYPES.join(', ')}`)
  const ev: StoredEvent = { type: type as EventType, ts: now }

  if (has(o, 'timestamp') && o.timestamp !== undefined) {
    const ts = finite(o.timestamp, 'event.timestamp')
    if (ts > now + LIMITS.futureMs) throw invalidEvent('event.timestamp is in the future')
    ev.ts = ts
  }
  const surface = optString(o, 'surface', LIMITS.surface, 'event')
  if (surface) ev.surface = surface

  if (type === 'search') {
    const query = optString(o, 'query', LIMITS.query, 'event')
    if (!query) throw invalidEvent('a search event needs a non-empty query')
    ev.query = query
    return ev
  }
  const itemId = has(o, 'itemId') ? o.itemId : undefined
  if (typeof itemId !== 'string' || itemId.trim() === '') throw invalidEvent(`a ${type} event needs an itemId string`)
  if (itemId.length > LIMITS.id) throw invalidEvent(`event.itemId is longer than ${LIMITS.id} characters`)
  ev.itemId = itemId
  ev.item = validateItem(has(o, 'item') ? o.item : undefined, 'event.item')
  if (type === 'dwell') ev.dwellMs = finite(has(o, 'dwellMs') ? o.dwellMs : undefined, 'event.dwellMs')
  return ev
}

/** The keys of a track() event: anything else in a supplied history is a mistake (a misspelt `timestamp` would become now). */
const EVENT_KEYS = ['type', 'itemId', 'item', 'query', 'dwellMs', 'surface', 'timestamp'] as const

/**
 * A history the caller supplies (rerankFor), oldest first: each event as track() takes it, unknown keys refused,
 * every error naming its index. Returns fresh, clean events; throws `InvalidEventError`.
 */
export function validateEvents(raw: unknown, max: number, now = Date.now()): StoredEvent[] {
  if (!Array.isArray(raw)) throw invalidEvent('events must be an array of track() events, oldest first')
  if (raw.length > max) throw invalidEvent(`events holds ${raw.length} events; at most ${max} (the history's retention.maxEvents)`)
  return raw.map((e: unknown, i) => {
    const where = `events[${i}]`
    if (e && typeof e === 'object' && !Array.isArray(e))
      for (const k of Object.keys(e)) {
        if ((EVENT_KEYS as readonly string[]).includes(k)) continue
        const near = nearest(k, EVENT_KEYS)
        throw invalidEvent(`${where}: unknown key ${JSON.stringify(k)}${near ? ` (did you mean "${near}"?)` : ''}; valid: ${EVENT_KEYS.join(', ')}`)
      }
    try {
      return validateEvent(e, now)
    } catch (err) {
      throw invalidEvent(`${where}: ${(err as Error).message}`)
    }
  })
}
