// Candidate validation: named errors for what cannot be ranked, truncation for what is merely long.
// Builds fresh objects from known fields only.

import { InPageError } from './core/errors'
import { defaults } from './core/defaults'
import { cut, validateItem } from './history/events'
import type { Candidate } from './ranking/types'
import type { PackRecord } from './pack/format'

export const DEFAULT_MAX_CANDIDATES: number = defaults.maxCandidates
const DESCRIPTION_MAX = 2000
const VECTOR_MAX = 4096

const bad = (msg: string) => new InPageError('InvalidCandidatesError', msg)

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
const MAX_NEIGHBORS = 1000

/** A catalog-pack record as a server attaches it: checked field by field, rebuilt from known keys. */
function validatePackRecord(raw: unknown, where: string): PackRecord {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw bad(`${where} must be a catalog-pack record object`)
  const o = raw as Record<string, unknown>
  if (typeof o.p !== 'number' || !Number.isFinite(o.p) || o.p < 0) throw bad(`${where}.p (popularity) must be a finite number ≥ 0`)
  const r: PackRecord = { p: o.p }
  if (o.t !== undefined) {
    if (typeof o.t !== 'string' || o.t.length > 8192 || !BASE64.test(o.t)) throw bad(`${where}.t must be base64 of int8 values`)
    if (typeof o.s !== 'number' || !Number.isFinite(o.s) || o.s <= 0) throw bad(`${where}.s (scale) must be a finite number > 0 with t`)
    r.t = o.t
    r.s = o.s
  }
  const n = idWeights(o.n, `${where}.n`)
  if (n) r.n = n
  const f = idWeights(o.f, `${where}.f`)
  if (f) r.f = f
  return r
}

/** A record's neighbour (`n`) or next-item (`f`) list: at most MAX_NEIGHBORS [id, finite weight] pairs, copied. */
function idWeights(v: unknown, where: string): [string, number][] | undefined {
  if (v === undefined) return undefined
  if (!Array.isArray(v) || v.length > MAX_NEIGHBORS) throw bad(`${where} must be an array of at most ${MAX_NEIGHBORS} [id, weight] pairs`)
  return v.map((x, k) => {
    if (!Array.isArray(x) || typeof x[0] !== 'string' || x[0].length > 256 || typeof x[1] !== 'number' || !Number.isFinite(x[1])) throw bad(`${where}[${k}] must be [id, finite weight]`)
    return [x[0], x[1]] as [string, number]
  })
}

export function validateCandidates(raw: unknown, max = DEFAULT_MAX_CANDIDATES): Candidate[] {
  if (!Array.isArray(raw)) throw bad('candidates must be an array')
  if (raw.length > max) throw bad(`${raw.length} candidates is more than the cap of ${max} (option maxCandidates)`)
  const seen = new Set<string>()
  return raw.map((r, i) => {
    const where = `candidates[${i}]`
    if (!r || typeof r !== 'object' || Array.isArray(r)) throw bad(`${where} must be an object`)
    const o = r as Record<string, unknown>
    const id = Object.prototype.hasOwnProperty.call(o, 'id') ? o.id : undefined
    if (typeof id !== 'string' || id.trim() === '') throw bad(`${where}.id must be a non-empty string`)
    if (id.length > 256) throw bad(`${where}.id is longer than 256 characters`)
    if (seen.has(id)) throw bad(`duplicate candidate id "${id.slice(0, 80)}"`)
    seen.add(id)
    const item = validateItem(r, where, bad)
    const c: Candidate = { id, title: item.title }
    if (item.brand) c.brand = item.brand
    if (item.category) c.category = item.category
    if (item.price !== undefined) c.price = item.price
    if (typeof o.description === 'string' && o.description.trim()) c.description = cut(o.description.trim(), DESCRIPTION_MAX)
    else if (o.description !== undefined && o.description !== null && typeof o.description !== 'string') throw bad(`${where}.description must be a string`)
    if (o.score !== undefined && o.score !== null) {
      if (typeof o.score !== 'number' || !Number.isFinite(o.score)) throw bad(`${where}.score must be a finite number`)
      c.score = o.score
    }
    if (o.vector !== undefined && o.vector !== null) {
      const v = o.vector as ArrayLike<unknown>
      const ok = (Array.isArray(v) || v instanceof Float32Array || v instanceof Float64Array) && v.length <= VECTOR_MAX
      if (!ok) throw bad(`${where}.vector must be an array of at most ${VECTOR_MAX} numbers`)
      const arr = Array.from(v as ArrayLike<number>)
      if (!arr.every((x) => typeof x === 'number' && Number.isFinite(x))) throw bad(`${where}.vector must hold finite numbers`)
      c.vector = arr
    }
    if (o.pack !== undefined && o.pack !== null) c.pack = validatePackRecord(o.pack, `${where}.pack`)
    if (o.pinned === true) c.pinned = true
    if (o.sponsored === true) c.sponsored = true
    return c
  })
}
