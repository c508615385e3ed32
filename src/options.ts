// Validation of the options objects a page passes: a bad value is refused by name (InvalidOptionsError)
// before it can reach the engine, and a fresh object of known keys is built, so hostile keys never travel.

import { invalidOptions } from './core/errors'
import { LIMITS } from './history/events'
import type { RerankOptions } from './ranking/types'

const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k) && (o as Record<string, unknown>)[k] !== undefined

function num(o: Record<string, unknown>, key: string, where: string, ok: (x: number) => boolean, what: string): number | undefined {
  if (!has(o, key)) return undefined
  const v = o[key]
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw invalidOptions(`${where}${key} must be ${what}, got ${String(v)}`)
  return v
}

function bool(o: Record<string, unknown>, key: string, where: string): boolean | undefined {
  if (!has(o, key)) return undefined
  if (typeof o[key] !== 'boolean') throw invalidOptions(`${where}${key} must be true or false`)
  return o[key] as boolean
}

function str(o: Record<string, unknown>, key: string, where: string, max: number): string | undefined {
  if (!has(o, key)) return undefined
  if (typeof o[key] !== 'string') throw invalidOptions(`${where}${key} must be a string`)
  return (o[key] as string).slice(0, max)
}

const unit = (x: number) => x >= 0 && x <= 1
const positiveInt = (x: number) => Number.isInteger(x) && x >= 1
const nonNegative = (x: number) => x >= 0

/** Validates rerank() options (per call, or `rerankDefaults`). Throws InvalidOptionsError; returns a clean copy. */
export function validateRerankOptions(raw: unknown, where = ''): RerankOptions {
  if (raw === undefined || raw === null) return {}
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalidOptions(`${where || 'rerank options'} must be an object`)
  const o = raw as Record<string, unknown>
  const out: RerankOptions = {}
  const set = <K extends keyof RerankOptions>(k: K, v: RerankOptions[K] | undefined) => {
    if (v !== undefined) out[k] = v
  }
  set('surface', str(o, 'surface', where, LIMITS.surface))
  set('query', str(o, 'query', where, LIMITS.query))
  set('k', num(o, 'k', where, positiveInt, 'a positive integer'))
  set('budgetMs', num(o, 'budgetMs', where, nonNegative, 'a finite number ≥ 0'))
  set('personalWeight', num(o, 'personalWeight', where, unit, 'a number from 0 to 1'))
  set('queryWeight', num(o, 'queryWeight', where, nonNegative, 'a finite number ≥ 0'))
  set('maxDisplacement', num(o, 'maxDisplacement', where, (x) => Number.isInteger(x) && x >= 0, 'an integer ≥ 0'))
  set('popularityPrior', bool(o, 'popularityPrior', where))
  set('excludePurchased', bool(o, 'excludePurchased', where))
  if (has(o, 'diversity')) {
    const d = o.diversity
    if (!d || typeof d !== 'object' || Array.isArray(d)) throw invalidOptions(`${where}diversity must be an object`)
    const dv = d as Record<string, unknown>
    const lambda = num(dv, 'lambda', `${where}diversity.`, unit, 'a number from 0 to 1')
    const maxPerCategory = num(dv, 'maxPerCategory', `${where}diversity.`, positiveInt, 'a positive integer')
    out.diversity = { ...(lambda !== undefined ? { lambda } : {}), ...(maxPerCategory !== undefined ? { maxPerCategory } : {}) }
  }
  return out
}
