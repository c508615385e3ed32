// Per-store tuning (issue 26): the scoring settings a store's own data prefers, chosen on its valid split with
// its catalog pack, written into the pack's `tuning` so the browser and eval use them. What is tuned: the kNN
// term's weight and decay (the pack's neighbour lists), for a closed-form user model its recency decay and the
// popularity prior's weight, and, where the pack has next-item lists, the next-item term's weight (a second stage
// at the first stage's best setting, with the kNN weight again: the two terms share what the logs say).
// Criterion: NDCG@10 on full ranking and on category pages, each relative to the model's own settings, weighted by the rows each protocol can score (a page that holds the target in one row of eight
// counts for that share); the best setting replaces the model's only if its gain is at least MIN_TUNE_GAIN and
// beyond the sample's noise (MIN_TUNE_Z paired standard errors), and no protocol loses beyond its noise.

import { candidateIndex, knnScores } from '../src/ranking/score'
import { historyItemEvents, packNext } from '../src/ranking/personalize'
import { leafCategories } from '../node/data'
import { rankCandidates } from '../src/ranking/rerank'
import { arrangeTop, TOP_POOL } from '../src/ranking/arrange'
import { closedFormUser } from '../src/model/manifest'
import type { PackAdapt, ScoreSettings, PackTuning } from '../src/pack/format'
import { MISS, metricsFromRanks, rankGain, rankMasked, topK } from './metrics'
import { modelEvents, rows, type Context } from './context'
import { categoryPages } from './protocols'
import { DEFAULT_OPTIONS } from './options'
import { trainAdaptation, type AdaptOptions, type AdaptResult } from './adapt'
import { adaptation, adaptUser, packAdapt, type Adaptation } from '../src/ranking/adapt'

/** One setting the tuner scores: the blend, and whether the store's adaptation reads the user vector. */
type Setting = Required<Omit<ScoreSettings, 'adapt'>> & { adapt: boolean }

/** Fewer valid shoppers than this and the model's settings stay: NDCG@10 differences would be noise. */
export const MIN_TUNE_USERS = 1000
/** Shoppers scored per setting at most (evenly spread over the valid split): the build's time budget. */
export const MAX_TUNE_USERS = 2000
/** A setting replaces the model's only with at least this relative gain of the criterion on valid. */
export const MIN_TUNE_GAIN = 0.01
/**
 * ... and with a gain this many standard errors above zero (per-row NDCG@10 differences against the model's settings,
 * paired on the same shoppers), with no protocol this many standard errors below it. Before this rule (equal weights,
 * no noise test) Games' pack took kNN 8 / 0.6, prior 0.8 for +1.3 % on full ranking and +11.7 % on ~230 page rows,
 * and lost 7.4 % on test's full ranking.
 */
export const MIN_TUNE_Z = 2

/** Why a store with `n` valid shoppers keeps the model's settings. */
export const fewUsers = (n: number, min: number) => `${n} valid shoppers, fewer than ${min}: the model's settings stay`

export const TUNE_GRID = Object.freeze({
  knnWeight: [0, 0.5, 1, 2, 4, 8],
  knnDecay: [0.6, 0.8],
  userDecay: [0.5, 0.8, 1],
  /** The prior's weight in the user vector's prior dimension (bias): 8 × the training's prior weights 0–0.1. */
  prior: [0, 0.16, 0.4, 0.8],
  /** The next-item term's weight (second stage; 0 is the first stage's setting). */
  nextWeight: [1, 2, 4, 8],
})

/** The next-item term's recency decay: 0.6 gained most of the three tried on Beauty's and Games' valid splits. */
export const NEXT_DECAY = 0.6

