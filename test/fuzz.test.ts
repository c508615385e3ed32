// Hostile input, fuzzed with fast-check: whatever a page (or an attacker who controls catalog text)
// passes to track(), rerank() and the pure ranking functions, the only exceptions are inpage's named
// errors, nothing pollutes Object.prototype, and what comes out holds known keys only.
// 10,000+ cases in all (the numRuns below), well under 30 s on one core.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import fc from 'fast-check'
import { validateEvent, LIMITS } from '../src/history/events'
import { isStoredEvent } from '../src/history/store'
import { validateCandidates } from '../src/candidates'
import { rankCandidates, serverOrder } from '../src/ranking/rerank'
import { leaveOneOutRows } from '../src/ranking/reasons'
import { createRecommender } from '../src/index'
import { validateRerankOptions } from '../src/options'
import type { Candidate, RerankOptions } from '../src/ranking/types'

// Thousands of cases a property: 3–16 s each on 2 cores, 30+ s when the machine is shared. A hang still fails.
vi.setConfig({ testTimeout: 180_000 })

// A fixed seed: CI runs the same 10,000+ cases every time (a failure names its seed and path to replay);
// FUZZ_SEED=<n> explores other ones.
fc.configureGlobal({ seed: Number(process.env.FUZZ_SEED ?? 20261128) })

const NAMED = new Set(['InvalidEventError', 'InvalidCandidatesError', 'InvalidOptionsError', 'ModelDataError'])
const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__']
const EVENT_KEYS = new Set(['type', 'itemId', 'item', 'query', 'dwellMs', 'surface', 'ts'])
const ITEM_KEYS = new Set(['title', 'brand', 'category', 'price'])
const CANDIDATE_KEYS = new Set(['id', 'title', 'brand', 'category', 'description', 'price', 'score', 'vector', 'pinned', 'sponsored'])

const HUGE = 'A'.repeat(1 << 20) // 1 MiB
const numbers = fc.oneof(
  fc.double(), // NaN, ±Infinity, -0 included
  fc.constantFrom(NaN, Infinity, -Infinity, -0, Number.MAX_VALUE, Number.MIN_VALUE, -1, 1e308, 2 ** 53),
  fc.integer(),
)
const strings = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', '   ', HUGE, '<img src=x onerror=alert(1)>', '"><script>alert(1)</script>', '\u0000\ud800', ...HOSTILE_KEYS),
)
const scalars = fc.oneof(strings, numbers, fc.boolean(), fc.constantFrom(null, undefined), fc.bigInt(), fc.constant(Symbol('s')))

/** An object with own properties under any key, hostile ones included (defined, never assigned). */
function objectOf(keys: fc.Arbitrary<string>, values: fc.Arbitrary<unknown>) {
  return fc.array(fc.tuple(keys, values), { maxLength: 8 }).map((pairs) => {
    const o: Record<string, unknown> = {}
    for (const [k, v] of pairs) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
    return o
  })
}

const { anyValue } = fc.letrec((tie) => ({
  anyValue: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalars,
    fc.array(tie('anyValue'), { maxLength: 4 }),
    objectOf(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom(...HOSTILE_KEYS)), tie('anyValue')),
  ),
}))

