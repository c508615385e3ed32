// Aggregates made elsewhere (the Spark job training/inpage_train/spark_pack.py, or a warehouse query:
// docs/catalog-pack.md, "Aggregates made elsewhere"), read back with DuckDB for `npm run catalog -- --aggregates`.
// Nothing here trusts the folder: the settings recorded with it must be the model's own, the Parquet must
// have the schema, and every neighbour row must meet the k-shopper threshold and the top-N bound again here,
// so a query that forgot `cu ≥ minCount` cannot reach a pack.
//
//   <dir>/inpage-aggregates.json   {format, formatVersion, model, users, events, neighbors: {…}, textVectors, dims}
//   <dir>/items/*.parquet          item VARCHAR, pop DOUBLE[, text_vec FLOAT[] when textVectors is "float32"]
//   <dir>/neighbors/*.parquet      item VARCHAR, neighbor VARCHAR, weight DOUBLE, shoppers BIGINT, rank INTEGER
//   <dir>/next/*.parquet           item VARCHAR, next VARCHAR, weight DOUBLE, shoppers BIGINT, rank INTEGER
//                                  (only when the record has `next`: a folder without them makes a pack without next-item lists)

import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { NeighborSettings, NextSettings } from '../src/pack/format'
import { nextSettings, type AggregatedItem, type Aggregates, type AggregateOptions } from './aggregate'

export const AGGREGATES_FORMAT = 'inpage-aggregates'
export const AGGREGATES_FORMAT_VERSION = 1
export const AGGREGATES_RECORD = 'inpage-aggregates.json'

/** The folder cannot make a pack: a missing file, a wrong column, settings other than the model's, a row that breaks them. */
export class AggregatesError extends Error {
  override readonly name = 'AggregatesError'
}

export interface AggregatesRecord {
  format: typeof AGGREGATES_FORMAT
  formatVersion: number
  /** `name@version` of the model whose settings (and encoder, for text vectors) made the folder. */
  model: string
  /** What they were computed from (copied to pack.json). */
  source?: string
  users: number
  events: number
  neighbors: NeighborSettings
  /** The next-item lists' settings, when the folder has them (`next/`). */
  next?: NextSettings
  textVectors: 'float32' | 'none'
  dims?: { text: number }
}

export interface ExternalAggregates {
  record: AggregatesRecord
  /** Every item id, sorted (their index in the pack build). */
  ids: string[]
  textVectors: 'int8' | 'none'
  /** The aggregates for the build, once it has put each item in a shard. */
  load(shardOf: (id: string) => number): Promise<Aggregates>
  close(): void
}

const NEIGHBOR_KEYS = ['minCount', 'gamma', 'back', 'alpha', 'beta', 'topN', 'window'] as const
const fail = (msg: string) => new AggregatesError(`aggregates: ${msg}`)
const isCount = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

/** The record's settings against the model's: the differences, named (empty when they agree). */
export function settingsDiff(recorded: Partial<Record<keyof NeighborSettings, unknown>> | undefined, model: NeighborSettings): string[] {
  const out: string[] = []
  for (const k of NEIGHBOR_KEYS) {
    const v = recorded?.[k]
    if (v !== model[k]) out.push(`${k} ${JSON.stringify(v)} (the model's is ${model[k]}${k === 'minCount' ? ': the k-shopper threshold' : ''})`)
  }
  return out
}

