// A pack's `tuning` (issue 26) against careless and hostile stores: pack.json's tuning of the wrong shape, NaN,
// Infinity, negative or huge numbers, strings, `__proto__` / `constructor` keys, extra or missing keys is refused
// by name by the browser's reader (the worker's own PackSource over real HTTP: `CatalogLoadError`, the server's
// order) and by Node's; and the steps that write pack.json (`npm run catalog`'s tuning, `npm run eval -- tune`)
// write only into a pack, atomically, and leave the pack as it was when they fail.
import { createServer, type Server } from 'node:http'
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { snapshot } from './helpers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildPack } from '../catalog/build'
import { openPack } from '../catalog/read'
import { loadModel, type LoadedModel } from '../node/model-node'
import { checkPackManifest, checkTuning, toBase64, type PackManifest, type PackTuning } from '../src/pack/format'
import { packAdapt } from '../src/ranking/adapt'
import { tunePack } from '../eval/tune-cli'
import { pairedSE, tuningDecision } from '../eval/tune'
import { PackSource } from '../workers/pack'

const SCI = 'public/models/inpage-sci-v1'
const GENERAL = 'public/models/inpage-general-v1'
const tmp = mkdtempSync(join(tmpdir(), 'inpage-pack-tuning-'))
let seq = 0
const fresh = (name: string) => {
  const d = join(tmp, `${name}-${seq++}`)
  mkdirSync(d, { recursive: true })
  return d
}

/** A data folder in eval's format: 20 items, a few shoppers (below the tuning threshold). */
function dataFolder(): string {
  const d = join(fresh('data'), 'store')
  mkdirSync(d)
  writeFileSync(join(d, 'items.jsonl'), Array.from({ length: 20 }, (_, item) => JSON.stringify({ item, asin: `sku-${item}`, title: `Thing ${item}`, brand: null, categories: ['Root', 'Leaf'], description: null })).join('\n') + '\n')
  writeFileSync(join(d, 'valid.inter'), ['user_id:token\titem_id_list:token_seq\titem_id:token', ...[[0, 1, 2], [0, 1, 3], [1, 0], [5, 6, 5, 6], [7, 8, 9]].map((h, u) => `${u}\t${h.join(' ')}\t4`)].join('\n') + '\n')
  return d
}


/** The served pack's text dims (inpage-sci-v1's), and an adaptation of that size in its pack form. */
const DIMS = (JSON.parse(readFileSync(join(SCI, 'manifest.json'), 'utf8')) as { dims: { text: number } }).dims.text
const ADAPT = packAdapt({ dims: DIMS, rank: 2, a: Float32Array.from({ length: DIMS * 2 }, (_, i) => ((i % 5) - 2) / 40), b: Float32Array.from({ length: DIMS * 2 }, (_, i) => ((i % 3) - 1) / 30) })
const adaptJson = (over: Record<string, unknown>) => JSON.stringify({ adapt: { ...ADAPT, ...over }, chosenOn: { split: 'valid', users: 1, protocols: [], gain: 0 } })

const GOOD: PackTuning = { knn: { weight: 4, decay: 0.6 }, user: { decay: 0.5, prior: 0.8 }, chosenOn: { split: 'valid', users: 1861, protocols: ['full', 'category'], gain: 0.065 } }