export interface TuneResult {
  /** The chosen settings with how they were chosen, or undefined when the model's stay (with why). */
  tuning?: PackTuning
  why: string
  users: number
  /** Criterion and per-protocol NDCG@10 of the model's settings and of the best setting. */
  model: { ndcg: Record<string, number> }
  best: ScoreSettings & { ndcg: Record<string, number>; criterion: number }
  /** The best setting's change per protocol (relative, with its paired standard error) and the rows each scores. */
  change: Record<string, { relative: number; se: number; rows: number }>
  /** The criterion's gain and its standard error. */
  gain: { relative: number; se: number }
  /** The adaptation's training (only with `adapt`, and a closed-form user model). */
  adapt?: Omit<AdaptResult, 'adaptation'> & { trained: boolean }
  seconds: number
}

/**
 * Chooses the settings on `ctx`'s valid split (its pack loaded with `--catalog`). Pure computation on the context's
 * vectors: each row's user vector per decay, kNN part per decay, then every combination, as score() adds them.
 */
export function tune(ctx: Context, opts: { maxUsers?: number; minUsers?: number; minGain?: number; minZ?: number; adapt?: AdaptOptions | false; log?: (s: string) => void } = {}): TuneResult {
  const t0 = performance.now()
  const model = ctx.model
  const cf = model.closedForm()
  const knn0 = model.manifest.scoring?.knn
  const prior = model.priorRange?.[0]
  const all = rows(ctx, 'valid')
  const defaults: Setting = {
    adapt: false,
    knn: { weight: knn0?.weight ?? 0, decay: knn0?.decay ?? 0.8 },
    next: { weight: 0, decay: NEXT_DECAY },
    // float32 in the manifest (0.4000000059604645): compared and reported at 6 decimals
    user: { decay: cf?.decay ?? 0.5, prior: Math.round((cf?.bias.find(([d]) => d === prior)?.[1] ?? 0) * 1e6) / 1e6 },
  }
  const grid = {
    knnWeight: ctx.neighbors && knn0 ? withValue(TUNE_GRID.knnWeight, defaults.knn.weight) : [defaults.knn.weight],
    knnDecay: ctx.neighbors && knn0 ? withValue(TUNE_GRID.knnDecay, defaults.knn.decay) : [defaults.knn.decay],
    userDecay: cf ? withValue(TUNE_GRID.userDecay, defaults.user.decay) : [defaults.user.decay],
    prior: cf && prior !== undefined ? withValue(TUNE_GRID.prior, defaults.user.prior) : [defaults.user.prior],
  }
  const step = Math.max(1, Math.ceil(all.length / (opts.maxUsers ?? MAX_TUNE_USERS)))
  const sample = all.filter((_, i) => i % step === 0)
  const { pages } = categoryPages(ctx.ds, DEFAULT_OPTIONS.pageSize)
  const leaf = leafCategories(ctx.ds.items)
  const protocols = ['full', 'category']
  // ranks[combo][protocol] → the target's rank per row
  const stage1: Setting[] = []
  for (const weight of grid.knnWeight)
    for (const kd of grid.knnDecay)
      for (const decay of grid.userDecay) for (const p of grid.prior) stage1.push({ knn: { weight, decay: kd }, user: { decay, prior: p }, next: defaults.next, adapt: false })
  // The pack's next-item lists (none in a pack built before them, or from aggregates made elsewhere).
  const withNext = !!ctx.catalog && ctx.ids.some((id) => ctx.catalog!.get(id)?.next.length)
  const N = ctx.ids.length
  const index = candidateIndex(ctx.ids) // once, not per row and decay
  const priorOf = new Float32Array(N)
  if (prior !== undefined) ctx.itemVecs.forEach((v, i) => (priorOf[i] = v[prior]!))
  const none = new Float64Array(N) // the next-item part of a setting without it
  /** The closed-form user vector at a decay, without the prior's bias (the tuner weighs the prior itself). */
  const textUser = (decay: number, vecs: readonly Float32Array[]) => closedFormUser({ ...cf!, decay, bias: cf!.bias.filter(([k]) => k !== prior) }, vecs, model.dims.item)
  /** The target's rank per setting, protocol and sampled row. */
  let adapted: Adaptation | undefined
  let packed: PackAdapt | undefined
  const userKey = (c: Setting) => `${c.user.decay}${c.adapt ? ' adapted' : ''}`
  const rankAll = (combos: readonly Setting[]) => {
    const ranks = combos.map(() => protocols.map(() => [] as number[]))
    const userKeys = [...new Map(combos.map((c) => [userKey(c), c] as const)).values()]
    const knnDecays = [...new Set(combos.map((c) => c.knn.decay))]
    const nextDecays = [...new Set(combos.filter((c) => c.next.weight > 0).map((c) => c.next.decay))]
    for (const row of sample) {
      const events = modelEvents(ctx, row.hist)
      const evIdx = events.map((_, j) => row.hist[row.hist.length - events.length + j]!)
      const evIds = events.map((e) => e.itemId)
      const vecs = evIdx.map((i) => ctx.itemVecs[i]!)
      // The text part of the user vector per decay (prior 0): its dot with every item vector.
      const users = cf
        ? userKeys.map((c) => {
            const u = textUser(c.user.decay, vecs)
            return c.adapt ? adaptUser(u, adapted!) : u
          })
        : []
      const base = new Map(dots(users, ctx.itemVecs, userKeys.length).map((out, j) => [userKey(userKeys[j]!), out] as const))
      const knnPart = new Map<number, Float64Array>()
      for (const kd of knnDecays) knnPart.set(kd, ctx.neighbors ? Float64Array.from(knnScores(evIds, ctx.ids, ctx.neighbors, kd, index)) : new Float64Array(N))
      const nextLists = nextDecays.length ? packNext(ctx.catalog!, evIds) : undefined
      const nextPart = new Map<number, Float64Array>(nextDecays.map((d) => [d, Float64Array.from(knnScores(evIds, ctx.ids, nextLists!, d, index))]))
      const page = pages.get(ctx.ds.catKeys[row.target]!) ?? []
      const candidates = page.map((i) => ctx.candidates[i]!)
      const purchased = new Set(row.hist.map((i) => ctx.ids[i]!))
      const inHistory = new Uint8Array(N)
      for (const i of row.hist) inHistory[i] = 1
      const target = ctx.ids[row.target]!
      const pageVecs = page.map((i) => ctx.textVecs[i]!)
      const historyVectors = evIdx.map((i) => ctx.textVecs[i]!)
      const history = historyItemEvents(events)
      // Full ranking as eval's full protocol ranks it: the browser's calibration and near-duplicate spreading over the
      // first TOP_POOL items. Only a target that is in that pool can move, so only then are the scores materialized.
      const historyCategories = evIdx.map((i) => leaf[i]!)
      const fullRank = (score: (i: number) => number) => {
        const r = rankMasked(score, N, row.target, inHistory)
        if (r > TOP_POOL) return r
        const all = Array.from({ length: N }, (_, i) => score(i))
        const top = arrangeTop(topK(all, TOP_POOL, row.hist), { scores: all, categories: leaf, vectors: ctx.textVecs, historyCategories, historyVectors }, { k: 10, calibration: DEFAULT_OPTIONS.calibration, nearDuplicates: DEFAULT_OPTIONS.nearDuplicates })
        const p = top.indexOf(row.target)
        return p >= 0 ? p + 1 : r
      }
      combos.forEach((c, ci) => {
        const b = base.get(userKey(c))!
        const k = knnPart.get(c.knn.decay)!
        const t = c.next.weight > 0 ? nextPart.get(c.next.decay)! : none
        // score()'s sum: the user vector's dot (its prior dimension apart), then the logs' part k · w + t · w'.
        const score = (i: number) => b[i]! + c.user.prior * priorOf[i]! + (c.knn.weight * k[i]! + c.next.weight * t[i]!)
        ranks[ci]![0]!.push(fullRank(score))
        // As eval ranks a page: with the items' text vectors and the history (calibration and near-duplicates read them).
        const ranked = rankCandidates({ candidates, personal: page.map(score), vectors: pageVecs, events: history, historyVectors }, { k: 10, excludePurchased: true }, purchased).items
        const pos = ranked.findIndex((it) => it.id === target)
        ranks[ci]![1]!.push(pos < 0 || purchased.has(target) ? MISS : pos + 1)
      })
    }
    return ranks
  }
  let combos = stage1
  let ranks = rankAll(stage1)
  // NDCG@10 per setting and protocol, once (the criterion reads them again for every comparison).
  const ndcgOf = (rs: typeof ranks) => rs.map((perProtocol) => Object.fromEntries(protocols.map((p, j) => [p, metricsFromRanks(perProtocol[j]!)['ndcg@10']])))
  let ndcgs = ndcgOf(ranks)
  const ndcg = (ci: number) => ndcgs[ci]!
  const d0 = combos.findIndex((c) => same(c, defaults))
  const ref = ndcg(d0)
  // A protocol's rows: those it can score with the model's settings (full ranking: all; a page: the target on it).
  const rowsOf = protocols.map((_, j) => ranks[d0]![j]!.filter((r) => r !== MISS).length)
  const total = rowsOf.reduce((a, b) => a + b, 0)
  const weight = protocols.map((_, j) => (total > 0 ? rowsOf[j]! / total : 0))
  const rel = (ci: number, j: number) => (ref[protocols[j]!]! > 0 ? ndcg(ci)[protocols[j]!]! / ref[protocols[j]!]! - 1 : 0)
  const criterion = (ci: number) => 1 + protocols.reduce((s, _, j) => s + weight[j]! * rel(ci, j), 0)
  const bestIn = (from: number) => {
    let b = from
    for (let ci = from + 1; ci < combos.length; ci++) if (criterion(ci) > criterion(b)) b = ci
    return b
  }
  const bestOf = () => combos.reduce((b, _, ci) => (criterion(ci) > criterion(b) ? ci : b), d0)
  let best = bestOf()
  /** Scores a later stage's settings beside the earlier ones; returns the stage's own best. */
  const addStage = (stage: Setting[]) => {
    const first = combos.length
    const more = rankAll(stage)
    combos = [...combos, ...stage]
    ranks = [...ranks, ...more]
    ndcgs = [...ndcgs, ...ndcgOf(more)]
    best = bestOf()
    return bestIn(first)
  }
  if (withNext) {
    // Second stage: the next-item term at the first stage's best setting, the kNN weight chosen again beside it.
    const at = combos[best]!
    addStage(grid.knnWeight.flatMap((weight) => TUNE_GRID.nextWeight.map((w) => ({ ...at, knn: { weight, decay: at.knn.decay }, next: { weight: w, decay: NEXT_DECAY } }))))
  }
  let adaptInfo: TuneResult['adapt']
  if (cf && opts.adapt) {
    // Third stage: the store's adaptation of the user vector, trained at the best setting's decay on the training
    // histories (its own valid check picks the step), then scored in its int8 pack form with the kNN weight and the
    // prior chosen again beside it (it changes the text part's scale).
    const at = combos[best]!
    // It learns what the rest of the score does not already say: the logs' terms and the prior at that setting are
    // in its softmax, held fixed.
    const maxHistory = model.manifest.user.maxHistory
    const offset = (hist: readonly number[], end: number) => {
      const recent = hist.slice(Math.max(0, end - maxHistory), end)
      const evIds = recent.map((i) => ctx.ids[i]!)
      const out = new Float64Array(N)
      if (ctx.neighbors && at.knn.weight > 0) knnScores(evIds, ctx.ids, ctx.neighbors, at.knn.decay, index).forEach((x, i) => (out[i] = at.knn.weight * x))
      if (at.next.weight > 0) knnScores(evIds, ctx.ids, packNext(ctx.catalog!, evIds), at.next.decay, index).forEach((x, i) => (out[i]! += at.next.weight * x))
      if (at.user.prior) for (let i = 0; i < N; i++) out[i]! += at.user.prior * priorOf[i]!
      // The user vector's dimensions past the text part (the history's mean prior): not adapted, so fixed too.
      const u = textUser(at.user.decay, recent.map((i) => ctx.itemVecs[i]!))
      for (let x = model.dims.text; x < model.dims.item; x++)
        if (u[x]) for (let i = 0; i < N; i++) out[i]! += u[x]! * ctx.itemVecs[i]![x]!
      return out
    }
    const r = trainAdaptation({ textVecs: ctx.textVecs, histories: all.map((row) => row.hist), valid: all, decay: at.user.decay, maxHistory, offset, textScale: cf.skip }, { ...opts.adapt, log: opts.log })
    const { adaptation: trained, ...info } = r
    adaptInfo = { ...info, trained: !!trained }
    if (trained) {
      // Scored as the browser reads it: its int8 pack form.
      packed = packAdapt(trained)
      adapted = adaptation(packed)
      const before = best
      const with3 = addStage(grid.knnWeight.flatMap((weight) => grid.prior.map((p) => ({ ...at, knn: { weight, decay: at.knn.decay }, user: { ...at.user, prior: p }, adapt: true }))))
      opts.log?.(`adaptation on the whole score: criterion ${criterion(with3).toFixed(4)} at its best (kNN ${combos[with3]!.knn.weight}, prior ${combos[with3]!.user.prior}) against ${criterion(before).toFixed(4)} without`)
    }
  }
  // The best setting's change per protocol with its paired standard error (same shoppers, per-row NDCG@10).
  const change = Object.fromEntries(
    protocols.map((p, j) => {
      const se = ref[p]! > 0 ? pairedSE(ranks[best]![j]!, ranks[d0]![j]!) / ref[p]! : 0
      return [p, { relative: round(rel(best, j)), se: round(se), rows: rowsOf[j]! }]
    }),
  )
  const gain = criterion(best) - 1
  // Protocols share shoppers, so their errors are not independent: the weighted sum of the two (a bound) is used.
  const gainSE = protocols.reduce((s, p, j) => s + weight[j]! * change[p]!.se, 0)
  const chosen = combos[best]!
  const result: TuneResult = {
    why: '',
    users: sample.length,
    model: { ndcg: ref },
    best: { ...(cf ? { user: chosen.user } : {}), knn: chosen.knn, ...(chosen.next.weight > 0 ? { next: chosen.next } : {}), ...(chosen.adapt ? { adapt: packed! } : {}), ndcg: ndcg(best), criterion: criterion(best) },
    change,
    gain: { relative: round(gain), se: round(gainSE) },
    ...(adaptInfo ? { adapt: adaptInfo } : {}),
    seconds: (performance.now() - t0) / 1000,
  }
  const minUsers = opts.minUsers ?? MIN_TUNE_USERS
  const decision = all.length < minUsers ? { chosen: false, why: fewUsers(all.length, minUsers) } : tuningDecision(change, { relative: gain, se: gainSE }, { minGain: opts.minGain, minZ: opts.minZ })
  result.why = decision.why
  if (decision.chosen) result.tuning = { knn: chosen.knn, ...(chosen.next.weight > 0 ? { next: chosen.next } : {}), ...(cf ? { user: chosen.user } : {}), ...(chosen.adapt ? { adapt: result.best.adapt! } : {}), chosenOn: { split: 'valid', users: sample.length, protocols, gain: round(gain) } }
  opts.log?.(
    `tuning on ${sample.length} of ${all.length} valid shoppers, ${combos.length} settings, ${result.seconds.toFixed(1)} s: ` +
      `model ${fmt(ref)} → best ${fmt(result.best.ndcg)} (kNN ${chosen.knn.weight}/${chosen.knn.decay}${chosen.next.weight > 0 ? `, next items ${chosen.next.weight}/${chosen.next.decay}` : withNext ? ', no next-item term' : ''}${cf ? `, user decay ${chosen.user.decay}, prior ${chosen.user.prior}` : ''}${chosen.adapt ? ', adapted user vector' : adaptInfo ? `, no adaptation (${adaptInfo.trained ? 'it lost on the whole score' : 'no step beat none on valid'})` : ''}); ${result.why}`,
  )
  return result
}

