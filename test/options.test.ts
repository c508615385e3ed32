// The one options validator (src/core/validate.ts) at every public entry: unknown keys refused with the
// valid ones listed, wrong kinds refused by key, hostile keys never copied, one error name for it all.
import { afterEach, describe, expect, it } from 'vitest'
import { createRecommender, type Recommender } from '../src/recommender'
import { validateRerankOptions, rerankOptions } from '../src/options'
import { validateExperiment } from '../src/experiment'
import { validateAnalytics } from '../src/analytics'
import { linkConsent, type ConsentTarget } from '../src/consent/index'
import { wire } from '../src/embed/wire'
import { boolean, defineOptions, nearest, number, oneOf, string } from '../src/core/validate'
import { nameOf } from './helpers'
import { createElement } from 'react'
import { renderToString } from 'react-dom/server'
import { useRerank } from '../src/react'

const cands = [{ id: 'a', title: 'A' }, { id: 'b', title: 'B' }]
const open: Recommender[] = []
const rec = (o: object = {}) => {
  const r = createRecommender({ storage: 'memory', ...o })
  open.push(r)
  return r
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.dispose()))
})
const target: ConsentTarget = { setConsent: async () => {}, status: () => ({ consent: 'pending', disposed: false }) }
const noWindow = {} as Window
const noDocument = {} as Document

/** The error `f` throws or its promise rejects with, as { name, message }. */
async function failure(f: () => unknown): Promise<{ name: string; message: string }> {
  try {
    await f()
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message }
  }
  return { name: 'no error', message: '' }
}

/** Every public entry that takes an options object, called with `o` where its options go. */
const ENTRIES: Record<string, (o: Record<string, unknown>) => unknown> = {
  createRecommender: (o) => createRecommender({ storage: 'memory', ...o } as never),
  rerank: (o) => rec().rerank(cands, o as never),
  rerankDefaults: (o) => createRecommender({ storage: 'memory', rerankDefaults: o as never }),
  'rerank diversity': (o) => rec().rerank(cands, { diversity: o as never }),
  warmUp: (o) => rec().warmUp(o as never),
  experiment: (o) => createRecommender({ storage: 'memory', experiment: { name: 'e', holdout: 0.1, ...o } as never }),
  analytics: (o) => createRecommender({ storage: 'memory', analytics: o as never }),
  retention: (o) => createRecommender({ storage: 'memory', retention: o as never }),
  'catalog pin': (o) => createRecommender({ storage: 'memory', catalog: { url: '/p/', publicKey: KEY, ...o } as never }),
  'catalog.publicKey': (o) => createRecommender({ storage: 'memory', catalog: { url: '/p/', publicKey: { ...KEY, ...o } } as never }),
  linkConsent: (o) => linkConsent(target, { platform: 'tcf', ...o } as never, noWindow),
  wire: (o) => wire(rec(), o as never, noDocument),
  // Its rejection would keep the server's order silently: useRerank checks in render.
  useRerank: (o) => renderToString(createElement(() => (useRerank(cands, { recommender: undefined, ...o }), null))),
}
const KEY = { kty: 'EC', crv: 'P-256', x: 'a'.repeat(43), y: 'b'.repeat(43) }
/** What each entry says its valid keys are, first few, in the schema's order. */
const VALID: Record<string, string> = {
  createRecommender: 'valid: name, consent, retention, storage, model, catalog, backend, wasmPaths, workerUrl',
  rerank: 'valid: surface, query, k, budgetMs, personalWeight, queryWeight, maxDisplacement, popularityPrior, excludePurchased, purchased, diversity, calibration, nearDuplicates',
  rerankDefaults: 'valid: surface, query, k, budgetMs, personalWeight',
  'rerank diversity': 'valid: lambda, maxPerCategory',
  warmUp: 'valid: encoder',
  experiment: 'valid: name, holdout',
  analytics: 'valid: ga4',
  retention: 'valid: maxEvents, maxAgeDays',
  'catalog pin': 'valid: url, publicKey',
  'catalog.publicKey': 'valid: kty, crv, x, y',
  linkConsent: 'valid: platform, notApplicable, publisherPurposes, waitMs',
  wire: 'valid: dwellMs, budgetMs',
  useRerank: 'valid: surface, query, k, budgetMs',
}

