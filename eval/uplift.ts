// `npm run eval -- uplift --events <analytics export CSV>`: the holdout's result on the store's own
// shoppers. CTR (selects per impression) and conversion (share of shoppers who bought) per arm, with
// 95 % intervals, the difference between the arms, and how many shoppers a given uplift needs.
// The CSV format is in eval/README.md ("Uplift"). Statistics:
//   - conversion per arm: exact (Clopper-Pearson) interval;
//   - CTR per arm and both differences: bootstrap over shoppers (the unit the holdout randomizes),
//     each arm resampled on its own, seeded, percentile interval;
//   - sample size: the normal approximation for two proportions (conversion) and, for CTR, the delta
//     method's per-shopper variance of the holdout arm, both with the observed holdout share.

import { readFileSync } from 'node:fs'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { parseCsv } from '../node/csv'
import { usageErrors } from '../node/usage'

export const UPLIFT_USAGE = `usage:
  npm run eval -- uplift --events <export.csv> [--mde 0.05] [--power 0.8] [--alpha 0.05]
                         [--bootstrap 2000] [--seed 1] [--json]
  CSV: a header row with event, shopper, variant (any order, more columns ignored); one row per
  impression (or view_item_list), select (or select_item) and purchase. See eval/README.md, "Uplift".`
const usage = usageErrors(UPLIFT_USAGE)

export type Arm = 'personalized' | 'holdout'
const ARMS: readonly Arm[] = ['personalized', 'holdout']

/** Per shopper, one arm: impressions, selects, whether they bought. */
export interface ArmData {
  impressions: Float64Array
  selects: Float64Array
  bought: Uint8Array
}

export interface ReadReport {
  arms: Record<Arm, ArmData>
  rows: number
  /** Rows of other events (page_view, add_to_cart, …): not counted. */
  ignoredRows: number
  /** Shoppers with rows of both arms (e.g. their key was reset): left out of both. */
  mixedShoppers: number
  /** Shoppers with no variant on any row (e.g. purchases of shoppers never shown a list): left out. */
  unassignedShoppers: number
}

const EVENT_NAMES: Record<string, 'impression' | 'select' | 'purchase'> = {
  impression: 'impression',
  view_item_list: 'impression',
  select: 'select',
  select_item: 'select',
  purchase: 'purchase',
}

/** A bad export, named so the CLI reports it plainly. */
export class UpliftInputError extends Error {
  override name = 'UpliftInputError'
}

/** Reads the export: one row per event, grouped by shopper. */
export function readEvents(text: string): ReadReport {
  const rows = parseCsv(text.replace(/^\uFEFF/, ''))
  const header = rows[0]?.map((h) => h.trim().toLowerCase())
  if (!header) throw new UpliftInputError('the CSV is empty')
  const col = (name: string) => {
    const i = header.indexOf(name)
    if (i < 0) throw new UpliftInputError(`the CSV has no "${name}" column (header: ${header.join(',')})`)
    return i
  }
  const [ei, si, vi] = [col('event'), col('shopper'), col('variant')]
  const shoppers = new Map<string, { variant?: Arm; mixed: boolean; imp: number; sel: number; bought: boolean }>()
  let ignoredRows = 0
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r]!
    const kind = EVENT_NAMES[(row[ei] ?? '').trim().toLowerCase()]
    if (!kind) {
      ignoredRows++
      continue
    }
    const key = (row[si] ?? '').trim()
    if (!key) throw new UpliftInputError(`row ${r + 1}: the shopper column is empty`)
    const v = (row[vi] ?? '').trim().toLowerCase()
    if (v && v !== 'personalized' && v !== 'holdout') throw new UpliftInputError(`row ${r + 1}: variant must be personalized, holdout or empty, not ${JSON.stringify(row[vi])}`)
    let s = shoppers.get(key)
    if (!s) shoppers.set(key, (s = { mixed: false, imp: 0, sel: 0, bought: false }))
    if (v) {
      if (s.variant && s.variant !== v) s.mixed = true
      s.variant ??= v as Arm
    }
    if (kind === 'impression') s.imp++
    else if (kind === 'select') s.sel++
    else s.bought = true
  }
  const lists: Record<Arm, { imp: number[]; sel: number[]; bought: number[] }> = {
    personalized: { imp: [], sel: [], bought: [] },
    holdout: { imp: [], sel: [], bought: [] },
  }
  let mixedShoppers = 0
  let unassignedShoppers = 0
  for (const s of shoppers.values()) {
    if (s.mixed) mixedShoppers++
    else if (!s.variant) unassignedShoppers++
    else {
      const l = lists[s.variant]
      l.imp.push(s.imp)
      l.sel.push(s.sel)
      l.bought.push(s.bought ? 1 : 0)
    }
  }
  const arm = (a: Arm): ArmData => ({
    impressions: Float64Array.from(lists[a].imp),
    selects: Float64Array.from(lists[a].sel),
    bought: Uint8Array.from(lists[a].bought),
  })
  return { arms: { personalized: arm('personalized'), holdout: arm('holdout') }, rows: rows.length - 1, ignoredRows, mixedShoppers, unassignedShoppers }
}