/** Hostile or careless tunings, as pack.json text (so `__proto__` is an own key, as JSON.parse makes it). */
const HOSTILE: [string, string][] = [
  ['not an object', '"fast"'],
  ['an array', '[1, 2]'],
  ['null', 'null'],
  ['NaN (as JSON has it: a string)', '{"knn": {"weight": "NaN", "decay": 0.6}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}'],
  ['a string weight', '{"knn": {"weight": "4", "decay": 0.6}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}'],
  ['Infinity (1e999)', '{"knn": {"weight": 1e999, "decay": 0.6}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}'],
  ['a negative weight', '{"knn": {"weight": -2, "decay": 0.6}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}'],
  ['a huge weight', '{"knn": {"weight": 1e9, "decay": 0.6}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}'],
  ['a decay of 0', '{"knn": {"weight": 1, "decay": 0}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}'],
  ['a decay over 1', '{"user": {"decay": 1.5, "prior": 0}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}'],
  ['a negative prior', '{"user": {"decay": 0.5, "prior": -0.4}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}'],
  ['a huge prior', '{"user": {"decay": 0.5, "prior": 400}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}'],
  ['__proto__ in tuning', '{"__proto__": {"polluted": 1}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}'],
  ['__proto__ in knn', '{"knn": {"weight": 1, "decay": 0.5, "__proto__": {"weight": 9}}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}'],
  ['constructor in user', '{"user": {"decay": 0.5, "prior": 0, "constructor": {"prototype": {"polluted": 1}}}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}'],
  ['an extra key', '{"knn": {"weight": 1, "decay": 0.5}, "text": {"decay": 0.1}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}'],
  ['a huge next-item weight', '{"next": {"weight": 1e6, "decay": 0.6}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}'],
  ['a next-item decay of 0', '{"next": {"weight": 2, "decay": 0}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}'],
  ['__proto__ in next', '{"next": {"weight": 2, "decay": 0.6, "__proto__": {"weight": 9}}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}'],
  ['next as a list', '{"next": [2, 0.6], "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}'],
  ['a misspelt key', '{"knn": {"wieght": 1, "decay": 0.5}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}'],
  ['a missing decay', '{"knn": {"weight": 1}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}'],
  ['knn null', '{"knn": null, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}'],
  ['no chosenOn', '{"knn": {"weight": 1, "decay": 0.5}}'],
  ['chosen on test', '{"knn": {"weight": 1, "decay": 0.5}, "chosenOn": {"split": "test", "users": 1, "protocols": [], "gain": 0}}'],
  ['a fractional user count', '{"knn": {"weight": 1, "decay": 0.5}, "chosenOn": {"split": "valid", "users": 1.5, "protocols": [], "gain": 0}}'],
  ['an adaptation of rank 0', adaptJson({ rank: 0 })],
  ['a fractional adaptation rank', adaptJson({ rank: 1.5 })],
  ['an adaptation rank over the bound', adaptJson({ rank: 1000 })],
  ['an adaptation whose rank disagrees with its size', adaptJson({ rank: 3 })],
  ['an adaptation scale as a number', adaptJson({ scale: 0.01 })],
  ['an adaptation scale of three', adaptJson({ scale: [0.01, 0.01, 0.01] })],
  ['a negative adaptation scale', adaptJson({ scale: [-0.01, 0.01] })],
  ['a huge adaptation scale', adaptJson({ scale: [0.01, 1e6] })],
  ['a string adaptation scale', adaptJson({ scale: ['0.01', 0.01] })],
  ['an adaptation that is not base64', adaptJson({ a: '!!!!' })],
  ['an adaptation one value short', adaptJson({ a: toBase64(new Uint8Array(DIMS * 2 - 1)) })],
  ['an adaptation for another model (dims)', adaptJson({ a: toBase64(new Uint8Array(512 * 2)), b: toBase64(new Uint8Array(512 * 2)) })],
  ['an adaptation matrix as a list', adaptJson({ b: [1, 2, 3] })],
  ['__proto__ in adapt', `{"adapt": {"rank": 2, "scale": [0.01, 0.01], "a": "${ADAPT.a}", "b": "${ADAPT.b}", "__proto__": {"rank": 9}}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}`],
  ['adapt with a missing matrix', JSON.stringify({ adapt: { rank: 2, scale: [0.01, 0.01], a: ADAPT.a }, chosenOn: { split: 'valid', users: 1, protocols: [], gain: 0 } })],
  ['protocols of markup', '{"knn": {"weight": 1, "decay": 0.5}, "chosenOn": {"split": "valid", "users": 1, "protocols": ["<img src=x>"], "gain": 0}}'],
]

const withTuning = (m: PackManifest, tuningJson: string) => `${JSON.stringify({ ...m, tuning: 0 }).replace(/"tuning":0/, `"tuning":${tuningJson}`)}`

let server: Server
let origin = ''
const answer = new Map<string, string>()
let manifest: PackManifest
let general: LoadedModel
beforeAll(async () => {
  await buildPack({ data: dataFolder(), model: SCI, out: join(tmp, 'served'), name: 'served', textVectors: 'none' })
  manifest = checkPackManifest(JSON.parse(readFileSync(join(tmp, 'served', 'pack.json'), 'utf8')))
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url!, 'http://x').pathname)
    const body = answer.get(path)
    if (body !== undefined) return res.writeHead(200, { 'Content-Type': 'application/json' }).end(body)
    const file = join(tmp, path)
    if (!file.startsWith(tmp) || !existsSync(file)) return res.writeHead(404).end('not found')
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(readFileSync(file))
  })
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  general = await loadModel(GENERAL, { threads: 1 })
}, 120_000)
afterAll(async () => {
  await general?.model.release()
  await new Promise((ok) => server.close(ok))
  rmSync(tmp, { recursive: true, force: true })
})

