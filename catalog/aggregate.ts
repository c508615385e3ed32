// The public aggregates of a catalog pack, computed from the store's own training histories with DuckDB
// (embedded; streams and spills to disk, so memory stays bounded by `memoryLimit` whatever the log size).
// The same SQL runs on Spark SQL when a store outgrows one machine (docs/catalog-pack.md shows it).
//
// Definitions (training/inpage_train/knn.py, the model's own):
//   pop(i)     = interactions of i in the training histories
//   cu(a, b)   = distinct shoppers whose history holds a and b within `window` positions
//   cw(a → b)  = Σ gamma^(d − 1) over pairs with b d positions after a, + back × the same with b before a
//   w(a → b)   = cw(a → b) / (max(pop a, 1)^alpha · max(pop b, 1)^beta), only where cu ≥ minCount,
//                the topN strongest per a (ties: the smaller item index first, as knn.py)
//   next(a → b) = steps a → b (b right after a, b ≠ a) / all steps from a, only where ≥ minCount distinct shoppers
//                made a → b, the NEXT_TOP_N likeliest per a (ties: the smaller item index first)

import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { INTER_HEADER, interRow } from '../node/data'
import { eachLine, InputError, type Encoding } from '../node/input'
import type { NeighborSettings, NextSettings } from '../src/pack/format'

/** Next items kept per item: the lists are short-tailed (most steps are followed once), and each entry is page bytes. */
export const NEXT_TOP_N = 20
/** The next-item lists' settings for a model's neighbour settings: the same k-shopper threshold. */
export const nextSettings = (s: NeighborSettings): NextSettings => ({ minCount: s.minCount, topN: NEXT_TOP_N })

export interface AggregateOptions {
  /** DuckDB's memory limit, e.g. '3GB'. */
  memoryLimit?: string
  threads?: number
  /** The data folder's text encoding (default UTF-8). */
  encoding?: Encoding
}

export interface AggregatedItem {
  /** Index in items.jsonl. */
  idx: number
  id: string
  pop: number
  /** [neighbour id, weight], strongest first. */
  neighbors: [string, number][]
  /** [next item id, P(it follows)], likeliest first (empty without next-item lists). */
  next: [string, number][]
  /** The text vector, when the aggregates bring one (made elsewhere: catalog/aggregates-in.ts). */
  vector?: Float32Array
}

export interface Aggregates {
  users: number
  events: number
  /** The settings of the items' next-item lists; absent when they have none (aggregates made elsewhere without them). */
  next?: NextSettings
  /** Item index → interactions. */
  pop: Float64Array
  /** Every item of shards [from, to), by shard, streamed from the database (bounded memory). */
  shards(from: number, to: number): Promise<Map<number, AggregatedItem[]>>
  close(): void
}

/** The SQL, one statement per step. `{…}` placeholders are filled from the settings (numbers only). */
export function aggregateSql(s: NeighborSettings): { events: string; pop: string; pairs: string; weights: string; next: string } {
  const n = nextSettings(s)
  return {
    // One row per (shopper, position, item) of the training histories (valid.inter: the items before the last two).
    events: `CREATE TABLE ev AS
      SELECT u, unnest(generate_series(1, len(l))) AS pos, unnest(l)::INTEGER AS item
      FROM (SELECT u, string_split(trim(h), ' ') AS l FROM hist WHERE trim(h) <> '')`,
    pop: `CREATE TABLE pop AS SELECT item, count(*)::DOUBLE AS pop FROM ev GROUP BY item`,
    // Ordered pairs within the window, both directions, with their decayed weight.
    pairs: `CREATE TABLE pairs AS
      WITH fwd AS (
        SELECT a.item AS x, b.item AS y, a.u AS u, b.pos - a.pos AS d
        FROM ev a JOIN ev b ON a.u = b.u AND b.pos > a.pos AND b.pos - a.pos <= ${s.window}
        WHERE a.item <> b.item
      ), both_ways AS (
        SELECT x, y, u, pow(${s.gamma}, d - 1) AS f FROM fwd
        UNION ALL
        SELECT y AS x, x AS y, u, ${s.back} * pow(${s.gamma}, d - 1) AS f FROM fwd
      )
      SELECT x, y, count(DISTINCT u) AS cu, sum(f) AS cw FROM both_ways GROUP BY x, y`,
    weights: `CREATE TABLE nb AS
      SELECT p.x, p.y, p.cw / (pow(greatest(coalesce(px.pop, 0), 1), ${s.alpha}) * pow(greatest(coalesce(py.pop, 0), 1), ${s.beta})) AS w
      FROM pairs p LEFT JOIN pop px ON px.item = p.x LEFT JOIN pop py ON py.item = p.y
      WHERE p.cu >= ${s.minCount}
      QUALIFY row_number() OVER (PARTITION BY p.x ORDER BY w DESC, p.y) <= ${s.topN}`,
    // One step: b right after a in a history (the sequence signal the neighbour lists' window blurs).
    next: `CREATE TABLE nx AS
      WITH steps AS (
        SELECT a.item AS x, b.item AS y, a.u AS u
        FROM ev a JOIN ev b ON a.u = b.u AND b.pos = a.pos + 1
        WHERE a.item <> b.item
      ), out_of AS (SELECT x, count(*)::DOUBLE AS total FROM steps GROUP BY x)
      SELECT s.x, s.y, count(*) / any_value(o.total) AS w
      FROM steps s JOIN out_of o ON o.x = s.x
      GROUP BY s.x, s.y
      HAVING count(DISTINCT s.u) >= ${n.minCount}
      QUALIFY row_number() OVER (PARTITION BY s.x ORDER BY w DESC, s.y) <= ${n.topN}`,
  }
}