// ---------------------------------------------------------------- statistics

/** mulberry32: a small seeded generator, so every report is reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function logGamma(x: number): number {
  const c = [76.18009172947146, -86.50532032941677, 24.01409824083091, -1.231739572450155, 0.1208650973866179e-2, -0.5395239384953e-5]
  let y = x
  const t = x + 5.5 - (x + 0.5) * Math.log(x + 5.5)
  let s = 1.000000000190015
  for (const ci of c) s += ci / ++y
  return -t + Math.log((2.5066282746310005 * s) / x)
}

/** Continued fraction of the incomplete beta function (Numerical Recipes' betacf). */
function betacf(a: number, b: number, x: number): number {
  const qab = a + b
  const qap = a + 1
  const qam = a - 1
  let c = 1
  let d = 1 - (qab * x) / qap
  if (Math.abs(d) < 1e-300) d = 1e-300
  d = 1 / d
  let h = d
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2))
    d = 1 + aa * d
    if (Math.abs(d) < 1e-300) d = 1e-300
    c = 1 + aa / c
    if (Math.abs(c) < 1e-300) c = 1e-300
    d = 1 / d
    h *= d * c
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2))
    d = 1 + aa * d
    if (Math.abs(d) < 1e-300) d = 1e-300
    c = 1 + aa / c
    if (Math.abs(c) < 1e-300) c = 1e-300
    d = 1 / d
    const del = d * c
    h *= del
    if (Math.abs(del - 1) < 1e-14) break
  }
  return h
}

/** The regularized incomplete beta function I_x(a, b). */
export function betaInc(x: number, a: number, b: number): number {
  if (x <= 0) return 0
  if (x >= 1) return 1
  const bt = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x))
  return x < (a + 1) / (a + b + 2) ? (bt * betacf(a, b, x)) / a : 1 - (bt * betacf(b, a, 1 - x)) / b
}

/** The p-quantile of Beta(a, b), by bisection (monotone, 60 halvings: far below any shown digit). */
function betaQuantile(p: number, a: number, b: number): number {
  let lo = 0
  let hi = 1
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2
    if (betaInc(mid, a, b) < p) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

/** Clopper-Pearson: the exact interval for k successes of n at level 1 - alpha. */
export function clopperPearson(k: number, n: number, alpha = 0.05): [number, number] {
  if (n === 0) return [0, 1]
  return [k === 0 ? 0 : betaQuantile(alpha / 2, k, n - k + 1), k === n ? 1 : betaQuantile(1 - alpha / 2, k + 1, n - k)]
}

/** The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628274631]
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572]
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783]
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416]
  const tail = (t: number) => {
    const r = Math.sqrt(-2 * Math.log(t))
    return (((((c[0]! * r + c[1]!) * r + c[2]!) * r + c[3]!) * r + c[4]!) * r + c[5]!) / ((((d[0]! * r + d[1]!) * r + d[2]!) * r + d[3]!) * r + 1)
  }
  if (p < 0.02425) return tail(p)
  if (p > 1 - 0.02425) return -tail(1 - p)
  const q = p - 0.5
  const r = q * q
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
}

const sum = (xs: ArrayLike<number>) => {
  let s = 0
  for (let i = 0; i < xs.length; i++) s += xs[i]!
  return s
}

function quantile(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p
  const lo = Math.floor(h)
  return sorted[lo]! + (h - lo) * ((sorted[Math.min(lo + 1, sorted.length - 1)] ?? sorted[lo]!) - sorted[lo]!)
}

export interface Interval {
  estimate: number
  lo: number
  hi: number
}

export interface ArmReport {
  shoppers: number
  impressions: number
  selects: number
  purchasers: number
  ctr: Interval
  conversion: Interval
}

export interface Difference {
  /** personalized − holdout. */
  absolute: Interval
  /** (personalized − holdout) / holdout; NaN when the holdout's rate is 0. */
  relative: Interval
  /** The interval of the absolute difference excludes 0. */
  significant: boolean
}