/**
 * Whether the best setting replaces the model's: a gain of at least `minGain` (MIN_TUNE_GAIN), `minZ` (MIN_TUNE_Z)
 * standard errors above none, and no protocol `minZ` standard errors below none; `minZ` 0 turns the noise test off
 * (tests that need a choice on a tiny store). Says why either way.
 */
export function tuningDecision(
  change: Record<string, { relative: number; se: number; rows: number }>,
  gain: { relative: number; se: number },
  opts: { minGain?: number; minZ?: number } = {},
): { chosen: boolean; why: string } {
  const minGain = opts.minGain ?? MIN_TUNE_GAIN
  const z = opts.minZ ?? MIN_TUNE_Z
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} %`
  const sd = (x: number) => (100 * x).toFixed(1)
  const perProtocol = Object.entries(change).map(([p, c]) => `${p} ${pct(c.relative)} ± ${sd(c.se)} on ${c.rows} rows`).join(', ')
  const losing = z > 0 ? Object.keys(change).filter((p) => change[p]!.relative < -z * change[p]!.se) : []
  const g = gain.relative
  if (g < minGain) return { chosen: false, why: `the best setting gains ${pct(g)} on valid, less than ${100 * minGain} %: the model's settings stay` }
  if (z > 0 && g < z * gain.se) return { chosen: false, why: `the best setting gains ${pct(g)} ± ${sd(gain.se)} on valid (${perProtocol}): within ${z} standard errors of none, so the model's settings stay` }
  if (losing.length) return { chosen: false, why: `the best setting gains ${pct(g)} on valid but loses on ${losing.join(' and ')} beyond the noise (${perProtocol}): the model's settings stay` }
  return { chosen: true, why: `chosen on valid: ${pct(g)} ± ${sd(gain.se)} (NDCG@10 relative to the model's settings, weighted by rows: ${perProtocol})` }
}