async function run(c: DuckDBConnection, sql: string) {
  await c.run(sql)
}

/**
 * Reads the training histories line by line (bounded memory), checks each line as eval does (an
 * InputError naming the file and line: DuckDB never sees a line it would dump a parser error on, nor a
 * byte that is not of the declared encoding) and writes them as `user<TAB>items` UTF-8 lines for DuckDB.
 */
export function checkHistories(file: string, nItems: number, encoding: Encoding, out: string): { shoppers: number } {
  const fd = openSync(out, 'w')
  let pending: string[] = []
  let size = 0
  let shoppers = 0
  let headed = false
  const flush = () => {
    if (pending.length) writeSync(fd, pending.join(''))
    pending = []
    size = 0
  }
  try {
    eachLine(file, encoding, (line, n) => {
      if (n === 1) {
        if (!INTER_HEADER.test(line)) throw new InputError(file, 1, `not a .inter file: the first line should be its header (user_id:token …), got ${JSON.stringify(line.slice(0, 60))}`)
        headed = true
        return
      }
      if (!line) return
      const r = interRow(line, file, n, nItems)
      if (!r.user.trim()) throw new InputError(file, n, 'the user field is empty')
      if (r.user.includes('\r')) throw new InputError(file, n, 'the user field holds a carriage return')
      const h = line.slice(line.indexOf('\t') + 1, line.lastIndexOf('\t'))
      // As it is when single-spaced (the usual case: no new string per item), else rejoined.
      const l = `${r.user}\t${h.includes('  ') || h.startsWith(' ') || h.endsWith(' ') ? r.hist.join(' ') : h}\n`
      pending.push(l)
      size += l.length
      shoppers++
      if (size > 1 << 20) flush()
    })
    if (!headed) throw new InputError(file, 1, 'empty: the header line (user_id:token …) is missing')
    flush()
  } finally {
    closeSync(fd)
  }
  return { shoppers }
}

/**
 * Aggregates `<dir>/valid.inter` (the training histories) for `nItems` items. The caller streams the
 * neighbour lists by item range and closes when done (the database lives in a temporary folder).
 */
