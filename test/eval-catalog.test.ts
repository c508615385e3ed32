// `npm run eval -- --catalog <pack>`: inpage reads what a browser with that pack reads — the pack's
// neighbour lists (the data's own logs), its text vectors when made with this model's encoder — and the
// results say which pack. Tiny fixture from the shared data, real model (onnxruntime-node).
import { adaptation, adaptUser, packAdapt } from '../src/ranking/adapt'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildPack } from '../catalog/build'
import { openPack } from '../catalog/read'
import { convertFiles } from '../node/convert'
import { datasetDir, loadDataset } from '../node/data'
import { makeTiny } from '../eval/fixtures/tiny'
import { evaluate } from '../eval/harness'
import { buildContext, modelEvents } from '../eval/context'
import { NO_HISTORY, score, type CatalogLookup } from '../src/ranking/personalize'
import { knnScores, personalScores } from '../src/ranking/score'
import { DEFAULT_OPTIONS, type EvalOptions } from '../eval/options'
import { loadModel, type LoadedModel } from '../node/model-node'
import { MIN_TUNE_USERS, tune, type TuneResult } from '../eval/tune'
import { DEFAULTS } from '../src/ranking/rerank'
import { tunePack } from '../eval/tune-cli'

const MODEL = 'public/models/inpage-sci-v1'
let dir: string
let loaded: LoadedModel
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'inpage-eval-catalog-'))
  const tiny = makeTiny(datasetDir(), join(dir, 'input'))
  convertFiles(tiny.events, tiny.items, join(dir, 'tiny'))
  loaded = await loadModel(MODEL, { threads: 1 })
  await buildPack({ data: join(dir, 'tiny'), model: MODEL, out: join(dir, 'pack'), encode: (t) => loaded.model.encode(t) })
}, 120_000)
afterAll(async () => {
  await loaded?.model.release()
  rmSync(dir, { recursive: true, force: true })
})
const opts: EvalOptions = { ...DEFAULT_OPTIONS, protocol: 'full', split: 'test', personalWeight: 0.7, queryWeight: 0.5 }

describe('eval with a catalog pack', () => {
  it("scores with the pack's neighbour lists and text vectors, and says which pack it read", async () => {
    const ds = () => loadDataset(join(dir, 'tiny'), ['valid', 'test'])
    const plain = await buildContext(ds(), loaded)
    const withPack = await buildContext(ds(), loaded, { catalog: join(dir, 'pack') })
    const pack = openPack(join(dir, 'pack'))
    expect(withPack.packInfo).toMatchObject({ pack: `${pack.manifest.name}@${pack.manifest.version}`, textVectors: true, covered: withPack.ids.length })
    // Neighbour lists: the pack's (built from these 8 shoppers), not the model's (all of Scientific).
    let differ = 0
    for (const id of withPack.ids) {
      expect([...(withPack.neighbors!.get(id) ?? new Map())]).toEqual(pack.item(id)!.neighbors)
      if (JSON.stringify([...(plain.neighbors!.get(id) ?? [])]) !== JSON.stringify(pack.item(id)!.neighbors)) differ++
    }
    expect(differ).toBeGreaterThan(0)
    // Text vectors: the pack's int8 ones, within a quantization step of the encoder's.
    withPack.textVecs.forEach((v, i) => {
      const e = plain.textVecs[i]!
      let max = 0
      for (let j = 0; j < v.length; j++) max = Math.max(max, Math.abs(e[j]!))
      for (let j = 0; j < v.length; j++) expect(Math.abs(v[j]! - e[j]!)).toBeLessThanOrEqual(max / 254 + 1e-6)
    })
    const r = await evaluate(withPack, opts)
    expect((r as { catalog?: unknown }).catalog).toMatchObject({ pack: withPack.packInfo!.pack, covered: withPack.ids.length })
    expect(r.warnings ?? []).not.toContainEqual(expect.stringMatching(/collab\.json/))
  }, 120_000)
})