function readRecord(dir: string, model: { name: string; version: string; textDims: number }, s: NeighborSettings): AggregatesRecord {
  const path = join(dir, AGGREGATES_RECORD)
  if (!existsSync(path)) throw fail(`${path} is missing (the job writes it last: without it the folder is incomplete)`)
  let r: AggregatesRecord
  try {
    r = JSON.parse(readFileSync(path, 'utf8')) as AggregatesRecord
  } catch (e) {
    throw fail(`${AGGREGATES_RECORD} is not JSON (${(e as Error).message})`)
  }
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw fail(`${AGGREGATES_RECORD} is not a JSON object`)
  if (r.format !== AGGREGATES_FORMAT) throw fail(`${AGGREGATES_RECORD}: format must be "${AGGREGATES_FORMAT}", got ${JSON.stringify(r.format)}`)
  if (r.formatVersion !== AGGREGATES_FORMAT_VERSION) throw fail(`${AGGREGATES_RECORD}: formatVersion ${JSON.stringify(r.formatVersion)} is not supported (this builder reads ${AGGREGATES_FORMAT_VERSION})`)
  const diff = settingsDiff(r.neighbors, s)
  if (diff.length) throw fail(`the recorded settings differ from ${model.name}@${model.version}'s manifest: ${diff.join('; ')}. Rerun the aggregation with the model's settings`)
  if (r.next !== undefined) {
    const want = nextSettings(s)
    const n = r.next as unknown as Record<string, unknown>
    if (!n || typeof n !== 'object' || Array.isArray(n) || Object.keys(n).sort().join() !== 'minCount,topN' || n.minCount !== want.minCount || n.topN !== want.topN)
      throw fail(`${AGGREGATES_RECORD}: next must be ${JSON.stringify(want)} (the k-shopper threshold and list length this builder uses), got ${JSON.stringify(r.next)}`)
  }
  if (!isCount(r.users) || !isCount(r.events)) throw fail(`${AGGREGATES_RECORD}: users and events must be whole numbers ≥ 0`)
  if (r.source !== undefined && typeof r.source !== 'string') throw fail(`${AGGREGATES_RECORD}: source must be a string`)
  if (r.textVectors !== 'float32' && r.textVectors !== 'none') throw fail(`${AGGREGATES_RECORD}: textVectors is "float32" or "none", got ${JSON.stringify(r.textVectors)}`)
  if (r.textVectors === 'float32') {
    // Text vectors are the encoder's: those of another model (or another version) would mean nothing to this one.
    if (r.model !== `${model.name}@${model.version}`) throw fail(`the text vectors were made by ${JSON.stringify(r.model)}, not ${model.name}@${model.version}`)
    if (r.dims?.text !== model.textDims) throw fail(`dims.text ${JSON.stringify(r.dims?.text)}, the model's is ${model.textDims}`)
  }
  return r
}

type Table = 'items' | 'neighbors' | 'next'

function parquetGlob(dir: string, table: Table): string {
  const d = join(dir, table)
  if (!existsSync(d) || !statSync(d).isDirectory() || !readdirSync(d).some((f) => f.endsWith('.parquet')))
    throw fail(`${d} holds no .parquet files`)
  return join(d, '*.parquet').replaceAll("'", "''")
}

// DECIMAL(p,0): Snowflake unloads its NUMBER columns so.
const INT = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|DECIMAL\(\d+,0\))$/
const NUM = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\))$/
const listSchema = (col: string): Record<string, [RegExp, string]> => ({
  item: [/^VARCHAR$/, 'a string'],
  [col]: [/^VARCHAR$/, 'a string'],
  weight: [NUM, 'a number'],
  shoppers: [INT, 'a whole number'],
  rank: [INT, 'a whole number'],
})
const SCHEMA: Record<Table, Record<string, [RegExp, string]>> = {
  items: { item: [/^VARCHAR$/, 'a string'], pop: [NUM, 'a number'], text_vec: [/^(FLOAT|DOUBLE)\[\d*\]$/, 'a list of floats'] },
  neighbors: listSchema('neighbor'),
  next: listSchema('next'),
}

/** A list table (neighbors, next): what every row and list must meet again here, whoever computed it. */
function listChecks(table: 'neighbors' | 'next', col: string, noun: string, minCount: number, topN: number, maxWeight?: number): [string, string][] {
  const src = `src_${table}`
  return [
    [`${table}: a row with an empty field`, `SELECT * FROM ${src} WHERE item IS NULL OR ${col} IS NULL OR weight IS NULL OR shoppers IS NULL OR rank IS NULL`],
    [
      `${table}: rows below the k-shopper threshold (shoppers < minCount ${minCount}): a pair held by fewer shoppers can reveal one basket`,
      `SELECT item, ${col}, shoppers FROM ${src} WHERE shoppers < ${minCount}`,
    ],
    [`${table}: an item listed as its own ${noun}`, `SELECT item, ${col} FROM ${src} WHERE item = ${col}`],
    [
      `${table}: weight must be a finite number ≥ 0${maxWeight !== undefined ? ` and ≤ ${maxWeight}` : ''}`,
      `SELECT item, ${col}, weight FROM ${src} WHERE NOT isfinite(weight) OR weight < 0${maxWeight !== undefined ? ` OR weight > ${maxWeight}` : ''}`,
    ],
    [`${table}: rank must be 1..topN (${topN})`, `SELECT item, ${col}, rank FROM ${src} WHERE rank < 1 OR rank > ${topN}`],
    [`${table}: one rank per item and ${noun}`, `SELECT item, rank, count(*) AS n FROM ${src} GROUP BY item, rank HAVING count(*) > 1`],
    [`${table}: a ${noun} listed twice for one item`, `SELECT item, ${col}, count(*) AS n FROM ${src} GROUP BY item, ${col} HAVING count(*) > 1`],
    [
      `${table}: weights must not rise with rank`, // (beyond rounding: Spark ranks by float32 weights)
      `SELECT item, rank, weight FROM (SELECT item, rank, weight, lag(weight) OVER (PARTITION BY item ORDER BY rank) AS prev FROM ${src}) WHERE weight > prev * (1 + 1e-6)`,
    ],
    [
      `${table}: ids that items does not hold`,
      `SELECT n.item, n.${col} FROM ${src} n LEFT JOIN src_items a ON a.item = n.item LEFT JOIN src_items b ON b.item = n.${col} WHERE a.item IS NULL OR b.item IS NULL`,
    ],
  ]
}

