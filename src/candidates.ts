// Candidate validation: named errors for what cannot be ranked, truncation for what is merely long.
// Builds fresh objects from known fields only.

import { InPageError } from './errors'
import { defaults } from './defaults'
import { cut, validateItem } from './history/events'
import type { Candidate } from './ranking/types'

export const DEFAULT_MAX_CANDIDATES: number = defaults.maxCandidates
const DESCRIPTION_MAX = 2000
const VECTOR_MAX = 4096

const bad = (msg: string) => new InPageError('InvalidCandidatesError', msg)

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
    if (o.pinned === true) c.pinned = true
    if (o.sponsored === true) c.sponsored = true
    return c
  })
}
