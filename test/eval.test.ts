// eval/: metric definitions (../shared/data/README.md), BM25, the converter, and the harness end to end
// on a tiny fixture with the real shipped model through onnxruntime-node.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BM25, tokenize } from '../node/bm25'
import { convert, convertFiles, parseCsv } from '../node/convert'
import { categoryKey, datasetDir, loadDataset, readInter, readItems, type Row } from '../node/data'
import { evaluate } from '../eval/harness'
import { buildContext, historyEvents, type Context } from '../eval/context'
import { DEFAULT_OPTIONS, type EvalOptions } from '../eval/options'
import { Exposure, MISS, gini, metricsFromRanks, rankOf, topK, type RankMetrics } from '../eval/metrics'
import { loadModel, type LoadedModel } from '../node/model-node'
import { markdown, svg, tradeoffSvg } from '../eval/report'
import { makeTiny } from '../eval/fixtures/tiny'
import { knnScores, personalScores } from '../src/ranking/score'
import { modelReads, NO_HISTORY, score } from '../src/ranking/personalize'
import { DEFAULTS, rankCandidates } from '../src/ranking/rerank'
import { selectModelEvents } from '../src/ranking/events'
import type { Candidate, RerankOptions } from '../src/ranking/types'
import type { StoredEvent } from '../src/core/types'

describe('eval metrics', () => {
  it('ranks ties by the smaller item id', () => {
    const s = [0.5, 0.9, 0.5, 0.1]
    expect(rankOf(s, 1)).toBe(1)
    expect(rankOf(s, 0)).toBe(2) // item 1 higher; item 2 ties but has a larger id
    expect(rankOf(s, 2)).toBe(3) // item 1 higher, item 0 ties with a smaller id
    expect(rankOf(s, 3)).toBe(4)
    expect(rankOf([0, 0, 0], 2)).toBe(3)
  })
  it('excludes history items (−∞), and a target in the history is a miss', () => {
    const s = [0.5, 0.9, 0.5, 0.1]
    expect(rankOf(s, 2, [1])).toBe(2)
    expect(rankOf(s, 3, [0, 1, 2])).toBe(1)
    expect(rankOf(s, 1, [1])).toBe(MISS)
  })
  it('computes Recall, NDCG and MRR at 10', () => {
    const m = metricsFromRanks([1, 3, 10, 11, MISS])
    expect(m['recall@10']).toBeCloseTo(3 / 5, 12)
    expect(m['ndcg@10']).toBeCloseTo((1 + 1 / Math.log2(4) + 1 / Math.log2(11)) / 5, 12)
    expect(m['mrr@10']).toBeCloseTo((1 + 1 / 3 + 1 / 10) / 5, 12)
    expect(metricsFromRanks([3])['ndcg@10']).toBe(0.5)
  })
  it('top-k follows the same order and skips excluded items', () => {
    const s = [0.5, 0.9, 0.5, 0.1, 0.7]
    expect(topK(s, 3)).toEqual([1, 4, 0])
    expect(topK(s, 3, [4])).toEqual([1, 0, 2])
    expect(topK(s, 10)).toEqual([1, 4, 0, 2, 3])
    for (let t = 0; t < s.length; t++) expect(topK(s, 5).indexOf(t) + 1).toBe(rankOf(s, t))
  })
  it('coverage and Gini of top-10 exposure', () => {
    const e = new Exposure(4)
    e.add([0, 1])
    e.add([0])
    expect(e.coverage()).toBe(0.5)
    expect(gini([1, 1, 1, 1])).toBe(0)
    expect(gini([0, 0, 0, 4])).toBeCloseTo(0.75, 12)
    expect(e.gini()).toBeCloseTo(gini([2, 1, 0, 0]), 12)
  })
  it('category page key: categories[2], or the last entry of a shorter path', () => {
    expect(categoryKey(['a', 'b', 'c', 'd'])).toBe('c')
    expect(categoryKey(['a', 'b'])).toBe('b')
    expect(categoryKey([])).toBe('')
  })
})