describe("pack.json's tuning: the readers", () => {
  it('a good tuning is read as a fresh object of exactly its fields', () => {
    const parsed = JSON.parse(JSON.stringify(GOOD)) as PackTuning
    const t = checkTuning(parsed)
    expect(t).toEqual(GOOD)
    expect(t).not.toBe(parsed)
    expect(t.chosenOn.protocols).not.toBe(parsed.chosenOn.protocols)
    // Either part may be absent (a model without a closed-form user model has no `user`).
    expect(checkTuning({ knn: GOOD.knn, chosenOn: GOOD.chosenOn })).toEqual({ knn: GOOD.knn, chosenOn: GOOD.chosenOn })
    // The next-item term (a pack with next-item lists) is read the same way.
    const next = { weight: 2, decay: 0.6 }
    expect(checkTuning({ ...GOOD, next })).toEqual({ ...GOOD, next })
    expect(checkTuning({ ...GOOD, next }).next).not.toBe(next)
    // What JSON cannot carry, a caller in JavaScript can: NaN, -Infinity.
    for (const knn of [{ weight: NaN, decay: 0.5 }, { weight: 1, decay: -Infinity }])
      expect(() => checkTuning({ knn, chosenOn: GOOD.chosenOn }), JSON.stringify(knn)).toThrow(/tuning\.knn/)
  })

  it.each(HOSTILE)('%s: refused by name in the browser (CatalogLoadError) and in Node, Object.prototype untouched', async (_, json) => {
    const text = withTuning(manifest, json)
    // The same text through the pure check: one line naming the field.
    let err: Error | undefined
    try {
      checkPackManifest(JSON.parse(text))
    } catch (e) {
      err = e as Error
    }
    expect(err?.message).toMatch(/^pack\.json: tuning/)
    expect(err!.message.split('\n')).toHaveLength(1)
    // The worker's reader, over HTTP, as a page's worker fetches it.
    const url = `/served-${seq++}/`
    answer.set(`${url}pack.json`, text)
    const source = new PackSource(`${origin}${url}`)
    await expect(source.info()).rejects.toMatchObject({ name: 'CatalogLoadError', message: expect.stringContaining('tuning') })
    // Node's reader (the store's server, eval): an InputError naming the file.
    const dir = fresh('node-reader')
    mkdirSync(join(dir, 'shards'))
    writeFileSync(join(dir, 'pack.json'), text)
    let nodeErr: unknown
    try {
      openPack(dir)
    } catch (e) {
      nodeErr = e
    }
    expect(nodeErr).toMatchObject({ name: 'InputError', message: expect.stringContaining('tuning') })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'weight')).toBe(false)
  })

  it('the same pack.json with a good tuning is read, and its tuning is what the worker gets', async () => {
    answer.set('/served/pack.json', withTuning(manifest, JSON.stringify({ ...GOOD, adapt: ADAPT })))
    try {
      const source = new PackSource(`${origin}/served/`)
      expect((await source.info()).tuning).toEqual({ ...GOOD, adapt: ADAPT })
      // Its shards still verify: the tuning is not part of what is signed, and the version still names the key.
      const { items } = await source.get(['sku-0', 'sku-1'])
      expect([...items.keys()].sort()).toEqual(['sku-0', 'sku-1'])
    } finally {
      answer.delete('/served/pack.json')
    }
  })
})

