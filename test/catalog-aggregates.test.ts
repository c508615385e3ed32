// Packs from aggregates made elsewhere (issue 30): `npm run catalog -- --aggregates <dir>` reads Parquet that
// Spark or a warehouse wrote (catalog/aggregates-in.ts). The folders here are written by DuckDB, as a warehouse
// export would be; Spark's own output is checked against the DuckDB pack in training/tests/test_spark_pack.py.
import { DuckDBInstance } from '@duckdb/node-api'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { buildPack } from '../catalog/build'
import { settingsDiff } from '../catalog/aggregates-in'
import { checkPackManifest, dequantize, splitShardFile, type NeighborSettings, type Shard } from '../src/pack/format'

const tmp = mkdtempSync(join(tmpdir(), 'inpage-aggin-test-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const MODEL = 'public/models/inpage-general-v1'
const manifest = JSON.parse(readFileSync(join(MODEL, 'manifest.json'), 'utf8')) as { name: string; version: string; aggregates: { knn: Record<string, number> } }
const SETTINGS = { ...manifest.aggregates.knn, window: 50 } as unknown as NeighborSettings
const vec = (k: number, n = 384) => Array.from({ length: n }, (_, j) => Math.sin(j * 0.37 + k) * 0.2)

interface Folder {
  record?: Record<string, unknown> | string | null
  items?: string
  neighbors?: string
  /** The next-item table (written only when given). */
  next?: string
}

// A valid folder: four items (three with vectors), neighbour lists for a and b.
const ITEMS = `SELECT * FROM (VALUES ('a', 3.0, ${fl(vec(0))}), ('b', 3.0, ${fl(vec(1))}), ('c', 1.0, ${fl(vec(2))}), ('d', 0.0, ${fl(vec(3))})) t(item, pop, text_vec)`
const NEIGHBORS = `SELECT * FROM (VALUES ('a', 'b', 2.25, 3::BIGINT, 1), ('a', 'c', 0.123456, 2::BIGINT, 2), ('b', 'a', 1.5, 3::BIGINT, 1)) t(item, neighbor, weight, shoppers, rank)`
const NEXT = `SELECT * FROM (VALUES ('a', 'b', 0.75, 3::BIGINT, 1), ('a', 'c', 0.25, 2::BIGINT, 2), ('c', 'd', 1.0, 2::BIGINT, 1)) t(item, next, weight, shoppers, rank)`
const WITH_NEXT = { minCount: SETTINGS.minCount, topN: 20 }
function fl(v: number[]) {
  return `[${v.map((x) => x.toFixed(7)).join(', ')}]::FLOAT[]`
}
const RECORD = { format: 'inpage-aggregates', formatVersion: 1, model: `${manifest.name}@${manifest.version}`, source: 'warehouse events 2026-11', users: 3, events: 8, neighbors: SETTINGS, textVectors: 'float32', dims: { text: 384 } }

let n = 0
async function folder(f: Folder = {}): Promise<string> {
  const dir = join(tmp, `agg-${n++}`)
  mkdirSync(join(dir, 'items'), { recursive: true })
  mkdirSync(join(dir, 'neighbors'), { recursive: true })
  const db = await DuckDBInstance.create()
  const c = await db.connect()
  try {
    await c.run(`COPY (${f.items ?? ITEMS}) TO '${join(dir, 'items', 'part-0.parquet')}' (FORMAT parquet)`)
    if (f.neighbors !== '') await c.run(`COPY (${f.neighbors ?? NEIGHBORS}) TO '${join(dir, 'neighbors', 'part-0.parquet')}' (FORMAT parquet)`)
    if (f.next !== undefined) {
      mkdirSync(join(dir, 'next'))
      if (f.next !== '') await c.run(`COPY (${f.next}) TO '${join(dir, 'next', 'part-0.parquet')}' (FORMAT parquet)`)
    }
  } finally {
    c.closeSync()
    db.closeSync()
  }
  if (f.record !== null) writeFileSync(join(dir, 'inpage-aggregates.json'), typeof f.record === 'string' ? f.record : JSON.stringify(f.record ?? RECORD))
  return dir
}

const build = (aggregates: string, out = join(tmp, `pack-${n++}`)) => buildPack({ aggregates, model: MODEL, out, itemsPerShard: 2, now: () => new Date(0) })

function readPack(dir: string) {
  const items: Shard['items'] = {}
  for (const f of readdirSync(join(dir, 'shards'))) Object.assign(items, (JSON.parse(splitShardFile(readFileSync(join(dir, 'shards', f), 'utf8')).json) as Shard).items)
  return { manifest: checkPackManifest(JSON.parse(readFileSync(join(dir, 'pack.json'), 'utf8'))), items }
}

describe('--aggregates: a pack from Parquet made elsewhere', () => {
  it('signs and shards the records: popularity, neighbours in rank order (4 digits), text vectors as int8', async () => {
    const out = join(tmp, 'good-pack')
    const r = await build(await folder(), out)
    const { manifest: m, items } = readPack(out)
    expect(m).toMatchObject({ items: 4, textVectors: 'int8', model: 'inpage-general-v1@' + manifest.version, shards: { count: 2 } })
    expect(m.aggregates).toEqual({ source: 'warehouse events 2026-11', users: 3, events: 8, neighbors: SETTINGS, priorScale: 8 })
    expect(r.encodedItems).toBe(0) // no encoder ran: the vectors came with the folder
    expect(items.a!.n).toEqual([['b', 2.25], ['c', 0.1235]])
    expect(items.b).toMatchObject({ p: 3, n: [['a', 1.5]] })
    expect(items.d!.n).toBeUndefined()
    for (const [k, id] of ['a', 'b', 'c', 'd'].entries()) {
      const back = dequantize(items[id]!.t!, items[id]!.s!)
      vec(k).forEach((x, j) => expect(Math.abs(back[j]! - x)).toBeLessThanOrEqual(items[id]!.s! / 2 + 1e-6))
    }
  })

  it('next-item lists come with a record that names their settings: into the records (3 digits) and pack.json', async () => {
    const out = join(tmp, 'next-pack')
    await build(await folder({ record: { ...RECORD, next: WITH_NEXT }, next: NEXT }), out)
    const { manifest: m, items } = readPack(out)
    expect(m.aggregates.next).toEqual(WITH_NEXT)
    expect(items.a!.f).toEqual([['b', 0.75], ['c', 0.25]])
    expect(items.c!.f).toEqual([['d', 1]])
    expect(items.b!.f).toBeUndefined()
    // Without `next` in the record the folder's next/ is not read, and the pack says it has none.
    const plain = join(tmp, 'next-ignored')
    await build(await folder({ next: NEXT }), plain)
    expect(readPack(plain).manifest.aggregates.next).toBeUndefined()
    expect(readPack(plain).items.a!.f).toBeUndefined()
  })

  it('without text vectors the pack has none (the browser encodes item text)', async () => {
    const out = join(tmp, 'none-pack')
    await build(await folder({ items: `SELECT item, pop FROM (${ITEMS})`, record: { ...RECORD, textVectors: 'none' } }), out)
    const { manifest: m, items } = readPack(out)
    expect(m.textVectors).toBe('none')
    expect(items.a).toEqual({ p: 3, n: [['b', 2.25], ['c', 0.1235]] })
  })

  it("reads a warehouse's types: DECIMAL(p,0) counts and ranks (Snowflake's NUMBER), DECIMAL popularity, DOUBLE vectors", async () => {
    const out = join(tmp, 'decimal-pack')
    await build(
      await folder({
        items: `SELECT item, CAST(pop AS DECIMAL(18,0)) AS pop, CAST(text_vec AS DOUBLE[]) AS text_vec FROM (${ITEMS})`,
        neighbors: `SELECT item, neighbor, weight, CAST(shoppers AS DECIMAL(38,0)) AS shoppers, CAST(rank AS DECIMAL(38,0)) AS rank FROM (${NEIGHBORS})`,
      }),
      out,
    )
    expect(readPack(out).items.a).toMatchObject({ p: 3, n: [['b', 2.25], ['c', 0.1235]] })
  })

  it('settingsDiff names each setting that differs from the model', () => {
    expect(settingsDiff(SETTINGS, SETTINGS)).toEqual([])
    expect(settingsDiff({ ...SETTINGS, minCount: 1, gamma: 0.9 }, SETTINGS)).toEqual(['minCount 1 (the model\'s is 2: the k-shopper threshold)', "gamma 0.9 (the model's is 0.8)"])
    expect(settingsDiff(undefined, SETTINGS)).toHaveLength(7)
  })

  const hostile: [string, Folder, RegExp][] = [
    ['no record', { record: null }, /inpage-aggregates.json is missing/],
    ['record not JSON', { record: '{"format": ' }, /is not JSON/],
    ['record an array', { record: '[]' }, /not a JSON object/],
    ['another format', { record: { ...RECORD, format: 'csv' } }, /format must be "inpage-aggregates"/],
    ['a newer format version', { record: { ...RECORD, formatVersion: 2 } }, /formatVersion 2 is not supported/],
    ['mismatched settings', { record: { ...RECORD, neighbors: { ...SETTINGS, gamma: 0.9, topN: 100 } } }, /differ from inpage-general-v1@.*: gamma 0.9 \(the model's is 0.8\); topN 100 \(the model's is 50\)/],
    ['minCount below the model’s k-shopper threshold', { record: { ...RECORD, neighbors: { ...SETTINGS, minCount: 1 } } }, /minCount 1 \(the model's is 2: the k-shopper threshold\)/],
    ['settings missing', { record: { ...RECORD, neighbors: undefined } }, /minCount undefined/],
    ['a row below the threshold under a record that claims it', { neighbors: `SELECT * FROM (VALUES ('a', 'b', 2.25, 1::BIGINT, 1)) t(item, neighbor, weight, shoppers, rank)` }, /below the k-shopper threshold \(shoppers < minCount 2\).*"shoppers":1/],
    ['users not a count', { record: { ...RECORD, users: -1 } }, /users and events must be whole numbers/],
    ['textVectors unknown', { record: { ...RECORD, textVectors: 'int4' } }, /textVectors is "float32" or "none"/],
    ['vectors of another model', { record: { ...RECORD, model: 'inpage-sci-v1@2.0.0' } }, /text vectors were made by "inpage-sci-v1@2.0.0"/],
    ['vectors of another width', { record: { ...RECORD, dims: { text: 256 } } }, /dims.text 256/],
    ['a missing column', { neighbors: `SELECT item, neighbor, shoppers, rank FROM (${NEIGHBORS})` }, /neighbors: column weight is missing/],
    ['shoppers as a fraction', { neighbors: `SELECT item, neighbor, weight, CAST(shoppers AS DECIMAL(9,2)) AS shoppers, rank FROM (${NEIGHBORS})` }, /column shoppers must be a whole number, it is DECIMAL\(9,2\)/],
    ['shoppers as text', { neighbors: `SELECT item, neighbor, weight, CAST(shoppers AS VARCHAR) AS shoppers, rank FROM (${NEIGHBORS})` }, /column shoppers must be a whole number, it is VARCHAR/],
    ['item ids as numbers', { items: `SELECT 1 AS item, 2.0 AS pop, ${fl(vec(0))} AS text_vec` }, /items: column item must be a string, it is INTEGER/],
    ['text_vec missing', { items: `SELECT item, pop FROM (${ITEMS})` }, /items: column text_vec is missing/],
    ['no neighbour files', { neighbors: '' }, /neighbors holds no .parquet files/],
    ['a neighbour the items do not hold', { neighbors: `SELECT * FROM (VALUES ('a', 'zz', 2.25, 3::BIGINT, 1)) t(item, neighbor, weight, shoppers, rank)` }, /ids that items does not hold.*"zz"/],
    ['an item as its own neighbour', { neighbors: `SELECT * FROM (VALUES ('a', 'a', 2.25, 3::BIGINT, 1)) t(item, neighbor, weight, shoppers, rank)` }, /its own neighbour/],
    ['rank beyond topN', { neighbors: `SELECT * FROM (VALUES ('a', 'b', 2.25, 3::BIGINT, 51)) t(item, neighbor, weight, shoppers, rank)` }, /rank must be 1..topN \(50\)/],
    ['two rows at one rank', { neighbors: `SELECT * FROM (VALUES ('a', 'b', 2.25, 3::BIGINT, 1), ('a', 'c', 2.0, 3::BIGINT, 1)) t(item, neighbor, weight, shoppers, rank)` }, /one rank per item/],
    ['a neighbour twice', { neighbors: `SELECT * FROM (VALUES ('a', 'b', 2.25, 3::BIGINT, 1), ('a', 'b', 2.0, 3::BIGINT, 2)) t(item, neighbor, weight, shoppers, rank)` }, /listed twice/],
    ['weights rising with rank', { neighbors: `SELECT * FROM (VALUES ('a', 'b', 1.0, 3::BIGINT, 1), ('a', 'c', 2.0, 3::BIGINT, 2)) t(item, neighbor, weight, shoppers, rank)` }, /must not rise with rank/],
    ['a NaN weight', { neighbors: `SELECT * FROM (VALUES ('a', 'b', 'NaN'::DOUBLE, 3::BIGINT, 1)) t(item, neighbor, weight, shoppers, rank)` }, /weight must be a finite number/],
    ['an empty field', { neighbors: `SELECT * FROM (VALUES ('a', 'b', 2.0, NULL::BIGINT, 1)) t(item, neighbor, weight, shoppers, rank)` }, /a row with an empty field/],
    ['next settings other than the builder’s', { record: { ...RECORD, next: { minCount: 1, topN: 20 } }, next: NEXT }, /next must be \{"minCount":2,"topN":20\}/],
    ['next settings with an extra key', { record: { ...RECORD, next: { ...WITH_NEXT, window: 1 } }, next: NEXT }, /next must be/],
    ['a record with next but no next files', { record: { ...RECORD, next: WITH_NEXT }, next: '' }, /next holds no .parquet files/],
    ['a next step below the threshold', { record: { ...RECORD, next: WITH_NEXT }, next: `SELECT * FROM (VALUES ('a', 'b', 0.5, 1::BIGINT, 1)) t(item, next, weight, shoppers, rank)` }, /next: rows below the k-shopper threshold/],
    ['a next probability over 1', { record: { ...RECORD, next: WITH_NEXT }, next: `SELECT * FROM (VALUES ('a', 'b', 1.5, 3::BIGINT, 1)) t(item, next, weight, shoppers, rank)` }, /next: weight must be a finite number ≥ 0 and ≤ 1/],
    ['next probabilities adding up to more than 1', { record: { ...RECORD, next: WITH_NEXT }, next: `SELECT * FROM (VALUES ('a', 'b', 0.75, 3::BIGINT, 1), ('a', 'c', 0.5, 3::BIGINT, 2)) t(item, next, weight, shoppers, rank)` }, /add up to more than 1/],
    ['an item as its own next item', { record: { ...RECORD, next: WITH_NEXT }, next: `SELECT * FROM (VALUES ('a', 'a', 0.5, 3::BIGINT, 1)) t(item, next, weight, shoppers, rank)` }, /its own next item/],
    ['a next rank beyond 20', { record: { ...RECORD, next: WITH_NEXT }, next: `SELECT * FROM (VALUES ('a', 'b', 0.5, 3::BIGINT, 21)) t(item, next, weight, shoppers, rank)` }, /next: rank must be 1..topN \(20\)/],
    ['a next item the items do not hold', { record: { ...RECORD, next: WITH_NEXT }, next: `SELECT * FROM (VALUES ('a', '__proto__', 0.5, 3::BIGINT, 1)) t(item, next, weight, shoppers, rank)` }, /next: ids that items does not hold.*__proto__/],
    ['a next column missing', { record: { ...RECORD, next: WITH_NEXT }, next: `SELECT item, weight, shoppers, rank FROM (${NEXT})` }, /next: column next is missing/],
    ['duplicate item ids', { items: `SELECT * FROM (${ITEMS}) UNION ALL SELECT 'a', 1.0, ${fl(vec(9))}` }, /item ids must be present and unique/],
    ['negative popularity', { items: `SELECT item, CASE WHEN item = 'c' THEN -1.0 ELSE pop END AS pop, text_vec FROM (${ITEMS})` }, /pop must be a finite number ≥ 0.*"c"/],
    ['a short vector', { items: `SELECT item, pop, CASE WHEN item = 'b' THEN ${fl(vec(1, 383))} ELSE text_vec END AS text_vec FROM (${ITEMS})` }, /text_vec must hold 384 finite numbers.*"length":383/],
    ['an infinite vector value', { items: `SELECT item, pop, CASE WHEN item = 'b' THEN list_concat(['Infinity'::FLOAT], text_vec[2:]) ELSE text_vec END AS text_vec FROM (${ITEMS})` }, /text_vec must hold 384 finite numbers/],
  ]
  for (const [name, f, msg] of hostile)
    it(`refuses ${name} (AggregatesError, nothing written)`, async () => {
      const out = join(tmp, `refused-${n++}`)
      await expect(build(await folder(f), out)).rejects.toMatchObject({ name: 'AggregatesError', message: expect.stringMatching(msg) })
      expect(() => readdirSync(join(out, 'shards'))).toThrow()
    })

  it('the command line: --aggregates in place of --data, never both, and no --text-vectors with it', async () => {
    const { main, USAGE } = await import('../catalog/cli')
    for (const argv of [
      ['--aggregates', 'a', '--data', 'd', '--model', 'm', '--out', 'o'],
      ['--aggregates', 'a', '--model', 'm', '--out', 'o', '--text-vectors', 'int8'],
      ['--aggregates', 'a', '--model', 'm'],
    ])
      await expect(main(argv), argv.join(' ')).rejects.toMatchObject({ name: 'UsageError', message: expect.stringContaining(USAGE) })
    const out = join(tmp, 'cli-pack')
    await main(['--aggregates', await folder(), '--model', MODEL, '--out', out, '--name', 'cli'])
    expect(readPack(out).manifest).toMatchObject({ name: 'cli', items: 4, textVectors: 'int8' })
    await expect(main(['--aggregates', await folder({ record: { ...RECORD, neighbors: { ...SETTINGS, minCount: 1 } } }), '--model', MODEL, '--out', join(tmp, 'cli-bad')])).rejects.toMatchObject({ name: 'AggregatesError' })
  })
})