export async function aggregate(dir: string, items: readonly { id: string; shard: number }[], s: NeighborSettings, o: AggregateOptions = {}): Promise<Aggregates> {
  const nItems = items.length
  const tmp = mkdtempSync(join(tmpdir(), 'inpage-pack-'))
  const db = await DuckDBInstance.create(join(tmp, 'agg.duckdb'))
  const c = await db.connect()
  let closed = false
  const close = () => {
    if (closed) return
    closed = true
    c.closeSync()
    db.closeSync()
    rmSync(tmp, { recursive: true, force: true })
  }
  try {
    await run(c, `SET memory_limit = '${o.memoryLimit ?? '3GB'}'`)
    await run(c, `SET threads = ${o.threads ?? 2}`)
    await run(c, `SET temp_directory = '${join(tmp, 'spill')}'`)
    await run(c, `SET preserve_insertion_order = false`)
    const histPath = join(tmp, 'hist.tsv')
    const { shoppers } = checkHistories(join(dir, 'valid.inter'), nItems, o.encoding ?? 'utf-8', histPath)
    await run(
      c,
      shoppers
        ? `CREATE VIEW hist AS SELECT column0 AS u, coalesce(column1, '') AS h
           FROM read_csv('${histPath.replaceAll("'", "''")}', delim = '\t', header = false, columns = {'column0': 'VARCHAR', 'column1': 'VARCHAR'}, quote = '', escape = '')`
        : `CREATE TABLE hist (u VARCHAR, h VARCHAR)`, // no shoppers yet (DuckDB cannot sniff an empty file): a pack without aggregates
    )
    // The catalog: index and shard (computed by the caller with the pack's hash). The store's ids stay
    // in JS, never through a TSV, so every id comes back exactly as items.jsonl has it.
    const itemsPath = join(tmp, 'items.tsv')
    writeFileSync(itemsPath, items.map((it, i) => `${i}\t${it.shard}`).join('\n') + '\n')
    await run(
      c,
      `CREATE TABLE items AS SELECT column0 AS idx, column1 AS shard
       FROM read_csv('${itemsPath.replaceAll("'", "''")}', delim = '\t', header = false, quote = '', escape = '',
                     columns = {'column0': 'INTEGER', 'column1': 'INTEGER'})`,
    )
    const q = aggregateSql(s)
    for (const step of [q.events, q.pop, q.pairs, q.weights, q.next]) await run(c, step)
    await run(c, 'DROP TABLE pairs') // the largest table: its space goes back before the lists are read
    const counts = (await c.runAndReadAll('SELECT count(DISTINCT u)::BIGINT AS users, count(*)::BIGINT AS events FROM ev')).getRowObjectsJS()[0] as {
      users: bigint
      events: bigint
    }
    const pop = new Float64Array(nItems)
    for (const r of (await c.runAndReadAll('SELECT item, pop FROM pop')).getRowObjectsJS() as { item: number; pop: number }[])
      if (r.item >= 0 && r.item < nItems) pop[r.item] = r.pop
    return {
      users: Number(counts.users),
      next: nextSettings(s),
      events: Number(counts.events),
      pop,
      async shards(from, to) {
        const rows = (
          await c.runAndReadAll(
            `SELECT i.shard, i.idx, coalesce(p.pop, 0) AS pop, n.y, n.w
             FROM items i LEFT JOIN pop p ON p.item = i.idx
             LEFT JOIN (SELECT nb.x, nb.y, nb.w FROM nb JOIN items j ON j.idx = nb.y) n ON n.x = i.idx
             WHERE i.shard >= ${from} AND i.shard < ${to}
             ORDER BY i.shard, i.idx, n.w DESC, n.y`,
          )
        ).getRowObjectsJS() as { shard: number; idx: number; pop: number; y: number | null; w: number | null }[]
        const out = new Map<number, AggregatedItem[]>()
        let last: AggregatedItem | undefined
        for (const r of rows) {
          if (!last || last.idx !== r.idx) {
            last = { idx: r.idx, id: items[r.idx]!.id, pop: r.pop, neighbors: [], next: [] }
            let l = out.get(r.shard)
            if (!l) out.set(r.shard, (l = []))
            l.push(last)
          }
          if (r.y !== null && r.w !== null) last.neighbors.push([items[r.y]!.id, r.w])
        }
        // The next-item lists of the same items, by index (a second one-to-many join above would multiply rows).
        const byIdx = new Map([...out.values()].flat().map((it) => [it.idx, it]))
        const steps = (
          await c.runAndReadAll(
            `SELECT nx.x, nx.y, nx.w FROM nx JOIN items i ON i.idx = nx.x JOIN items j ON j.idx = nx.y
             WHERE i.shard >= ${from} AND i.shard < ${to}
             ORDER BY nx.x, nx.w DESC, nx.y`,
          )
        ).getRowObjectsJS() as { x: number; y: number; w: number }[]
        for (const r of steps) byIdx.get(r.x)?.next.push([items[r.y]!.id, r.w])
        return out
      },
      close,
    }
  } catch (err) {
    close()
    throw err
  }
}

/** Writes a TSV DuckDB reads as the training histories: one line per shopper, items space-separated. */
export function writeHistories(path: string, histories: Iterable<readonly number[]>) {
  const lines = ['user_id:token\titem_id_list:token_seq\titem_id:token']
  let u = 0
  for (const h of histories) lines.push(`${u++}\t${h.join(' ')}\t0`)
  writeFileSync(path, lines.join('\n') + '\n')
}
