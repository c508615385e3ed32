// The one validator of every options object a page passes (createRecommender, rerank and rerankDefaults,
// warmUp, experiment, analytics, catalog pin, inpage/consent, the script tag's wire()). Each object is
// described by a schema next to its type: one rule per key. Every mistake is an InvalidOptionsError: a
// value of the wrong kind names the key and what it must be; a key the schema does not know is refused
// with the valid ones listed (a misspelt option would otherwise be ignored without a word). The result is
// a fresh object holding only the schema's keys, read as own properties: `__proto__`, `constructor` or
// an inherited value never reach it. Pure: page code and inpage/consent use it alike.

import { invalidOptions } from './errors'

/** One key's rule: what a good value is (for the message), and how to read it. */
export interface Rule<T> {
  /** For the message: "<key> must be <what>". */
  readonly what: string
  readonly required?: boolean
  /** The clean value, or BAD. Nested objects throw their own errors, which carry the full path. */
  readonly read: (v: unknown, path: string) => T | typeof BAD
}

export const BAD: unique symbol = Symbol('bad option value')

/** A rule per key of T, every key and no other (the type checker keeps schema and interface in step). */
export type Schema<T> = { readonly [K in keyof T]-?: Rule<NonNullable<T[K]>> }

export interface OptionsValidator<T> {
  /** Names the object in messages about its keys, e.g. 'rerank options'. */
  readonly name: string
  readonly keys: readonly string[]
  /**
   * A clean copy of `raw`, or an InvalidOptionsError. `undefined` and `null` are an empty object at the
   * top (an options argument left out); `path` is where a nested object sits ('rerankDefaults').
   */
  parse(raw: unknown, path?: string): T
}

const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k)

/** How a refused value is shown: never by calling its own toString (a hostile object could run code). */
function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'object') return 'an object'
  if (typeof v === 'function') return 'a function'
  return String(v as number | boolean | bigint | symbol | undefined)
}

/** Edits between two words (insert, delete, replace, swap two neighbours: "modle" is one from "model"). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!
      row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1)
    }
  return d[a.length]![b.length]!
}

/** The valid key a typo most likely meant: the same in another case, or 1 edit away (2 for keys of 6 letters and more). */
export function nearest(key: string, keys: readonly string[]): string | undefined {
  const lower = key.toLowerCase()
  let best: string | undefined
  let bestD = (key.length >= 6 ? 2 : 1) + 1
  for (const k of keys) {
    if (k.toLowerCase() === lower) return k
    const d = distance(lower, k.toLowerCase())
    if (d < bestD) (best = k), (bestD = d)
  }
  return best
}

/** Throws InvalidOptionsError: "<path> must be <what>, got <value>". */
export function refuse(path: string, what: string, v: unknown): never {
  throw invalidOptions(`${path} must be ${what}, got ${shown(v)}`)
}

/** One value checked against one rule (a verb's single argument, e.g. setConsent's state). */
export function check<T>(rule: Rule<T>, v: unknown, path: string): T {
  const out = rule.read(v, path)
  return out === BAD ? refuse(path, rule.what, v) : out
}

/** The validator of one options object. */
export function defineOptions<T>(name: string, schema: Schema<T>): OptionsValidator<T> {
  const rules = schema as unknown as Record<string, Rule<unknown>>
  const keys = Object.keys(rules)
  return {
    name,
    keys,
    parse(raw, path = '') {
      const where = path || name
      if (raw === undefined || raw === null) {
        if (path) refuse(path, `an object { ${keys.join(', ')} }`, raw)
        raw = {}
      }
      if (typeof raw !== 'object' || Array.isArray(raw)) return refuse(where, `an object { ${keys.join(', ')} }`, raw)
      const o = raw as Record<string, unknown>
      // Unknown keys first: a misspelt required key is reported as the typo it is, not as missing.
      for (const k of Object.keys(o)) {
        if (own(rules, k)) continue
        const near = nearest(k, keys)
        throw invalidOptions(`unknown option ${JSON.stringify(k)} in ${where}${near ? ` (did you mean "${near}"?)` : ''}; valid: ${keys.join(', ')}`)
      }
      const out: Record<string, unknown> = {}
      for (const k of keys) {
        const rule = rules[k]!
        const at = path ? `${path}.${k}` : k
        const v = own(o, k) ? o[k] : undefined
        if (v === undefined) {
          if (rule.required) throw invalidOptions(`${at} is required: ${rule.what}`)
          continue
        }
        out[k] = check(rule, v, at)
      }
      return out as T
    },
  }
}