export interface UpliftReport {
  level: number
  bootstrap: number
  seed: number
  arms: Record<Arm, ArmReport>
  ctr: Difference
  conversion: Difference
  /** Shoppers in all (both arms, at the observed holdout share) to detect a relative uplift of `mde`. */
  sampleSize: { mde: number; power: number; holdoutShare: number; conversion: number; ctr: number }
}

export interface UpliftOptions {
  alpha?: number
  bootstrap?: number
  seed?: number
  mde?: number
  power?: number
}

/** Each arm's totals of one bootstrap resample of its shoppers (indices drawn with replacement). */
function resample(d: ArmData, rand: () => number): { imp: number; sel: number; bought: number } {
  const n = d.bought.length
  let imp = 0
  let sel = 0
  let bought = 0
  for (let i = 0; i < n; i++) {
    const j = (rand() * n) | 0
    imp += d.impressions[j]!
    sel += d.selects[j]!
    bought += d.bought[j]!
  }
  return { imp, sel, bought }
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : Number.NaN)

export function analyze(arms: Record<Arm, ArmData>, o: UpliftOptions = {}): UpliftReport {
  const alpha = o.alpha ?? 0.05
  const B = o.bootstrap ?? 2000
  const seed = o.seed ?? 1
  const mde = o.mde ?? 0.05
  const power = o.power ?? 0.8
  for (const a of ARMS) if (arms[a].bought.length === 0) throw new UpliftInputError(`no shopper of the ${a} arm in the export`)
  const rand = rng(seed)
  const boot = { ctr: ARMS.map(() => new Float64Array(B)), conv: ARMS.map(() => new Float64Array(B)) }
  const dCtr = new Float64Array(B)
  const dConv = new Float64Array(B)
  const rCtr = new Float64Array(B)
  const rConv = new Float64Array(B)
  for (let b = 0; b < B; b++) {
    const [p, h] = ARMS.map((a) => resample(arms[a], rand)) as [ReturnType<typeof resample>, ReturnType<typeof resample>]
    const np = arms.personalized.bought.length
    const nh = arms.holdout.bought.length
    const cp = ratio(p.sel, p.imp)
    const ch = ratio(h.sel, h.imp)
    boot.ctr[0]![b] = cp
    boot.ctr[1]![b] = ch
    boot.conv[0]![b] = p.bought / np
    boot.conv[1]![b] = h.bought / nh
    dCtr[b] = cp - ch
    dConv[b] = p.bought / np - h.bought / nh
    rCtr[b] = cp / ch - 1
    rConv[b] = p.bought / np / (h.bought / nh) - 1
  }
  const interval = (estimate: number, xs: Float64Array): Interval => {
    const finite = Float64Array.from(xs.filter(Number.isFinite)).sort()
    if (!finite.length || !Number.isFinite(estimate)) return { estimate, lo: Number.NaN, hi: Number.NaN }
    return { estimate, lo: quantile(finite, alpha / 2), hi: quantile(finite, 1 - alpha / 2) }
  }
  const report = (a: Arm, i: number): ArmReport => {
    const d = arms[a]
    const n = d.bought.length
    const imp = sum(d.impressions)
    const sel = sum(d.selects)
    const bought = sum(d.bought)
    const [lo, hi] = clopperPearson(bought, n, alpha)
    return { shoppers: n, impressions: imp, selects: sel, purchasers: bought, ctr: interval(ratio(sel, imp), boot.ctr[i]!), conversion: { estimate: bought / n, lo, hi } }
  }
  const P = report('personalized', 0)
  const H = report('holdout', 1)
  const diff = (p: number, h: number, abs: Float64Array, rel: Float64Array): Difference => {
    const absolute = interval(p - h, abs)
    return { absolute, relative: interval(p / h - 1, rel), significant: absolute.lo > 0 || absolute.hi < 0 }
  }
  const f = H.shoppers / (H.shoppers + P.shoppers)
  return {
    level: 1 - alpha,
    bootstrap: B,
    seed,
    arms: { personalized: P, holdout: H },
    ctr: diff(P.ctr.estimate, H.ctr.estimate, dCtr, rCtr),
    conversion: diff(P.conversion.estimate, H.conversion.estimate, dConv, rConv),
    sampleSize: {
      mde,
      power,
      holdoutShare: f,
      conversion: sampleSizeProportions(H.conversion.estimate, mde, f, alpha, power),
      ctr: sampleSizeRatio(arms.holdout, mde, f, alpha, power),
    },
  }
}