/** The standard error of the mean per-row NDCG@10 difference between two rankings of the same rows. */
export function pairedSE(a: readonly number[], b: readonly number[]): number {
  const n = a.length
  if (n < 2) return 0
  const d = a.map((r, i) => rankGain(r) - rankGain(b[i]!))
  const mean = d.reduce((s, x) => s + x, 0) / n
  const v = d.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1)
  return Math.sqrt(v / n)
}

function withValue(xs: readonly number[], v: number): number[] {
  return xs.includes(v) ? [...xs] : [...xs, v].sort((a, b) => a - b)
}

function same(a: Setting, b: Setting) {
  return a.adapt === b.adapt && a.knn.weight === b.knn.weight && a.knn.decay === b.knn.decay && a.user.decay === b.user.decay && a.user.prior === b.user.prior && a.next.weight === b.next.weight
}

/**
 * u · v for each user vector u and every item vector v, in one pass over the item vectors (they outgrow the CPU's
 * caches; each is read once for all u). `count` arrays of zeros when there is no user vector (no closed form).
 */
function dots(us: readonly Float32Array[], items: readonly Float32Array[], count: number): Float64Array[] {
  const outs = Array.from({ length: count }, () => new Float64Array(items.length))
  for (let i = 0; i < items.length; i++) {
    const v = items[i]!
    for (let j = 0; j < us.length; j++) {
      const u = us[j]!
      let s = 0
      for (let x = 0; x < u.length; x++) s += u[x]! * v[x]!
      outs[j]![i] = s
    }
  }
  return outs
}

const round = (x: number) => Math.round(x * 1e4) / 1e4
const fmt = (n: Record<string, number>) => Object.entries(n).map(([p, v]) => `${p} ${v.toFixed(4)}`).join(', ')
