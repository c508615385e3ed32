// eval's baselines on a foreign catalogue: item-kNN and next-item built from the data's own training
// histories (values computed by hand), the model-coverage warning, and no baseline reading the model's tables.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ITEM_KNN_DEFAULTS, itemKnnNeighbors, itemKnnWeights, nextItemScores, transitions } from '../eval/baselines'
import { loadDataset } from '../node/data'
import { evaluate } from '../eval/harness'
import { buildContext, coverageWarning, type Context } from '../eval/context'
import { DEFAULT_OPTIONS, type EvalOptions } from '../eval/options'
import { metricsFromRanks, type RankMetrics } from '../eval/metrics'
import { loadModel, type LoadedModel } from '../node/model-node'
import { markdown } from '../eval/report'
import { knnScores } from '../src/ranking/score'
import type { InpageModel } from '../src/model/model'

// Items 0 and 1 are never bought (so "all baseline scores zero" would rank them first by the smaller id);
// A..D are the bought ones. Ids are this store's own, not in the shipped model.
const [A, B, C, D] = [2, 3, 4, 5]
const IDS = ['zz-filler-0', 'zz-filler-1', 'zz-A', 'zz-B', 'zz-C', 'zz-D']
// Training histories = the valid.inter histories.
const TRAIN = [[A, B, C], [A, C, B], [B, A], [D], [C, D, C]]
const VALID_TARGETS = [D, D, C, A, B]
const TEST = [
  { hist: [C, A], target: B },
  { hist: [A, B], target: D },
]
const SETTINGS = { minCount: 2, gamma: 0.5, back: 0.5, alpha: 0.3, beta: 0.1, topN: 50, decay: 0.8 }
// pop (occurrences in TRAIN): A 3, B 3, C 4, D 2. Distinct users per pair: {A,B} 3, {A,C} 2, {B,C} 2, {C,D} 1.
// Cw (forward gamma^(d-1), backward 0.5 · that): A→B 1 + .5 + .5 = 2, B→A .5 + .25 + 1 = 1.75, A→C .5 + 1 = 1.5,
// C→A .25 + .5 = .75, B→C 1 + .5 = 1.5, C→B .5 + 1 = 1.5, C→D 1 + .5 = 1.5, D→C .5 + 1 = 1.5 (C→D, D→C: 1 user).
const W = {
  AB: 2 / 3 ** 0.3 / 3 ** 0.1,
  AC: 1.5 / 3 ** 0.3 / 4 ** 0.1,
  BA: 1.75 / 3 ** 0.3 / 3 ** 0.1,
  BC: 1.5 / 3 ** 0.3 / 4 ** 0.1,
  CA: 0.75 / 4 ** 0.3 / 3 ** 0.1,
  CB: 1.5 / 4 ** 0.3 / 3 ** 0.1,
  CD: 1.5 / 4 ** 0.3 / 2 ** 0.1,
  DC: 1.5 / 2 ** 0.3 / 4 ** 0.1,
}

function rowsOf(m: Map<number, number>[]): Record<number, Record<number, number>> {
  const out: Record<number, Record<number, number>> = {}
  m.forEach((row, a) => {
    if (row.size) out[a] = Object.fromEntries(row)
  })
  return out
}

function expectRows(got: Map<number, number>[], want: Record<number, Record<number, number>>) {
  const g = rowsOf(got)
  expect(Object.keys(g).sort()).toEqual(Object.keys(want).sort())
  for (const [a, row] of Object.entries(want)) {
    expect(Object.keys(g[+a]!).sort(), `row ${a}`).toEqual(Object.keys(row).sort())
    for (const [b, w] of Object.entries(row)) expect(g[+a]![+b], `${a}→${b}`).toBeCloseTo(w, 10)
  }
}