/** Item-shaped objects: the right keys with wrong values (and hostile extras), most of the time. */
const itemLike = objectOf(
  fc.constantFrom('title', 'brand', 'category', 'price', 'title', 'title', ...HOSTILE_KEYS),
  fc.oneof(strings, numbers, fc.array(fc.oneof(strings, numbers), { maxLength: 20 }), anyValue),
)
const eventLike = fc.oneof(
  anyValue,
  objectOf(
    fc.constantFrom('type', 'itemId', 'item', 'query', 'dwellMs', 'surface', 'timestamp', 'type', 'itemId', 'item', ...HOSTILE_KEYS),
    fc.oneof(fc.constantFrom('view', 'click', 'add_to_cart', 'purchase', 'search', 'dwell'), strings, numbers, itemLike, anyValue),
  ),
  // Mostly valid events with one field fuzzed: reaches the deep checks.
  fc.record({
    type: fc.constantFrom('view', 'click', 'add_to_cart', 'purchase', 'search', 'dwell'),
    itemId: fc.oneof(fc.string({ minLength: 1, maxLength: 300 }), anyValue),
    item: fc.oneof(fc.record({ title: strings, category: fc.array(strings, { maxLength: 30 }), price: numbers }), itemLike),
    query: strings,
    dwellMs: numbers,
    timestamp: fc.oneof(numbers, fc.constant(undefined)),
  }),
)
const candidateLike = fc.oneof(
  { weight: 1, arbitrary: anyValue },
  {
    weight: 4,
    arbitrary: objectOf(
      fc.constantFrom('id', 'title', 'brand', 'category', 'description', 'price', 'score', 'vector', 'pinned', 'sponsored', 'id', 'title', ...HOSTILE_KEYS),
      fc.oneof(strings, numbers, fc.array(numbers, { maxLength: 8 }), fc.float32Array({ maxLength: 8 }), anyValue),
    ),
  },
  {
    weight: 4,
    arbitrary: fc.record(
      {
        id: fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), anyValue),
        title: strings,
        brand: strings,
        category: fc.array(strings, { maxLength: 14 }),
        price: numbers,
        score: numbers,
        vector: fc.oneof(fc.array(numbers, { maxLength: 16 }), fc.float64Array({ maxLength: 16 })),
        pinned: fc.oneof(fc.boolean(), anyValue),
        sponsored: fc.boolean(),
        description: strings,
      },
      { requiredKeys: ['id', 'title'] },
    ),
  },
)
/** Lists a storefront might really send: mostly well-typed, with hostile text, keys and numbers mixed in. */
const plausibleList = fc.uniqueArray(
  fc
    .record(
      {
        id: fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s.trim() !== ''),
        title: fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.constantFrom(HUGE, '<img src=x onerror=alert(1)>', '__proto__')),
        brand: fc.oneof(fc.string({ maxLength: 20 }), fc.constant(null)),
        category: fc.array(fc.string({ maxLength: 20 }), { maxLength: 14 }),
        price: fc.oneof(fc.double({ min: 0, max: 1e9, noNaN: true }), fc.constant(undefined)),
        score: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(undefined)),
        vector: fc.oneof(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 70 }), fc.constant(undefined)),
        description: fc.oneof(fc.string({ maxLength: 50 }), fc.constant(HUGE)),
        pinned: fc.boolean(),
        sponsored: fc.boolean(),
      },
      { requiredKeys: ['id', 'title'] },
    )
    .chain((c) =>
      objectOf(fc.constantFrom(...HOSTILE_KEYS), anyValue).map((extra) => {
        for (const k of Reflect.ownKeys(extra)) Object.defineProperty(c, k, Object.getOwnPropertyDescriptor(extra, k)!)
        return c
      }),
    ),
  { selector: (c) => c.id, maxLength: 30 },
)

const optionsLike: fc.Arbitrary<RerankOptions> = fc.record({
  k: numbers,
  personalWeight: numbers,
  queryWeight: numbers,
  maxDisplacement: numbers,
  excludePurchased: fc.boolean(),
  diversity: fc.record({ lambda: numbers, maxPerCategory: numbers }, { requiredKeys: [] }),
}, { requiredKeys: [] }) as fc.Arbitrary<RerankOptions>

function protoSnapshot() {
  return [Object.prototype, Array.prototype, Function.prototype, String.prototype].map((p) =>
    Object.getOwnPropertyNames(p).map((n) => `${n}:${typeof Object.getOwnPropertyDescriptor(p, n)!.value}`).sort().join(','),
  )
}
let before: string[]
beforeAll(() => {
  before = protoSnapshot()
})
afterAll(() => {
  // Nothing was added to or replaced on the built-in prototypes by any of the cases above.
  expect(protoSnapshot()).toEqual(before)
  expect(({} as Record<string, unknown>).polluted).toBeUndefined()
})