describe('the general model (contract 3) with a catalog pack', () => {
  it('reads its prior from the pack and personalizes a catalog it has no tables for', async () => {
    const general = await loadModel('public/models/inpage-general-v1', { threads: 1 })
    try {
      const m = general.model
      expect(m.manifest.dims).toMatchObject({ collab: 1, item: 385 })
      expect(m.priorRange).toEqual([384, 385])
      const v = m.publicFromPopularity(7)!
      expect(v[0]).toBeCloseTo(Math.log1p(7) / 8, 6)
      await buildPack({ data: join(dir, 'tiny'), model: 'public/models/inpage-general-v1', out: join(dir, 'pack-general'), encode: (t) => m.encode(t) })
      const ctx = await buildContext(loadDataset(join(dir, 'tiny'), ['valid', 'test']), general, { catalog: join(dir, 'pack-general') })
      expect(ctx.packInfo).toMatchObject({ textVectors: true, covered: ctx.ids.length })
      // Popular items carry their prior in the last dimension of their item vector.
      const pack = openPack(join(dir, 'pack-general'))
      ctx.ids.forEach((id, i) => expect(ctx.itemVecs[i]![384]).toBeCloseTo(Math.log1p(pack.item(id)!.pop) / 8, 5))
      const r = await evaluate(ctx, opts)
      expect(r.systems['inpage-int8']!['ndcg@10']).toBeGreaterThanOrEqual(0)

      // Per-store tuning (eval/tune.ts): the model's own settings score on valid exactly what eval's inpage rows give,
      // on both protocols; a tiny store is below the threshold, so its pack keeps the model's settings.
      const valid = await buildContext(loadDataset(join(dir, 'tiny'), ['valid']), general, { catalog: join(dir, 'pack-general') })
      const t = tune(valid, { maxUsers: 1e9 })
      for (const protocol of ['full', 'category'] as const) {
        const e = await evaluate(valid, { ...opts, protocol, split: 'valid', personalWeight: DEFAULTS.personalWeight })
        expect(t.model.ndcg[protocol]).toBeCloseTo(e.systems['inpage-int8']!['ndcg@10'], 3)
      }
      expect(t.users).toBe(valid.ds.splits.valid!.length)
      expect(t.users).toBeLessThan(MIN_TUNE_USERS)
      expect(t.tuning).toBeUndefined()
      expect(t.why).toMatch(/fewer than 1000/)
      expect(t.best.criterion).toBeGreaterThanOrEqual(1)

      // The pack's tuning is what score() then uses: written into pack.json, read back into the context.
      // With the adaptation trained too (`--adapt`): whatever wins, eval then scores what the tuner scored.
      const written = await tunePack(join(dir, 'tiny'), join(dir, 'pack-general'), general, { minUsers: 1, minGain: -1, minZ: 0, adapt: { steps: 40, evalEvery: 20 } })
      expect(written.tuning).toMatchObject({ chosenOn: { split: 'valid', users: t.users } })
      expect((written as TuneResult).adapt).toMatchObject({ valid: [{ step: 0 }, { step: 20 }, { step: 40 }] })
      const tuned = await buildContext(loadDataset(join(dir, 'tiny'), ['valid']), general, { catalog: join(dir, 'pack-general') })
      expect(tuned.settings).toEqual(written.tuning)
      expect(tuned.packInfo?.tuning).toEqual(tuned.settings)
      for (const protocol of ['full', 'category'] as const) {
        const again = await evaluate(tuned, { ...opts, protocol, split: 'valid', personalWeight: DEFAULTS.personalWeight })
        expect(again.systems['inpage-int8']!['ndcg@10'], protocol).toBeCloseTo((written as TuneResult).best.ndcg[protocol]!, 3)
      }

      // The next-item term, as score() (the worker's) adds it: kNN weight × kNN part + next weight × the same sum
      // over the history items' next-item lists, on top of the user vector's dot product.
      const next = { weight: 4, decay: 0.6 }
      const knn = { weight: 2, decay: 0.8 }
      // A tiny store's steps fall below the k-shopper threshold: each record gets a made-up list of two items after it.
      const row = valid.ds.splits.valid!.find((r) => r.hist.length >= 2)!
      const followers = (id: string): [string, number][] => [[valid.ids[(valid.ids.indexOf(id) + 1) % valid.ids.length]!, 0.5], [valid.ids[(valid.ids.indexOf(id) + 7) % valid.ids.length]!, 0.25]]
      const catalog: CatalogLookup = {
        get: (id) => {
          const r = valid.catalog!.get(id)
          return r && { ...r, next: followers(id) }
        },
      }
      const events = modelEvents(valid, row.hist)
      const cands = valid.candidates
      const s = await score(m, events, cands, { source: valid.source, catalog, settings: { knn, next }, withReasons: false })
      if (s === NO_HISTORY) throw new Error('no history')
      const [u] = await m.userVectors([{ vecs: events.map((e) => valid.itemVecs[valid.ids.indexOf(e.itemId)]!), types: events.map((e) => m.eventTypeId(e.type)!) }])
      const evIds = events.map((e) => e.itemId)
      const candIds = cands.map((c) => c.id)
      const lists = new Map(evIds.map((h) => [h, new Map(followers(h))]))
      const k = knnScores(evIds, candIds, valid.neighbors!, knn.decay)
      const nx = knnScores(evIds, candIds, lists, next.decay)
      expect(nx.some((x) => x > 0)).toBe(true)
      const direct = personalScores(u!, cands.map((c) => valid.itemVecs[valid.ids.indexOf(c.id)]!), k.map((x, i) => knn.weight * x + next.weight * nx[i]!))
      expect(s.personal).toEqual(direct)
      // Without the tuning's next weight the term is off (no model default).
      const off = await score(m, events, cands, { source: valid.source, catalog, settings: { knn }, withReasons: false })
      if (off === NO_HISTORY) throw new Error('no history')
      expect(off.personal).toEqual(personalScores(u!, cands.map((c) => valid.itemVecs[valid.ids.indexOf(c.id)]!), k.map((x) => knn.weight * x)))
      // The store's adaptation (pack.json's tuning.adapt, int8) moves the user vector's text part and nothing else.
      const d = m.dims.text
      const adapt = packAdapt({ dims: d, rank: 2, a: Float32Array.from({ length: d * 2 }, (_, i) => ((i % 5) - 2) / 20), b: Float32Array.from({ length: d * 2 }, (_, i) => ((i % 3) - 1) / 10) })
      const on = await score(m, events, cands, { source: valid.source, catalog, settings: { knn, adapt }, withReasons: false })
      if (on === NO_HISTORY) throw new Error('no history')
      expect(on.personal).toEqual(personalScores(adaptUser(u!, adaptation(adapt)), cands.map((c) => valid.itemVecs[valid.ids.indexOf(c.id)]!), k.map((x) => knn.weight * x)))
      expect(on.personal).not.toEqual(off.personal)
    } finally {
      await general.model.release()
    }
  }, 240_000)
})