/**
 * Shoppers in all to detect a relative uplift `mde` of a rate `p0` (the holdout's), a share `f` held
 * out, two-sided at `alpha` with `power`: the normal approximation for two proportions, unequal arms.
 */
export function sampleSizeProportions(p0: number, mde: number, f: number, alpha = 0.05, power = 0.8): number {
  const p1 = p0 * (1 + mde)
  if (!(p0 > 0 && p1 < 1 && f > 0 && f < 1 && mde !== 0)) return Number.NaN
  const za = normalQuantile(1 - alpha / 2)
  const zb = normalQuantile(power)
  const pbar = (1 - f) * p1 + f * p0
  const a = za * Math.sqrt(pbar * (1 - pbar) * (1 / (1 - f) + 1 / f))
  const b = zb * Math.sqrt((p1 * (1 - p1)) / (1 - f) + (p0 * (1 - p0)) / f)
  return Math.ceil(((a + b) / (p1 - p0)) ** 2)
}

/**
 * The same for CTR, a ratio of sums over shoppers: its per-shopper variance by the delta method
 * (linearized selects − CTR × impressions, over mean impressions), taken from the holdout arm.
 */
export function sampleSizeRatio(d: ArmData, mde: number, f: number, alpha = 0.05, power = 0.8): number {
  const n = d.bought.length
  const imp = sum(d.impressions)
  const r = ratio(sum(d.selects), imp)
  if (!(n > 1 && r > 0 && f > 0 && f < 1 && mde !== 0)) return Number.NaN
  const mean = imp / n
  let v = 0
  for (let i = 0; i < n; i++) v += ((d.selects[i]! - r * d.impressions[i]!) / mean) ** 2
  v /= n - 1
  const z = normalQuantile(1 - alpha / 2) + normalQuantile(power)
  return Math.ceil((z * z * v * (1 / (1 - f) + 1 / f)) / (r * mde) ** 2)
}

// ---------------------------------------------------------------- report

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(2)} %` : 'n/a')
const pp = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)}` : 'n/a')
const ci = (i: Interval, f: (x: number) => string) => `${f(i.estimate)} [${f(i.lo)}, ${f(i.hi)}]`