/** Runs f: returns its value, or the name of a named error; anything else fails the property. */
function named<T>(f: () => T): T | { error: string } {
  try {
    return f()
  } catch (e) {
    const name = (e as Error)?.name
    if (!NAMED.has(name)) throw new Error(`unnamed exception: ${String(name)}: ${(e as Error)?.message}`)
    return { error: name }
  }
}
const isError = (x: unknown): x is { error: string } => !!x && typeof x === 'object' && 'error' in x && Object.keys(x).length === 1

function onlyKeys(o: object, allowed: Set<string>) {
  for (const k of Reflect.ownKeys(o)) if (typeof k !== 'string' || !allowed.has(k)) throw new Error(`unexpected key ${String(k)}`)
  if (Object.getPrototypeOf(o) !== Object.prototype) throw new Error('prototype replaced')
}

function checkCleanItem(it: unknown) {
  onlyKeys(it as object, ITEM_KEYS)
  const i = it as Record<string, unknown>
  expect(typeof i.title).toBe('string')
  expect((i.title as string).length).toBeLessThanOrEqual(LIMITS.title)
  if (i.category !== undefined) expect(Array.isArray(i.category) && i.category.every((c) => typeof c === 'string')).toBe(true)
  if (i.price !== undefined) expect(Number.isFinite(i.price) && (i.price as number) >= 0).toBe(true)
}

describe('fuzz: validateEvent (what track() runs)', () => {
  it('returns a clean event or throws InvalidEventError, never anything else (4,000 cases)', () => {
    let accepted = 0
    fc.assert(
      fc.property(eventLike, (raw) => {
        const out = named(() => validateEvent(raw))
        if (isError(out)) {
          expect(out.error).toBe('InvalidEventError')
          return
        }
        accepted++
        onlyKeys(out, EVENT_KEYS)
        expect(Number.isFinite(out.ts)).toBe(true)
        if (out.item) checkCleanItem(out.item)
        if (out.itemId !== undefined) expect(typeof out.itemId === 'string' && out.itemId.length <= LIMITS.id).toBe(true)
        if (out.query !== undefined) expect(out.query.length).toBeLessThanOrEqual(LIMITS.query)
        if (out.dwellMs !== undefined) expect(Number.isFinite(out.dwellMs)).toBe(true)
        // The clean event survives structured clone (IndexedDB, postMessage) unchanged, and the check
        // on read accepts it: no valid event is ever skipped as corrupt.
        expect(structuredClone(out)).toEqual(out)
        expect(isStoredEvent(structuredClone(out))).toBe(true)
      }),
      { numRuns: 4000 },
    )
    expect(accepted).toBeGreaterThan(200) // the generators reach the accepting paths, not only the first check
  })
})

/** Records of the stored shape (what the history holds): without them almost no case reaches the accepting branch. */
const storedLike = fc.record({
  type: fc.constantFrom('view', 'click', 'add_to_cart', 'purchase', 'search', 'dwell'),
  itemId: fc.string({ minLength: 1, maxLength: 40 }),
  item: fc.record({ title: fc.string({ maxLength: 80 }), category: fc.array(fc.string({ maxLength: 20 }), { maxLength: 4 }) }),
  ts: fc.integer({ min: 0, max: 4e12 }),
})

describe('fuzz: isStoredEvent (what reading the history runs on every record)', () => {
  it('never throws, and accepts only records the engine can read (1,000 cases)', () => {
    let accepted = 0
    fc.assert(
      fc.property(fc.oneof(anyValue, eventLike, eventLike.map((e) => ({ ...(e as object), ts: Date.now() })), storedLike), (raw) => {
        const ok = isStoredEvent(raw)
        if (!ok) return
        accepted++
        const e = raw as unknown as Record<string, unknown>
        expect(Number.isFinite(e.ts)).toBe(true)
        const item = e.item as Record<string, unknown> | undefined
        if (item !== undefined) {
          expect(typeof item.title).toBe('string')
          expect(item.category === undefined || (Array.isArray(item.category) && item.category.every((c) => typeof c === 'string'))).toBe(true)
        }
      }),
      { numRuns: 1000 },
    )
    expect(accepted).toBeGreaterThan(100) // the checks on accepted records ran, not only the refusals
  })
})