describe('the steps that write pack.json', () => {
  it('eval tune refuses a folder that is not a pack (a model, a site, several packs, nothing, an empty one), untouched', async () => {
    const data = dataFolder()
    const model = fresh('model')
    copyFileSync(join(SCI, 'manifest.json'), join(model, 'manifest.json'))
    const site = fresh('site')
    writeFileSync(join(site, 'index.html'), '<h1>shop</h1>')
    writeFileSync(join(site, 'pack.json'), JSON.stringify({ format: 'something-else' }))
    const packs = fresh('packs')
    await buildPack({ data, model: GENERAL, out: join(packs, 'a'), textVectors: 'none' })
    const mixed = fresh('mixed')
    await buildPack({ data, model: GENERAL, out: join(mixed, 'pack'), textVectors: 'none' })
    writeFileSync(join(mixed, 'pack', 'robots.txt'), 'User-agent: *')
    const empty = fresh('empty')
    for (const [dir, why] of [
      [model, /holds manifest\.json \(a model folder\?\)/],
      [site, /whose format is "something-else"/],
      [packs, /holds "a" and no pack\.json/],
      [join(mixed, 'pack'), /holds a pack and "robots\.txt"/],
      [join(tmp, 'no-such-folder'), /no such folder/],
      [empty, /is empty/],
    ] as const) {
      const before = existsSync(dir) ? snapshot(dir) : undefined
      await expect(tunePack(data, dir, general, { minUsers: 1 }), dir).rejects.toMatchObject({ name: 'OutputError', message: expect.stringMatching(why) })
      expect(existsSync(dir) ? snapshot(dir) : undefined, dir).toEqual(before)
    }
  }, 60_000)

  it('eval tune writes pack.json whole (no temporary file left) and leaves the pack as it was when it fails', async () => {
    const data = dataFolder()
    const out = join(fresh('site'), 'pack')
    await buildPack({ data, model: GENERAL, out, textVectors: 'none' })
    const before = snapshot(out)
    // Failures after the folder check: bad histories, a pack of another model.
    const bad = dataFolder()
    writeFileSync(join(bad, 'valid.inter'), readFileSync(join(bad, 'valid.inter'), 'utf8') + '9\t1 two 3\t4\n')
    await expect(tunePack(bad, out, general, { minUsers: 1 })).rejects.toMatchObject({ name: 'InputError' })
    expect(snapshot(out)).toEqual(before)
    const sciPack = join(fresh('site'), 'pack')
    await buildPack({ data, model: SCI, out: sciPack, textVectors: 'none' })
    const sciBefore = snapshot(sciPack)
    await expect(tunePack(data, sciPack, general, { minUsers: 1 })).rejects.toThrow(/was built with inpage-sci-v1@.*would choose settings the browser never uses/)
    expect(snapshot(sciPack)).toEqual(sciBefore)
    // A dry run writes nothing; a real one writes pack.json, the shards as they were, nothing beside.
    await tunePack(data, out, general, { minUsers: 1, minGain: -1, dryRun: true })
    expect(snapshot(out)).toEqual(before)
    const r = await tunePack(data, out, general, { minUsers: 1, minGain: -1 })
    expect(r.tuning).toBeDefined()
    const after = snapshot(out)
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort())
    for (const f of Object.keys(before)) if (f !== 'pack.json') expect(after[f], f).toBe(before[f])
    expect(checkPackManifest(JSON.parse(after['pack.json']!)).tuning).toEqual(r.tuning)
    // Below the threshold the tuning is removed again (the model's settings), the rest of pack.json kept.
    const kept = await tunePack(data, out, general)
    expect(kept.why).toMatch(/5 valid shoppers, fewer than 1000/)
    const untuned = JSON.parse(readFileSync(join(out, 'pack.json'), 'utf8')) as PackManifest
    expect(untuned.tuning).toBeUndefined()
    expect(untuned).toEqual(JSON.parse(before['pack.json']!))
  }, 120_000)

  it("npm run catalog's tuning step runs before the pack moves in: a step that fails or returns a hostile tuning leaves the old pack", async () => {
    const data = dataFolder()
    const parent = fresh('site')
    const out = join(parent, 'pack')
    await buildPack({ data, model: GENERAL, out, textVectors: 'none' })
    const before = snapshot(out)
    const failing = async () => {
      throw Object.assign(new Error('tuner ran out of memory'), { name: 'TuneError' })
    }
    await expect(buildPack({ data, model: GENERAL, out, textVectors: 'none', force: true, tune: failing })).rejects.toThrow('tuner ran out of memory')
    expect(snapshot(out)).toEqual(before)
    const hostile = async () => JSON.parse('{"knn": {"weight": 1e9, "decay": 0.5}, "chosenOn": {"split": "valid", "users": 1, "protocols": [], "gain": 0}}') as PackTuning
    await expect(buildPack({ data, model: GENERAL, out, textVectors: 'none', force: true, tune: hostile })).rejects.toThrow(/tuning\.knn\.weight is 1000000000/)
    expect(snapshot(out)).toEqual(before)
    expect(readdirSync(parent)).toEqual(['pack'])
    // A step that returns a tuning: the pack moves in with it, and the step saw the finished pack in its staging folder.
    let saw: string | undefined
    const r = await buildPack({ data, model: GENERAL, out, textVectors: 'none', force: true, tune: async (staged) => ((saw = staged), openPack(staged), GOOD) })
    expect(saw).not.toBe(out)
    expect(r.manifest.tuning).toEqual(GOOD)
    expect(checkPackManifest(JSON.parse(readFileSync(join(out, 'pack.json'), 'utf8'))).tuning).toEqual(GOOD)
    expect(readdirSync(parent)).toEqual(['pack'])
  }, 120_000)

  it('npm run catalog: tuning by default (this store is below the threshold, and the log says so), --no-tune says it kept the model', () => {
    const data = dataFolder()
    const run = (args: string[]) =>
      spawnSync(process.execPath, ['scripts/run-ts.mjs', 'eval/catalog-cli.ts', '--data', data, '--model', GENERAL, '--text-vectors', 'none', ...args], { encoding: 'utf8', timeout: 120_000 })
    const out = join(fresh('site'), 'pack')
    const r = run(['--out', out])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toContain('catalog: tuning: 5 valid shoppers, fewer than 1000: the model\'s settings stay')
    expect(r.stdout).toContain("catalog: not tuned: pack.json keeps the model's settings")
    expect(checkPackManifest(JSON.parse(readFileSync(join(out, 'pack.json'), 'utf8'))).tuning).toBeUndefined()
    const n = run(['--out', out, '--force', '--no-tune'])
    expect(n.status, n.stderr).toBe(0)
    expect(n.stdout).toContain("catalog: not tuned (--no-tune): pack.json keeps the model's settings")
    expect(n.stdout).not.toContain('valid shoppers')
    const both = run(['--out', out, '--force', '--no-tune', '--tune-users', '100'])
    expect(both.status).toBe(2)
    expect(both.stderr).toContain('--tune-users and --no-tune do not go together')
    const adapt = run(['--out', out, '--force', '--no-tune', '--adapt'])
    expect(adapt.status).toBe(2)
    expect(adapt.stderr).toContain('--adapt and --no-tune do not go together')
  }, 180_000)
})