async function checkSchema(c: DuckDBConnection, table: Table, glob: string, vectors: boolean) {
  let cols: { column_name: string; column_type: string }[]
  try {
    cols = (await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${glob}')`)).getRowObjectsJS() as typeof cols
  } catch (e) {
    throw fail(`${table}: not readable Parquet (${(e as Error).message.split('\n')[0]})`)
  }
  const have = new Map(cols.map((r) => [r.column_name, r.column_type]))
  for (const [name, [type, what]] of Object.entries(SCHEMA[table])) {
    if (name === 'text_vec' && !vectors) continue
    const t = have.get(name)
    if (t === undefined) throw fail(`${table}: column ${name} is missing (has ${[...have.keys()].join(', ')})`)
    if (!type.test(t)) throw fail(`${table}: column ${name} must be ${what}, it is ${t}`)
  }
}

/** The first rows a check finds (as text for the message), or none. */
async function offenders(c: DuckDBConnection, sql: string): Promise<string[]> {
  const rows = (await c.runAndReadAll(`${sql} LIMIT 3`)).getRowObjectsJS()
  return rows.map((r) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? Number(v) : v)))
}

/**
 * Opens `dir`, checks its record against the model's settings, its Parquet's schema and every row; the
 * builder then loads the aggregates by shard. The database lives in a temporary folder until `close()`.
 */