export function markdown(r: UpliftReport, read?: Omit<ReadReport, 'arms'>): string {
  const L = `${Math.round(r.level * 100)} %`
  const lines = [
    `| arm | shoppers | impressions | selects | CTR [${L} CI] | purchasers | conversion [${L} CI] |`,
    '|---|---:|---:|---:|---|---:|---|',
    ...ARMS.map((a) => {
      const x = r.arms[a]
      return `| ${a} | ${x.shoppers} | ${x.impressions} | ${x.selects} | ${ci(x.ctr, pct)} | ${x.purchasers} | ${ci(x.conversion, pct)} |`
    }),
    '',
    `| personalized − holdout | absolute, points [${L} CI] | relative [${L} CI] | |`,
    '|---|---|---|---|',
    `| CTR | ${ci(r.ctr.absolute, pp)} | ${ci(r.ctr.relative, pp)} % | ${r.ctr.significant ? 'significant' : 'not significant'} |`,
    `| conversion | ${ci(r.conversion.absolute, pp)} | ${ci(r.conversion.relative, pp)} % | ${r.conversion.significant ? 'significant' : 'not significant'} |`,
    '',
    `CTR intervals and both differences: bootstrap over shoppers, ${r.bootstrap} resamples, seed ${r.seed}; conversion per arm: exact (Clopper-Pearson).`,
    `To detect a ${(r.sampleSize.mde * 100).toFixed(1)} % relative uplift with ${Math.round(r.sampleSize.power * 100)} % power at ${Math.round((1 - r.level) * 100)} % (two-sided), holdout share ${pct(r.sampleSize.holdoutShare)}: ` +
      `conversion needs ${fmtN(r.sampleSize.conversion)} shoppers in all, CTR ${fmtN(r.sampleSize.ctr)}.`,
  ]
  const small = ARMS.filter((a) => r.arms[a].shoppers < 100 || r.arms[a].purchasers < 10)
  if (small.length) lines.push(`Few shoppers or purchasers in ${small.join(' and ')}: the bootstrap intervals are rough at this size; wait for more data.`)
  if (read)
    lines.push(
      `Read ${read.rows} rows; ${read.ignoredRows} of other events ignored; ${read.mixedShoppers} shoppers seen in both arms and ${read.unassignedShoppers} without a variant left out.`,
    )
  return lines.join('\n') + '\n'
}

const fmtN = (n: number) => (Number.isFinite(n) ? String(n) : 'n/a (a rate of 0 in the holdout)')

// ---------------------------------------------------------------- command line

const FLAGS = {
  events: { type: 'string' },
  mde: { type: 'string' },
  power: { type: 'string' },
  alpha: { type: 'string' },
  bootstrap: { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

function num(v: string | undefined, name: string, d: number, ok: (x: number) => boolean, what: string): number {
  if (v === undefined) return d
  const n = Number(v)
  if (v.trim() === '' || !Number.isFinite(n) || !ok(n)) throw usage(`--${name} takes ${what}, not ${JSON.stringify(v)}`)
  return n
}

/** Reads the export, prints the report (markdown, or JSON with --json) to stdout. Writes no file. */
export function upliftMain(argv: readonly string[], out: (s: string) => void = (s) => process.stdout.write(s)) {
  let values
  try {
    values = parseArgs({ args: [...argv], options: FLAGS, strict: true, allowPositionals: false }).values
  } catch (e) {
    throw usage((e as Error).message)
  }
  if (values.help) return out(`${UPLIFT_USAGE}\n`)
  if (!values.events) throw usage('uplift needs --events <export.csv>')
  const unit = (x: number) => x > 0 && x < 1
  const o: UpliftOptions = {
    mde: num(values.mde, 'mde', 0.05, (x) => x > 0, 'a relative uplift > 0 (0.05 = 5 %)'),
    power: num(values.power, 'power', 0.8, unit, 'a number between 0 and 1'),
    alpha: num(values.alpha, 'alpha', 0.05, unit, 'a number between 0 and 1'),
    bootstrap: num(values.bootstrap, 'bootstrap', 2000, (x) => Number.isInteger(x) && x >= 100 && x <= 1_000_000, 'an integer from 100 to 1000000'),
    seed: num(values.seed, 'seed', 1, Number.isInteger, 'an integer'),
  }
  const { arms, ...read } = readEvents(readFileSync(values.events, 'utf8'))
  const r = analyze(arms, o)
  out(values.json ? JSON.stringify({ ...r, read }, null, 1) + '\n' : markdown(r, read))
}