describe('the tuning decision: a gain beyond the sample noise, weighted by the rows each protocol scores', () => {
  // Games' valid split as the tuner saw it (2026-12-03): the old equal-weight rule took this setting, and it lost
  // 7.4 % on test's full ranking.
  const games = { full: { relative: 0.0228, se: 0.0259, rows: 1908 }, category: { relative: 0.0668, se: 0.023, rows: 241 } }
  it('keeps the model\'s settings for a gain within two standard errors, and says so with the numbers', () => {
    const d = tuningDecision(games, { relative: 0.0277, se: 0.0256 })
    expect(d.chosen).toBe(false)
    expect(d.why).toContain('within 2 standard errors')
    expect(d.why).toContain('full +2.3 % ± 2.6 on 1908 rows')
    // The same numbers with the noise test off (minZ 0) pass: the rule, not the gain threshold, refused them.
    expect(tuningDecision(games, { relative: 0.0277, se: 0.0256 }, { minZ: 0 }).chosen).toBe(true)
  })
  it('takes a gain beyond the noise, and refuses one that loses on a protocol beyond its own noise', () => {
    const clear = { full: { relative: 0.067, se: 0.012, rows: 1861 }, category: { relative: 0.063, se: 0.02, rows: 200 } }
    expect(tuningDecision(clear, { relative: 0.0666, se: 0.0127 })).toMatchObject({ chosen: true, why: expect.stringMatching(/^chosen on valid: \+6\.7 % ± 1\.3/) })
    const losing = { full: { relative: 0.08, se: 0.01, rows: 1900 }, category: { relative: -0.1, se: 0.03, rows: 200 } }
    const d = tuningDecision(losing, { relative: 0.0616, se: 0.012 })
    expect(d).toMatchObject({ chosen: false, why: expect.stringContaining('loses on category beyond the noise') })
    expect(tuningDecision(clear, { relative: 0.009, se: 0.001 }).why).toContain('less than 1 %')
  })
  it('pairedSE: zero for equal rankings, the standard error of the per-row NDCG@10 differences otherwise', () => {
    expect(pairedSE([1, 3, 20, 5], [1, 3, 20, 5])).toBe(0)
    // Row gains: rank 1 → 1, rank 3 → 0.5, beyond 10 → 0. Differences 1 − 0.5 = 0.5 and 0 − 0 = 0: sd 0.3536, n 2.
    expect(pairedSE([1, 20], [3, 30])).toBeCloseTo(Math.sqrt(0.125 / 2), 12)
  })
})