describe('unknown keys are refused, with the valid ones listed', () => {
  for (const [entry, call] of Object.entries(ENTRIES))
    it(`${entry}`, async () => {
      const e = await failure(() => call({ zzUnknown: 1 }))
      expect(e.name).toBe('InvalidOptionsError')
      expect(e.message).toMatch(/^unknown option "zzUnknown" in /)
      expect(e.message).toContain(VALID[entry])
    })

  it('a misspelt rerank option is refused, naming the one meant (no silent server order)', async () => {
    // Without the refusal this call resolves (personalWeight left at its default): the test fails then.
    const e = await failure(() => rec().rerank(cands, { persomalWeight: 0.5 } as never))
    expect(e).toEqual({
      name: 'InvalidOptionsError',
      message:
        'unknown option "persomalWeight" in rerank options (did you mean "personalWeight"?); valid: surface, query, k, budgetMs, personalWeight, queryWeight, maxDisplacement, popularityPrior, excludePurchased, purchased, diversity, calibration, nearDuplicates',
    })
    await expect(rec().rerank(cands, { personalweight: 0 } as never)).rejects.toThrow(/did you mean "personalWeight"/)
  })

  it('says where a nested key sits', async () => {
    expect((await failure(() => createRecommender({ rerankDefaults: { diversity: { lamda: 0.5 } } as never }))).message).toMatch(
      /^unknown option "lamda" in rerankDefaults\.diversity \(did you mean "lambda"\?\)/,
    )
    expect((await failure(() => createRecommender({ experiment: { name: 'e', holdot: 0.1 } as never }))).message).toMatch(
      /^unknown option "holdot" in experiment \(did you mean "holdout"\?\)/,
    )
    expect((await failure(() => createRecommender({ modle: '/m/' } as never))).message).toMatch(/in createRecommender options \(did you mean "model"\?\)/)
    expect((await failure(() => linkConsent(target, { platform: 'tcf', waitMS: 5 } as never, noWindow))).message).toMatch(/did you mean "waitMs"/)
  })

  it('did-you-mean is offered only for a near key', () => {
    const keys = rerankOptions.keys
    expect(nearest('persomalWeight', keys)).toBe('personalWeight')
    expect(nearest('BUDGETMS', keys)).toBe('budgetMs')
    expect(nearest('kk', keys)).toBe('k')
    expect(nearest('colour', keys)).toBeUndefined()
  })
})