describe('fuzz: validateCandidates (what rerank() runs first)', () => {
  it('returns clean candidates or throws InvalidCandidatesError (3,000 cases)', () => {
    let accepted = 0
    fc.assert(
      fc.property(
        fc.oneof({ weight: 1, arbitrary: anyValue }, { weight: 4, arbitrary: fc.array(candidateLike, { maxLength: 12 }) }, { weight: 4, arbitrary: plausibleList }),
        (raw) => {
        const out = named(() => validateCandidates(raw))
        if (isError(out)) {
          expect(out.error).toBe('InvalidCandidatesError')
          return
        }
        expect(out).toHaveLength((raw as unknown[]).length)
        if (out.length) accepted++
        for (const c of out) {
          onlyKeys(c, CANDIDATE_KEYS)
          expect(typeof c.id).toBe('string')
          if (c.vector) expect(c.vector.every((x) => Number.isFinite(x))).toBe(true)
          if (c.score !== undefined) expect(Number.isFinite(c.score)).toBe(true)
          if (c.pinned !== undefined) expect(c.pinned).toBe(true)
        }
        expect(structuredClone(out)).toEqual(out)
        },
      ),
      { numRuns: 3000 },
    )
    expect(accepted).toBeGreaterThan(100)
  })

  it('10,000 items: over the default cap → InvalidCandidatesError; under a raised cap → validated', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => ({ id: `i${i}`, title: `<b>${i}</b>`, price: i, __proto__: { polluted: 1 } }))
    expect((named(() => validateCandidates(many)) as { error: string }).error).toBe('InvalidCandidatesError')
    const ok = validateCandidates(many, 10_000)
    expect(ok).toHaveLength(10_000)
    expect(Object.keys(ok[0]!).sort()).toEqual(['id', 'price', 'title'])
  })
})

/** Candidates that passed validation: the ranking functions' real input domain. */
const validCandidates = fc
  .oneof(fc.array(candidateLike, { maxLength: 40 }), plausibleList as fc.Arbitrary<unknown[]>)
  .map((raw) => {
    const seen = new Set<unknown>()
    const dedup = raw.filter((c) => {
      const id = (c as { id?: unknown })?.id
      if (seen.has(id)) return false
      seen.add(id)
      return true
    })
    const out: Candidate[] = []
    for (const c of dedup) {
      try {
        out.push(...validateCandidates([c]))
      } catch {
        /* dropped: the page would have got InvalidCandidatesError */
      }
    }
    return out
  })