// ------------------------------------------------------------------------------------------ the kinds

export function required<T>(rule: Rule<T>): Rule<T> {
  return { ...rule, required: true }
}

/** A finite number, optionally an integer, within bounds (`above`: strictly greater). */
export function number(o: { min?: number; max?: number; above?: number; int?: boolean; what?: string } = {}): Rule<number> {
  const kind = o.int ? 'an integer' : 'a number'
  const what =
    o.what ??
    (o.min !== undefined && o.max !== undefined
      ? `${kind} from ${o.min} to ${o.max}`
      : o.int && o.min === 1
        ? 'a positive integer'
        : o.above !== undefined
          ? `${kind} > ${o.above}`
          : o.min !== undefined
            ? `${o.int ? kind : 'a finite number'} ≥ ${o.min}`
            : `a finite ${o.int ? 'integer' : 'number'}`)
  return {
    what,
    read: (v) =>
      typeof v === 'number' &&
      Number.isFinite(v) &&
      (!o.int || Number.isInteger(v)) &&
      (o.min === undefined || v >= o.min) &&
      (o.max === undefined || v <= o.max) &&
      (o.above === undefined || v > o.above)
        ? v
        : BAD,
  }
}

export function boolean(): Rule<boolean> {
  return { what: 'true or false', read: (v) => (typeof v === 'boolean' ? v : BAD) }
}

/**
 * A string. `cut`: longer ones are shortened to it (text a shopper typed); `max`: longer ones are refused;
 * `nonEmpty`, `pattern`: refused unless met (`what` then says what is allowed).
 */
export function string(o: { cut?: number; max?: number; nonEmpty?: boolean; pattern?: RegExp; what?: string } = {}): Rule<string> {
  const what = o.what ?? (o.max !== undefined ? `a string of at most ${o.max} characters` : o.nonEmpty ? 'a non-empty string' : 'a string')
  return {
    what,
    read: (v) => {
      if (typeof v !== 'string') return BAD
      if ((o.nonEmpty && v === '') || (o.max !== undefined && v.length > o.max) || (o.pattern && !o.pattern.test(v))) return BAD
      return o.cut !== undefined ? v.slice(0, o.cut) : v
    },
  }
}

/** A name that goes into storage keys and analytics (a recommender's, an experiment's). */
export function identifier(): Rule<string> {
  return string({ pattern: /^[\w.-]{1,64}$/, what: '1-64 letters, digits, "_", "." or "-"' })
}

/** One of a few strings. Compared by value, so `'toString'` or `'__proto__'` is never taken for one. */
export function oneOf<const V extends string>(values: readonly V[]): Rule<V> {
  return { what: `one of ${values.map((x) => `'${x}'`).join(', ')}`, read: (v) => (values.includes(v as V) ? (v as V) : BAD) }
}

/** A nested options object, checked by its own validator (unknown keys refused there, with its path). */
export function nested<T>(validator: OptionsValidator<T>, what = `an object { ${validator.keys.join(', ')} }`): Rule<T> {
  return {
    what,
    read: (v, path) => (v === null || typeof v !== 'object' || Array.isArray(v) ? BAD : validator.parse(v, path)),
  }
}

/** Anything else: `read` returns the clean value or BAD. */
export function custom<T>(what: string, read: (v: unknown, path: string) => T | typeof BAD): Rule<T> {
  return { what, read }
}