export async function openAggregates(
  dir: string,
  model: { name: string; version: string; textDims: number },
  s: NeighborSettings,
  o: AggregateOptions = {},
): Promise<ExternalAggregates> {
  dir = resolve(dir)
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw fail(`${dir} is not a folder`)
  const record = readRecord(dir, model, s)
  const vectors = record.textVectors === 'float32'
  const itemsGlob = parquetGlob(dir, 'items')
  const nbGlob = parquetGlob(dir, 'neighbors')
  const nextGlob = record.next ? parquetGlob(dir, 'next') : undefined
  const tmp = mkdtempSync(join(tmpdir(), 'inpage-aggin-'))
  const db = await DuckDBInstance.create(join(tmp, 'agg.duckdb'))
  const c = await db.connect()
  let open = true
  const close = () => {
    if (!open) return
    open = false
    c.closeSync()
    db.closeSync()
    rmSync(tmp, { recursive: true, force: true })
  }
  try {
    await c.run(`SET memory_limit = '${(o.memoryLimit ?? '3GB').replace(/[^0-9A-Za-z. ]/g, '')}'`)
    await c.run(`SET threads = ${Math.max(1, Math.floor(o.threads ?? 2))}`)
    await c.run(`SET temp_directory = '${join(tmp, 'spill').replaceAll("'", "''")}'`)
    await checkSchema(c, 'items', itemsGlob, vectors)
    await checkSchema(c, 'neighbors', nbGlob, false)
    if (nextGlob) await checkSchema(c, 'next', nextGlob, false)
    await c.run(
      `CREATE TABLE src_items AS SELECT item, CAST(pop AS DOUBLE) AS pop${vectors ? ', CAST(text_vec AS FLOAT[]) AS text_vec' : ''} FROM read_parquet('${itemsGlob}')`,
    )
    await c.run(
      `CREATE TABLE src_neighbors AS SELECT item, neighbor, CAST(weight AS DOUBLE) AS weight, CAST(shoppers AS BIGINT) AS shoppers, CAST(rank AS BIGINT) AS rank FROM read_parquet('${nbGlob}')`,
    )
    if (nextGlob)
      await c.run(
        `CREATE TABLE src_next AS SELECT item, next, CAST(weight AS DOUBLE) AS weight, CAST(shoppers AS BIGINT) AS shoppers, CAST(rank AS BIGINT) AS rank FROM read_parquet('${nextGlob}')`,
      )
    const checks: [string, string][] = [
      ['items: item ids must be present and unique', `SELECT item, count(*) AS n FROM src_items GROUP BY item HAVING item IS NULL OR count(*) > 1`],
      ['items: pop must be a finite number ≥ 0', `SELECT item, pop FROM src_items WHERE pop IS NULL OR NOT isfinite(pop) OR pop < 0`],
      ...listChecks('neighbors', 'neighbor', 'neighbour', s.minCount, s.topN),
    ]
    if (record.next) {
      // Probabilities of what follows an item: each at most 1, and an item's at most 1 together.
      checks.push(...listChecks('next', 'next', 'next item', record.next.minCount, record.next.topN, 1))
      checks.push(['next: an item whose next-item weights add up to more than 1', `SELECT item, sum(weight) AS total FROM src_next GROUP BY item HAVING sum(weight) > 1 + 1e-6`])
    }
    if (vectors)
      checks.push([
        `items: text_vec must hold ${model.textDims} finite numbers`,
        `SELECT item, len(text_vec) AS length FROM src_items WHERE text_vec IS NULL OR len(text_vec) <> ${model.textDims} OR list_count(text_vec) <> len(text_vec) OR NOT isfinite(list_sum(text_vec))`,
      ])
    for (const [what, sql] of checks) {
      const bad = await offenders(c, sql)
      if (bad.length) throw fail(`${what}: ${bad.join(', ')}`)
    }
    const ids = ((await c.runAndReadAll('SELECT item FROM src_items ORDER BY item')).getRowObjectsJS() as { item: string }[]).map((r) => r.item)
    if (ids.length === 0) throw fail('items is empty')
    return {
      record,
      ids,
      textVectors: vectors ? 'int8' : 'none',
      close,
      async load(shardOf) {
        // The item index and shard of each id: the shard hash lives in the format's TypeScript, so DuckDB gets it as rows.
        await c.run('CREATE TABLE ix (idx INTEGER, shard INTEGER, item VARCHAR)')
        const app = await c.createAppender('ix')
        ids.forEach((id, i) => {
          app.appendInteger(i)
          app.appendInteger(shardOf(id))
          app.appendVarchar(id)
          app.endRow()
        })
        app.closeSync()
        const pop = new Float64Array(ids.length)
        for (const r of (await c.runAndReadAll('SELECT ix.idx, s.pop FROM ix JOIN src_items s USING (item)')).getRowObjectsJS() as { idx: number; pop: number }[])
          pop[r.idx] = r.pop
        return {
          users: record.users,
          ...(record.next ? { next: record.next } : {}),
          events: record.events,
          pop,
          async shards(from, to) {
            const rows = (
              await c.runAndReadAll(
                `SELECT ix.shard, ix.idx, ix.item AS id, s.pop${vectors ? ', s.text_vec' : ''}, n.neighbor, n.weight
                 FROM ix JOIN src_items s USING (item) LEFT JOIN src_neighbors n ON n.item = ix.item
                 WHERE ix.shard >= ${from} AND ix.shard < ${to}
                 ORDER BY ix.shard, ix.idx, n.rank`,
              )
            ).getRowObjectsJS() as { shard: number; idx: number; id: string; pop: number; text_vec?: number[]; neighbor: string | null; weight: number | null }[]
            const out = new Map<number, AggregatedItem[]>()
            let last: AggregatedItem | undefined
            for (const r of rows) {
              if (!last || last.idx !== r.idx) {
                last = { idx: r.idx, id: r.id, pop: r.pop, neighbors: [], next: [] }
                if (r.text_vec) last.vector = Float32Array.from(r.text_vec)
                let l = out.get(r.shard)
                if (!l) out.set(r.shard, (l = []))
                l.push(last)
              }
              if (r.neighbor !== null && r.weight !== null) last.neighbors.push([r.neighbor, r.weight])
            }
            if (record.next) {
              // A second query, by item (one more one-to-many join above would multiply the rows).
              const byId = new Map([...out.values()].flat().map((it) => [it.id, it]))
              const steps = (
                await c.runAndReadAll(
                  `SELECT n.item, n.next, n.weight FROM src_next n JOIN ix ON ix.item = n.item
                   WHERE ix.shard >= ${from} AND ix.shard < ${to} ORDER BY n.item, n.rank`,
                )
              ).getRowObjectsJS() as { item: string; next: string; weight: number }[]
              for (const r of steps) byId.get(r.item)?.next.push([r.next, r.weight])
            }
            return out
          },
          close,
        }
      },
    }
  } catch (err) {
    close()
    throw err
  }
}