describe('fuzz: the pure ranking functions', () => {
  it('rankCandidates returns a permutation for any personal scores and any options (2,500 cases)', () => {
    let ranked = 0
    fc.assert(
      fc.property(
        validCandidates,
        fc.array(numbers, { minLength: 40, maxLength: 40 }),
        fc.option(fc.array(numbers, { minLength: 40, maxLength: 40 })),
        optionsLike,
        fc.array(fc.option(fc.array(numbers, { maxLength: 8 })), { minLength: 40, maxLength: 40 }),
        fc.boolean(),
        (cands, personal, query, options, vectors, withReasons) => {
          const n = cands.length
          const events = withReasons ? [{ type: 'view' as const, itemId: 'h', title: '<img src=x onerror=alert(1)>' }] : undefined
          const run = () =>
            rankCandidates({
              candidates: cands,
              personal: personal.slice(0, n),
              queryRelevance: query?.slice(0, n),
              vectors: vectors.slice(0, n).map((v) => v ?? undefined),
              without: events && leaveOneOutRows([personal.slice(0, n).map((p) => p - 1)]),
              events,
            }, options, new Set(cands.filter((_, i) => i % 3 === 0).map((c) => c.id)))
          // Non-finite scores (or weights the public API would have refused) are ModelDataError, never an order.
          const finite = personal.slice(0, n).every(Number.isFinite) && (!query || query.slice(0, n).every(Number.isFinite))
          const validOptions = !isError(named(() => validateRerankOptions(options)))
          const out = named(run)
          if (isError(out)) {
            expect(out.error).toBe('ModelDataError')
            expect(finite && validOptions).toBe(false)
            return
          }
          expect(finite).toBe(true)
          if (n > 1) ranked++
          const kept = options.excludePurchased ? cands.filter((_, i) => i % 3 !== 0) : cands
          expect(out.items.map((i) => i.id).sort()).toEqual(kept.map((c) => c.id).sort())
          for (const it of out.items) expect(cands[it.serverRank]!.id).toBe(it.id)
          const s = serverOrder(cands, options.k)
          expect(s.items.map((i) => i.id)).toEqual(cands.map((c) => c.id))
        },
      ),
      { numRuns: 2500 },
    )
    expect(ranked).toBeGreaterThan(100) // orders of two or more candidates were checked, not only ModelDataError
  })

  it('a k the public API refuses (0, negative, fractional, NaN) still ends, with reasons', () => {
    const cands = Array.from({ length: 5 }, (_, i): Candidate => ({ id: `c${i}`, title: `t${i}` }))
    const personal = [0, 1, 2, 3, 4]
    const events = [{ type: 'view' as const, itemId: 'h', title: 'h' }]
    for (const k of [0, -3, 0.5, NaN]) {
      const out = rankCandidates({ candidates: cands, personal, without: leaveOneOutRows([personal.map((p) => p - 1)]), events }, { k })
      expect(out.items.map((i) => i.id).sort()).toEqual(cands.map((c) => c.id))
    }
  })

  it('10,000 candidates with diversity and guardrails rank in one piece', () => {
    const cands = Array.from({ length: 10_000 }, (_, i): Candidate => ({ id: `c${i}`, title: `t${i}`, category: [`c${i % 7}`], pinned: i % 97 === 0 }))
    const personal = cands.map((_, i) => Math.sin(i))
    const out = rankCandidates({ candidates: cands, personal }, { k: 50, diversity: { lambda: 0.5, maxPerCategory: 3 }, maxDisplacement: 20 })
    expect(new Set(out.items.map((i) => i.id)).size).toBe(10_000)
  })
})

describe('fuzz: the public API (createRecommender in memory, no model)', () => {
  it('track() and rerank() throw only named errors and never reject otherwise (800 cases)', async () => {
    const rec = createRecommender({ storage: 'memory', consent: 'granted', name: 'fuzz' })
    const errors: string[] = []
    rec.on('error', (e) => errors.push(e.name))
    await fc.assert(
      fc.asyncProperty(eventLike, fc.oneof(anyValue, fc.array(candidateLike, { maxLength: 6 })), async (ev, cands) => {
        // track() never throws synchronously: bad input rejects.
        const t = named(() => rec.track(ev as never))
        expect(isError(t)).toBe(false)
        const settled = await (t as Promise<void>).then(() => 'ok', (e: Error) => e.name)
        if (settled !== 'ok') expect(settled).toBe('InvalidEventError')
        let r: unknown
        try {
          r = await rec.rerank(cands as never)
        } catch (e) {
          expect((e as Error).name).toBe('InvalidCandidatesError')
          return
        }
        expect((r as { why: string }).why).toBe('no-model')
      }),
      { numRuns: 800 },
    )
    // The options object is checked too: hostile options are refused by name.
    for (const bad of [{ name: '__proto__/x' }, { name: 5 }, { retention: { maxEvents: NaN } }, { retention: { maxAgeDays: -Infinity } }, { numThreads: 1.5 }, { maxCandidates: Infinity }, { consent: 'yes' }, { storage: 'cookie' }])
      expect((named(() => createRecommender(bad as never)) as { error: string }).error).toBe('InvalidOptionsError')
    await rec.flush()
    expect(errors).toEqual([]) // no storage fault was caused by any accepted event
    const doc = await rec.exportData()
    expect(doc.events.length).toBeLessThanOrEqual(1000)
    for (const e of doc.events) onlyKeys(e, EVENT_KEYS)
    await rec.dispose()
  })
})