describe('item-kNN from training histories (training/inpage_train/knn.py definition)', () => {
  it('distinct-user threshold, distance decay, backward weight, pop^alpha / pop^beta', () => {
    expectRows(itemKnnWeights(TRAIN, IDS.length, SETTINGS), {
      [A]: { [B]: W.AB, [C]: W.AC },
      [B]: { [A]: W.BA, [C]: W.BC },
      [C]: { [A]: W.CA, [B]: W.CB },
    })
    // k = 1 keeps the pair only one shopper holds.
    expectRows(itemKnnWeights(TRAIN, IDS.length, { ...SETTINGS, minCount: 1 }), {
      [A]: { [B]: W.AB, [C]: W.AC },
      [B]: { [A]: W.BA, [C]: W.BC },
      [C]: { [A]: W.CA, [B]: W.CB, [D]: W.CD },
      [D]: { [C]: W.DC },
    })
  })
  it('keeps the top_n largest weights per item', () => {
    expect(W.AB).toBeGreaterThan(W.AC)
    expect(W.CB).toBeGreaterThan(W.CA)
    expect(W.BA).toBeGreaterThan(W.BC)
    expectRows(itemKnnWeights(TRAIN, IDS.length, { ...SETTINGS, topN: 1 }), { [A]: { [B]: W.AB }, [B]: { [A]: W.BA }, [C]: { [B]: W.CB } })
  })
  it('scores through the browser knnScores with the data ids: Σ decay^p w(h_p → i)', () => {
    const nb = itemKnnNeighbors(TRAIN, IDS, SETTINGS)
    expect(knnScores([IDS[C]!, IDS[A]!], IDS, nb, 0.8)).toEqual([0, 0, expect.closeTo(0.8 * W.CA, 10), expect.closeTo(W.AB + 0.8 * W.CB, 10), expect.closeTo(W.AC, 10), 0])
  })
  it('defaults are the settings the shipped model was built with and the browser decay', () => {
    const m = JSON.parse(readFileSync('public/models/inpage-sci-v1/manifest.json', 'utf8'))
    const t = m.training.settings
    expect(ITEM_KNN_DEFAULTS).toEqual({ minCount: t.knn_min_count, gamma: t.knn_gamma, back: 1, alpha: t.knn_alpha, beta: t.knn_beta, topN: t.knn_top_n, decay: m.scoring.knn.decay })
  })
})

describe('next-item transitions', () => {
  it('counts immediate successors and breaks ties by popularity', () => {
    const t = transitions(TRAIN, IDS.length)
    expect(rowsOf(t)).toEqual({ [A]: { [B]: 1, [C]: 1 }, [B]: { [C]: 1, [A]: 1 }, [C]: { [B]: 1, [D]: 1 }, [D]: { [C]: 1 } })
    const pop = [0, 0, 3, 3, 4, 2]
    // last item C: successors B and D once each; popularity / (max 4 + 1) orders the rest.
    expect(nextItemScores([A, C], [0, 1, A, B, C, D], t, pop, 4)).toEqual([0, 0, 0.6, 1.6, 0.8, 1.4])
    expect(nextItemScores([], [A, D], t, pop, 4)).toEqual([0.6, 0.4])
  })
})