describe('BM25', () => {
  const docs = ['nitrile gloves large', 'latex gloves', 'safety glasses clear', 'nitrile nitrile gloves box of 100', 'gloves']
  const bm = new BM25(docs)
  it('finds the documents with the query terms, rarer terms first', () => {
    const hits = bm.search('nitrile gloves', 10)
    expect(hits.map((h) => h.doc).sort()).toEqual([0, 1, 3, 4])
    expect([0, 3]).toContain(hits[0]!.doc)
    expect(bm.idf('nitrile')).toBeGreaterThan(bm.idf('gloves'))
    expect(bm.search('glasses', 10).map((h) => h.doc)).toEqual([2])
    expect(bm.search('unknownword', 10)).toEqual([])
  })
  it('breaks ties by the smaller index and tokenizes case-insensitively', () => {
    expect(new BM25(['a b', 'a b']).search('A', 2).map((h) => h.doc)).toEqual([0, 1])
    expect(tokenize('3D-Printing, PLA!')).toEqual(['3d', 'printing', 'pla'])
  })
})

describe('converter', () => {
  it('parses quoted CSV', () => {
    expect(parseCsv('a,b\n"x, y","say ""hi"""\r\n1,2')).toEqual([['a', 'b'], ['x, y', 'say "hi"'], ['1', '2']])
  })
  it('makes train/valid/test rows in time order, ids by first appearance, drops short users', () => {
    const csv = 'user,item,timestamp\nu1,B,2\nu1,A,1\nu1,C,3\nu1,D,4\nu2,A,1\nu2,B,2\nu3,C,2020-01-02\nu3,A,2020-01-01\nu3,D,2020-01-03\n'
    const items = ['{"id":"A","title":"Alpha","brand":"X","categories":["Root","Sub","Leaf"]}', '{"id":"Z","title":"Zed","categories":"Root > Other"}'].join('\n')
    const { files, stats } = convert(csv, items, { maxHistory: 2 })
    expect(stats).toMatchObject({ users: 2, droppedUsers: 1, droppedEvents: 2, events: 7, itemsWithoutEvents: 1, itemsWithoutMetadata: 3 })
    // u1: A B C D → ids 0 1 2 3; u3: A C D → 0 2 3; Z (no events) → 4
    expect(readInter(files['test.inter']!)).toEqual([{ user: '0', hist: [1, 2], target: 3 }, { user: '1', hist: [0, 2], target: 3 }])
    expect(readInter(files['valid.inter']!)).toEqual([{ user: '0', hist: [0, 1], target: 2 }, { user: '1', hist: [0], target: 2 }])
    expect(readInter(files['train.inter']!)).toEqual([{ user: '0', hist: [0], target: 1 }])
    const out = files['items.jsonl']!.trim().split('\n').map((l) => JSON.parse(l))
    expect(out[0]).toMatchObject({ item: 0, asin: 'A', title: 'Alpha', brand: 'X', categories: ['Root', 'Sub', 'Leaf'], text: 'Alpha. Root Sub Leaf. X.' })
    expect(out[4]).toMatchObject({ item: 4, asin: 'Z', categories: ['Root', 'Other'], brand: null })
    expect(out[1]).toMatchObject({ asin: 'B', title: 'B' })
    expect(files.user2index).toBe('u1\t0\nu3\t1\n')
  })
  it('rejects a CSV without the required columns', () => {
    expect(() => convert('user,item\n', '')).toThrow(/timestamp/)
  })
})