describe('wrong kinds are refused by key', () => {
  const cases: [string, (o: Record<string, unknown>) => unknown, Record<string, unknown>, RegExp][] = [
    ['number range', ENTRIES.rerank!, { personalWeight: 1.5 }, /^personalWeight must be a number from 0 to 1, got 1.5$/],
    ['number NaN', ENTRIES.rerank!, { queryWeight: NaN }, /^queryWeight must be a finite number ≥ 0, got NaN$/],
    ['number as string', ENTRIES.rerank!, { budgetMs: '300' }, /^budgetMs must be a finite number ≥ 0, got "300"$/],
    ['integer', ENTRIES.rerank!, { k: 2.5 }, /^k must be a positive integer, got 2.5$/],
    ['positive number', ENTRIES.retention!, { maxEvents: 0 }, /^retention.maxEvents must be a number > 0, got 0$/],
    ['boolean', ENTRIES.rerank!, { popularityPrior: 'no' }, /^popularityPrior must be true or false, got "no"$/],
    ['boolean, nested', ENTRIES.analytics!, { ga4: 1 }, /^analytics.ga4 must be true or false, got 1$/],
    ['string', ENTRIES.rerank!, { query: 5 }, /^query must be a string, got 5$/],
    ['string pattern', ENTRIES.createRecommender!, { name: 'a b' }, /^name must be 1-64 letters/],
    ['string non-empty', ENTRIES.createRecommender!, { model: '' }, /^model must be the URL of the model folder, got ""$/],
    ['enum', ENTRIES.createRecommender!, { storage: 'cookie' }, /^storage must be one of 'auto', 'memory', got "cookie"$/],
    ['enum, inherited name', ENTRIES.linkConsent!, { platform: 'toString' }, /^platform must be one of 'tcf', 'gpp', 'consent-mode', 'shopify'/],
    ['nested object', ENTRIES.rerank!, { diversity: 3 }, /^diversity must be an object \{ lambda, maxPerCategory \}, got 3$/],
    ['nested array', ENTRIES.createRecommender!, { retention: [] }, /^retention must be an object \{ maxEvents, maxAgeDays \}, got an array$/],
    ['nested null', ENTRIES.createRecommender!, { experiment: null }, /^experiment must be an object \{ name, holdout \}, got null$/],
    ['nested value', ENTRIES.rerankDefaults!, { diversity: { maxPerCategory: 0 } }, /^rerankDefaults.diversity.maxPerCategory must be a positive integer, got 0$/],
    ['required', ENTRIES.createRecommender!, { experiment: { name: 'e' } }, /^experiment.holdout is required: a number from 0 to 1$/],
    ['custom', ENTRIES.createRecommender!, { catalog: 5 }, /^catalog must be the URL of the catalog pack folder, or \{ url, publicKey \}, got 5$/],
    ['custom URL', ENTRIES.createRecommender!, { workerUrl: {} }, /^workerUrl must be the URL of inpage.worker.js/],
    ['pinned key', ENTRIES['catalog.publicKey']!, { x: 'short' }, /^catalog.publicKey.x must be the key's x, 43 base64url characters, got "short"$/],
    ['top level not an object', (o) => rec().rerank(cands, o.v as never), { v: 'x' }, /^rerank options must be an object/],
  ]
  for (const [kind, call, o, message] of cases)
    it(kind, async () => {
      const e = await failure(() => call(o))
      expect(e.name).toBe('InvalidOptionsError')
      expect(e.message).toMatch(message)
    })

  it('a hostile value is shown without running its own code', async () => {
    const evil = { toString: () => { throw new Error('ran') }, valueOf: () => { throw new Error('ran') } }
    expect(await failure(() => rec().rerank(cands, { k: evil } as never))).toEqual({ name: 'InvalidOptionsError', message: 'k must be a positive integer, got an object' })
  })

  it('the defaults of the kinds read as they say', () => {
    const v = defineOptions<{ n?: number; b?: boolean; s?: string; e?: 'x' | 'y' }>('t', { n: number({ int: true, min: 0 }), b: boolean(), s: string({ max: 3 }), e: oneOf(['x', 'y']) })
    expect(v.parse({ n: undefined, b: false, s: 'abc', e: 'y' })).toEqual({ b: false, s: 'abc', e: 'y' })
    expect(nameOf(() => v.parse({ s: 'abcd' }))).toBe('InvalidOptionsError')
    expect(nameOf(() => v.parse({ n: -1 }))).toBe('InvalidOptionsError')
    expect(nameOf(() => v.parse({ e: 'z' }))).toBe('InvalidOptionsError')
    // Text a shopper typed is cut, not refused.
    expect(validateRerankOptions({ query: 'q'.repeat(1000) }).query).toHaveLength(256)
  })
})

describe('hostile keys never reach the result', () => {
  it('an own "__proto__" or "constructor" key is refused, at the top and nested', () => {
    for (const json of ['{"__proto__": {"polluted": 1}}', '{"constructor": {"prototype": {"polluted": 1}}}', '{"diversity": {"__proto__": {"lambda": 2}}}'])
      expect(() => validateRerankOptions(JSON.parse(json))).toThrow(expect.objectContaining({ name: 'InvalidOptionsError', message: expect.stringMatching(/^unknown option "(__proto__|constructor)"/) }))
    expect(nameOf(() => createRecommender(JSON.parse('{"storage": "memory", "__proto__": {"model": "/evil/"}}')))).toBe('InvalidOptionsError')
    expect(nameOf(() => linkConsent(target, JSON.parse('{"platform": "tcf", "__proto__": {"waitMs": -1}}'), noWindow))).toBe('InvalidOptionsError')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('inherited values are not read, and the copy is a plain fresh object', () => {
    // k: 0 would be refused: it is inherited, so it is never read.
    const o = Object.create({ k: 0, personalWeight: 9 }) as Record<string, unknown>
    o.budgetMs = 5
    const clean = validateRerankOptions(o)
    expect(clean).toEqual({ budgetMs: 5 })
    expect(Object.getPrototypeOf(clean)).toBe(Object.prototype)
    expect(clean).not.toBe(o)
    const pin = { url: '/p/', publicKey: KEY }
    expect(validateExperiment({ name: 'e', holdout: 0 })).toEqual({ name: 'e', holdout: 0 })
    expect(validateAnalytics(undefined)).toEqual({})
    expect(nameOf(() => createRecommender({ storage: 'memory', catalog: pin as never }).dispose())).toBe('no error')
  })
})

describe('one error name per kind of mistake', () => {
  it('an unknown key and a wrong value are InvalidOptionsError at every entry', async () => {
    const wrong: Record<string, Record<string, unknown>> = {
      createRecommender: { numThreads: 0 },
      rerank: { k: 0 },
      rerankDefaults: { k: 0 },
      'rerank diversity': { lambda: 2 },
      warmUp: { encoder: 'yes' },
      experiment: { holdout: 2 },
      analytics: { ga4: 'yes' },
      retention: { maxAgeDays: -1 },
      'catalog pin': { url: '' },
      'catalog.publicKey': { kty: 'RSA' },
      linkConsent: { waitMs: -1 },
      wire: { dwellMs: -1 },
      useRerank: { personalWeight: NaN },
    }
    const names = new Set<string>()
    for (const [entry, call] of Object.entries(ENTRIES)) {
      names.add((await failure(() => call({ zzUnknown: 1 }))).name)
      names.add((await failure(() => call(wrong[entry]!))).name)
    }
    expect([...names]).toEqual(['InvalidOptionsError'])
  })

  it('a bad consent state is the same mistake as an option and as setConsent()’s argument', async () => {
    const asOption = await failure(() => createRecommender({ storage: 'memory', consent: 'yes' as never }))
    const asVerb = await failure(() => rec().setConsent('yes' as never))
    expect(asOption).toEqual({ name: 'InvalidOptionsError', message: `consent must be one of 'pending', 'granted', 'denied', got "yes"` })
    expect(asVerb).toEqual(asOption)
  })
})

describe('rerankDefaults are checked once, at creation', () => {
  it('each call reads only its own options; later changes to the page’s object change nothing', async () => {
    let reads = 0
    const defaults = {
      get k() {
        reads++
        return 3
      },
    }
    const r = rec({ rerankDefaults: defaults })
    expect(reads).toBe(1)
    const first = await r.rerank([...cands, { id: 'c', title: 'C' }, { id: 'd', title: 'D' }])
    await r.rerank(cands, { budgetMs: 100 })
    expect(reads).toBe(1)
    expect(first.items).toHaveLength(4)
    // The defaults' k reached the call (serverOrder keeps every item, coverage looks at the top k).
    const opts = { rerankDefaults: { k: 2 } }
    const r2 = rec(opts)
    opts.rerankDefaults.k = 0 // never read again, so never refused
    expect((await r2.rerank(cands)).why).toBe('no-model')
  })

  it('warmUp() checks its options before anything else', async () => {
    const e = await failure(() => rec().warmUp({ encoder: 1 } as never))
    expect(e).toEqual({ name: 'InvalidOptionsError', message: 'encoder must be true or false, got 1' })
    expect((await failure(() => rec().warmUp({ encoder: true }))).message).toBe('warmUp() needs the model option')
  })
})

describe('the schema lists every key of its type, and no other', () => {
  it('is enforced by the type checker (npm run typecheck)', () => {
    type T = { a?: number; b?: string }
    // @ts-expect-error: b has no rule
    const missing = defineOptions<T>('t', { a: number() })
    // @ts-expect-error: c is not a key of T
    const extra = defineOptions<T>('t', { a: number(), b: string(), c: boolean() })
    // @ts-expect-error: a's rule reads a string, not a number
    const wrongKind = defineOptions<T>('t', { a: string(), b: string() })
    expect([missing, extra, wrongKind].every((v) => typeof v.parse === 'function')).toBe(true)
  })
})

describe('on(): event names', () => {
  it('refuses a name inpage never emits, listing the ones it does, and a listener that is not a function', () => {
    const r = rec()
    expect(() => r.on('histroy' as never, () => {})).toThrow(/InvalidOptionsError|unknown event "histroy"; inpage emits: history, consent, error, progress, impression, select/)
    expect(() => r.on('history', 'reload' as never)).toThrow(/must be a function/)
    let seen = 0
    const off = r.on('consent', () => seen++)
    return r.setConsent('granted').then(() => {
      off()
      expect(seen).toBe(1)
    })
  })
})