describe('harness on a foreign catalogue (shipped model, ids it has never seen)', () => {
  let dir: string
  let loaded: LoadedModel
  let ctx: Context
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'inpage-foreign-'))
    const items = IDS.map((asin, item) => JSON.stringify({ item, asin, title: `garden tool ${asin}`, brand: null, categories: ['Garden'], description: null }))
    writeFileSync(join(dir, 'items.jsonl'), items.join('\n') + '\n')
    const inter = (rows: { hist: number[]; target: number }[]) =>
      ['user_id:token\titem_id_list:token_seq\titem_id:token', ...rows.map((r, u) => `${u}\t${r.hist.join(' ')}\t${r.target}`)].join('\n') + '\n'
    writeFileSync(join(dir, 'valid.inter'), inter(TRAIN.map((hist, u) => ({ hist, target: VALID_TARGETS[u]! }))))
    writeFileSync(join(dir, 'test.inter'), inter(TEST))
    loaded = await loadModel('public/models/inpage-sci-v1', { threads: 1 })
    ctx = await buildContext(loadDataset(dir, ['test']), loaded)
  }, 60_000)
  afterAll(async () => {
    await loaded?.model.release()
    rmSync(dir, { recursive: true, force: true })
  })
  const opts = (o: Partial<EvalOptions>): EvalOptions => ({ ...DEFAULT_OPTIONS, protocol: 'full', split: 'test', personalWeight: 0.8, queryWeight: 0.25, itemKnn: SETTINGS, reasons: false, ...o })
  const rank = (m: RankMetrics) => ({ 'recall@10': m['recall@10'], 'ndcg@10': m['ndcg@10'], 'mrr@10': m['mrr@10'] })

  it('ranks with the baselines built from this data (hand-computed ranks)', async () => {
    const r = await evaluate(ctx, opts({}))
    // Row 0 (hist C, A → B), history excluded. item-kNN: B = w(A→B) + .8 w(C→B) > 0 = D = fillers → 1.
    // Row 1 (hist A, B → D): C = w(B→C) + .8 w(A→C) > 0; D ties at 0 with fillers 0 and 1 (smaller ids) → 4.
    expect(rank(r.systems['item-knn']!)).toEqual(rank(metricsFromRanks([1, 4])))
    // next-item. Row 0: last A → B (1 + 3/5), D 2/5 → 1. Row 1: last B → C (1 + 4/5) above D (2/5) → 2.
    expect(rank(r.systems['next-item']!)).toEqual(rank(metricsFromRanks([1, 2])))
    // popularity. Row 0: B 3 > D 2 → 1. Row 1: C 4 > D 2 → 2.
    expect(rank(r.systems.popularity!)).toEqual(rank(metricsFromRanks([1, 2])))
    expect(r.settings.itemKnn).toEqual(SETTINGS)
  })

  it('counts and warns how many of the data ids the model knows, and names the model', async () => {
    expect(ctx.coverage).toEqual({ items: 6, collab: 0, neighbors: 0 })
    const w = coverageWarning(ctx.coverage, ctx.modelInfo)
    expect(w).toMatch(/knows 0 of the data's 6 item ids in collab\.json/)
    const r = await evaluate(ctx, opts({}))
    expect(r.modelCoverage).toEqual(ctx.coverage)
    expect(r.warnings).toContain(w)
    const sha = loaded.encoderSha
    expect(sha).toMatch(/^[0-9a-f]{64}$/)
    expect(r.model).toEqual({ name: 'inpage-sci-v1', version: loaded.model.manifest.version, dir: 'public/models/inpage-sci-v1', encoderSha256: sha })
    const md = markdown(r)
    expect(md).toContain(`inpage-sci-v1@${loaded.model.manifest.version}`)
    expect(md).toContain(sha)
    expect(md).toContain('0 of the data\'s 6 item ids in collab.json, 0 in neighbors.json')
    // Full coverage: no warning.
    expect(coverageWarning({ items: 6, collab: 6, neighbors: 6 }, ctx.modelInfo)).toBeUndefined()
    expect(coverageWarning({ items: 6, collab: 6, neighbors: 5 }, ctx.modelInfo)).toBeUndefined() // items without kept pairs have no list
    expect(coverageWarning({ items: 6, collab: 5, neighbors: 6 }, ctx.modelInfo)).toMatch(/knows 5 of the data's 6 item ids in collab\.json \(83\.3 %\)/)
  }, 30_000)

  it('no baseline reads the model tables: neighbour lists planted for these ids move inpage, not the baselines', async () => {
    // Every item points at filler 0 and at D with large weights: a baseline reading model.neighbors would
    // rank them first (row 0's target B drops two places, row 1's target D rises).
    const planted = new Map(IDS.map((id) => [id, new Map([[IDS[0]!, 100], [IDS[D]!, 50]])]))
    const model = Object.create(ctx.model) as InpageModel
    Object.defineProperty(model, 'neighbors', { value: planted })
    // Without a pack the harness scores with the model's lists (ctx.neighbors): plant them there too.
    const poisoned: Context = { ...ctx, model, neighbors: planted }
    const base = await evaluate(ctx, opts({}))
    const pois = await evaluate(poisoned, opts({}))
    for (const s of ['popularity', 'item-knn', 'next-item', 'text-only']) expect(pois.systems[s], s).toEqual(base.systems[s])
    expect(pois.systems['inpage-int8']).not.toEqual(base.systems['inpage-int8']) // the planted lists do reach the model's own term
    for (const protocol of ['category', 'search'] as const) {
      const b = await evaluate(ctx, opts({ protocol }))
      const p = await evaluate(poisoned, opts({ protocol }))
      for (const s of ['popularity', 'item-knn', 'next-item']) expect(p.systems[s], `${protocol} ${s}`).toEqual(b.systems[s])
    }
  }, 30_000)

  it('one root category: the category protocol says it reranks one bestseller page', async () => {
    const r = await evaluate(ctx, opts({ protocol: 'category' }))
    expect(r.categoryPages).toEqual({ pages: 1, meanItems: 6, targetOnPage: 1 })
    expect(r.warnings.some((w) => /one category page: every item has the category key "Garden"/.test(w))).toBe(true)
  })
})