describe('harness end to end (tiny fixture, shipped model, onnxruntime-node)', () => {
  let dir: string
  let loaded: LoadedModel
  let ctx: Context
  let tiny: { events: string; items: string }
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'inpage-eval-'))
    // The shared dataset ($INPAGE_DATA, else ../shared/data): missing, it fails here, never skips.
    tiny = makeTiny(datasetDir(), join(dir, 'input'))
    const stats = convertFiles(tiny.events, tiny.items, join(dir, 'tiny'))
    expect(stats.users).toBe(8)
    loaded = await loadModel('public/models/inpage-sci-v1', { threads: 1 })
    ctx = await buildContext(loadDataset(join(dir, 'tiny'), ['valid', 'test']), loaded)
  }, 60_000)
  afterAll(async () => {
    await loaded?.model.release()
    rmSync(dir, { recursive: true, force: true })
  })
  const opts = (o: Partial<EvalOptions>): EvalOptions => ({ ...DEFAULT_OPTIONS, protocol: 'full', split: 'test', personalWeight: 0.7, queryWeight: 0.5, ...o })
  const rankMetrics = (m: RankMetrics) => ({ 'recall@10': m['recall@10'], 'ndcg@10': m['ndcg@10'], 'mrr@10': m['mrr@10'] })

  /** The category protocol's server list, built here from the converted files instead of by the harness:
   * the target's category page = items of its category key by popularity (occurrences in valid.inter
   * histories, ties by the smaller id), the first pageSize; history items leave the page when excluded. */
  function serverRanks(rows: readonly Row[], exclude: boolean): number[] {
    const items = readItems(readFileSync(join(dir, 'tiny', 'items.jsonl'), 'utf8'))
    const pop = new Array<number>(items.length).fill(0)
    for (const r of readInter(readFileSync(join(dir, 'tiny', 'valid.inter'), 'utf8'))) for (const i of r.hist) pop[i]!++
    return rows.map((row) => {
      const key = categoryKey(items[row.target]!.categories)
      const page = items
        .filter((it) => categoryKey(it.categories) === key)
        .map((it) => it.item)
        .sort((a, b) => pop[b]! - pop[a]! || a - b)
        .slice(0, DEFAULT_OPTIONS.pageSize)
        .filter((i) => !(exclude && row.hist.includes(i)))
      if (exclude && row.hist.includes(row.target)) return MISS
      const p = page.indexOf(row.target)
      return p < 0 ? MISS : p + 1
    })
  }

  /** The worker's path: the history's model events scored (with the options' prior), then ranked. */
  const personalize = async (history: StoredEvent[], cands: Candidate[], options: RerankOptions) => {
    const scores = await score(loaded.model, selectModelEvents(history, modelReads(loaded.model)), cands, { source: ctx.source, withReasons: false, popularityPrior: options.popularityPrior })
    if (scores === NO_HISTORY) throw new Error('no history')
    return rankCandidates(scores, options)
  }

  it('scores the full catalogue with the same numbers score() computes', async () => {
    const row = ctx.ds.splits.test![0]!
    const history = historyEvents(ctx, row.hist)
    const cands = ctx.candidates.slice(0, 20)
    const res = await personalize(history, cands, { personalWeight: 1 })
    const [u] = await loaded.model.userVectors([{ vecs: row.hist.map((i) => ctx.itemVecs[i]!), types: row.hist.map(() => 0) }])
    const knn = loaded.model.manifest.scoring!.knn!
    const ids = cands.map((c) => c.id)
    const direct = personalScores(u!, ctx.itemVecs.slice(0, 20), knnScores(row.hist.map((i) => ctx.ids[i]!), ids, loaded.model.neighbors!, knn.decay).map((x) => knn.weight * x))
    for (const it of res.items) expect(it.personal).toBeCloseTo(direct[ids.indexOf(it.id)]!, 5)
  })

  it("score()'s leave-one-out scores are each event's variant computed on its own (user vector and kNN part)", async () => {
    const m = loaded.model
    const knnOf = (ids: string[]) => knnScores(ids, ctx.ids, m.neighbors!, m.manifest.scoring!.knn!.decay)
    // A history whose items have neighbours among the catalogue (else the kNN part would check nothing).
    const row = ctx.ds.splits.test!.find((r) => r.hist.length >= 3 && knnOf(r.hist.slice(1).map((i) => ctx.ids[i]!)).some((x) => x !== 0))!
    expect(row).toBeDefined()
    // The first item seen again last: leaving its first sighting out keeps the same recent items (the kNN part is reused).
    const hist = [...row.hist, row.hist[0]!]
    const events = selectModelEvents(historyEvents(ctx, hist), modelReads(m))
    const cands = ctx.candidates
    const s = await score(m, events, cands, { source: ctx.source })
    if (s === NO_HISTORY) throw new Error('no history')
    const knn = m.manifest.scoring!.knn!
    const ids = events.map((e) => e.itemId)
    const vecs = events.map((e) => ctx.itemVecs[ctx.ids.indexOf(e.itemId)]!)
    const types = events.map((e) => m.eventTypeId(e.type)!)
    const candVecs = cands.map((c) => ctx.itemVecs[ctx.ids.indexOf(c.id)]!)
    const candIds = cands.map((c) => c.id)
    expect(s.without!.events).toBe(events.length)
    for (let e = 0; e < events.length; e++) {
      const keep = (_: unknown, j: number) => j !== e
      const [u] = await m.userVectors([{ vecs: vecs.filter(keep), types: types.filter(keep) }])
      const direct = personalScores(u!, candVecs, knnScores(ids.filter(keep), candIds, m.neighbors!, knn.decay).map((x) => knn.weight * x))
      expect(direct.map((_, i) => s.without!.at(e, i))).toEqual(direct)
    }
  })

  it('popularityPrior: false removes exactly the prior term, user-vector weight × item prior, from each personal score', async () => {
    const m = loaded.model
    expect(m.priorRange).toBeDefined() // the shipped model carries a prior (collab.json layout)
    const [a, b] = m.priorRange!
    const row = ctx.ds.splits.test![0]!
    const history = historyEvents(ctx, row.hist)
    const cands = ctx.candidates.slice(0, 20)
    const on = await personalize(history, cands, { personalWeight: 1 })
    const off = await personalize(history, cands, { personalWeight: 1, popularityPrior: false })
    const [u] = await m.userVectors([{ vecs: row.hist.map((i) => ctx.itemVecs[i]!), types: row.hist.map(() => 0) }])
    const personalOff = new Map(off.items.map((it) => [it.id, it.personal]))
    let moved = 0
    for (const it of on.items) {
      const v = ctx.itemVecs[ctx.ids.indexOf(it.id)]!
      let prior = 0
      for (let d = a; d < b; d++) prior += u![d]! * v[d]!
      expect(personalOff.get(it.id)!).toBeCloseTo(it.personal - prior, 5)
      if (Math.abs(prior) > 1e-4) moved++
    }
    expect(moved).toBeGreaterThan(0)
  })

  it('runs every protocol and writes the documented shape', async () => {
    for (const protocol of ['full', 'category', 'search'] as const) {
      const r = await evaluate(ctx, opts({ protocol, grid: true }))
      expect(r).toMatchObject({ protocol, split: 'test', users: 8, excludeHistory: true })
      for (const s of ['popularity', 'item-knn', 'next-item', 'text-only', 'inpage-int8', 'inpage-int8-diverse', 'inpage-int8-near-duplicates-keep']) {
        const m = r.systems[s]!
        expect(m, s).toBeDefined()
        for (const k of ['recall@10', 'ndcg@10', 'mrr@10', 'coverage@10', 'gini@10'] as const) {
          expect(m[k]).toBeGreaterThanOrEqual(0)
          expect(m[k]).toBeLessThanOrEqual(1)
        }
        expect(m['ndcg@10']).toBeLessThanOrEqual(m['recall@10'])
      }
      expect(r.grid!.length).toBeGreaterThan(0)
      expect(markdown(r)).toContain('| inpage-int8 |')
      expect(svg(r)).toMatch(/^<svg[\s\S]*<\/svg>\n$/)
      if (protocol === 'category') {
        // The server's order (and the popularity baseline, which is that order) against the page built here.
        const expected = metricsFromRanks(serverRanks(ctx.ds.splits.test!, true))
        for (const s of ['server', 'popularity']) expect(rankMetrics(r.systems[s]!), s).toEqual(expected)
        expect(r.grid!.filter((g) => g.system === 'inpage-int8').map((g) => g.personalWeight)).toEqual([0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1])
        // Items moved up into the top 10 carry a reason (leave-one-out): on this fixture some always move.
        expect(r.systems['inpage-int8']!.moved_up).toBeGreaterThan(0)
        expect(r.systems['inpage-int8']!['moved_up_with_reason@10']).toBeGreaterThan(0)
        // The calibration levels, with the prior on and off: the default level is the default system itself.
        for (const c of [0, 0.05, 0.1, 0.2, 0.3, 0.5]) for (const p of ['', '-prior-off']) expect(r.systems[`inpage-int8${p}-calibration-${c}`], `${p} ${c}`).toBeDefined()
        expect(rankMetrics(r.systems[`inpage-int8-calibration-${DEFAULTS.calibration}`]!)).toEqual(rankMetrics(r.systems['inpage-int8']!))
        expect(tradeoffSvg(r)).toMatch(/^<svg[\s\S]*prior on[\s\S]*prior off[\s\S]*<\/svg>\n$/)
      }
      if (protocol === 'search') expect(tradeoffSvg(r)).toBeUndefined() // no calibration levels on search
      if (protocol === 'search') {
        expect(r.semiSynthetic).toMatch(/SEMI-SYNTHETIC/)
        // The search without the query vector (its model's encoder throws if asked): scored, and at weight 0 it is
        // the server's order; its grid is valid's choice of searchServerPersonalWeight.
        const noVector = r.grid!.filter((g) => g.system === 'inpage-int8-server-query')
        expect(noVector.map((g) => g.personalWeight)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
        expect(noVector[0]!.metrics).toEqual(rankMetrics(r.systems.server!))
        expect(r.systems['inpage-int8-server-query']!.rows).toBe(r.systems.server!.rows)
        expect(r.best!.searchServerPersonalWeight).toBeDefined()
      } else expect(r.systems['inpage-int8-server-query']).toBeUndefined()
    }
  }, 30_000)

  it('keeps history items with --no-exclude-history: a repeat purchase can be found, and pages keep history items', async () => {
    // Every row's target replaced by the last item of its history: a repeat purchase.
    const test = ctx.ds.splits.test!.map((row) => ({ ...row, target: row.hist.at(-1)! }))
    const repeat: Context = { ...ctx, ds: { ...ctx.ds, splits: { ...ctx.ds.splits, test } } }
    for (const protocol of ['full', 'category'] as const) {
      const excluded = await evaluate(repeat, opts({ protocol, reasons: false }))
      const kept = await evaluate(repeat, opts({ protocol, reasons: false, excludeHistory: false }))
      expect(kept.excludeHistory).toBe(false)
      for (const [s, m] of Object.entries(excluded.systems)) expect(m['recall@10'], `${protocol} ${s} excluded`).toBe(0)
      // Kept, the bought item is ranked: the inpage model finds a repeat purchase at the top for some rows.
      expect(kept.systems['inpage-int8']!['recall@10'], `${protocol} inpage-int8 kept`).toBeGreaterThan(0)
      expect(kept.systems['inpage-int8']!.rows).toBe(excluded.systems['inpage-int8']!.rows)
    }
    // Category pages: history items stay on the page (server order, computed here) or leave it.
    const real = ctx.ds.splits.test!
    for (const [exclude, rows] of [[true, real], [false, real], [false, test]] as const) {
      const ctxRows: Context = { ...ctx, ds: { ...ctx.ds, splits: { ...ctx.ds.splits, test: [...rows] } } }
      const r = await evaluate(ctxRows, opts({ protocol: 'category', reasons: false, excludeHistory: exclude }))
      expect(rankMetrics(r.systems.server!), `exclude ${exclude}`).toEqual(metricsFromRanks(serverRanks(rows, exclude)))
    }
    expect(serverRanks(real, true)).not.toEqual(serverRanks(real, false)) // the fixture has history items on its pages
  }, 30_000)

  it('the fixture files are the converter input format', () => {
    expect(readFileSync(tiny.events, 'utf8').split('\n')[0]).toBe('user,item,timestamp')
  })
})
