// `npm run eval -- --data <dir> [--split valid|test] [--protocol full|category|search|all] ...`
// `npm run eval -- convert --events events.csv --items items.jsonl --out <dir>`
// `npm run eval -- uplift --events export.csv` (eval/uplift.ts): the holdout's uplift on the store's own shoppers.
// See eval/README.md. Built and started by scripts/run-ts.mjs.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { checkPackManifest } from '../src/pack/format'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { UsageError, usageErrors } from '../node/usage'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { DEFAULTS } from '../src/ranking/rerank'
import { ITEM_KNN_DEFAULTS } from './baselines'
import { convertFiles } from '../node/convert'
import { ENCODINGS, parseEncoding, type Encoding } from '../node/input'
import { upliftMain } from './uplift'
import { parseTune, tunePack } from './tune-cli'
import { evaluate } from './harness'
import { coverageWarning, setup } from './context'
import { DEFAULT_OPTIONS, type EvalOptions, type Protocol, type Split } from './options'
import { loadModel } from '../node/model-node'
import { markdown, svg, tradeoffSvg } from './report'

/** The project root: the nearest folder above this file with a package.json (eval/ or eval/.build/ run alike). */
function projectRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(d, 'package.json')) && dirname(d) !== d) d = dirname(d)
  return d
}
const ROOT = projectRoot()

export const USAGE = `usage:
  npm run eval -- --data <dir> [--split valid|test] [--protocol full|category|search|all]
                  [--no-exclude-history] [--users N] [--grid] [--personal-weight W] [--query-weight Q] [--search-server-personal-weight S] [--no-popularity-prior] [--purchased demote|keep]
                  [--calibration C] [--near-duplicates spread|keep]
                  [--lambda L] [--max-per-category M] [--text-decay D] [--no-reasons]
                  [--knn-min-count 2] [--knn-gamma 0.8] [--knn-back 1] [--knn-alpha 0.3] [--knn-beta 0.1] [--knn-top-n 50] [--knn-decay 0.8]
                  [--model public/models/inpage-sci-v1] [--catalog <pack dir> [--history-records track|none]] [--out eval/results] [--encode-batch 1] [--encoding utf-8|latin1]
  npm run eval -- convert --events events.csv --items items.jsonl --out <dir> [--max-history 50] [--min-events 3] [--encoding utf-8|latin1]
  npm run eval -- tune --data <dir> --catalog <pack dir> [--model <dir>] [--users 2000] [--adapt] [--dry-run]
  npm run eval -- uplift --events <analytics export.csv> [--mde 0.05] [--power 0.8] [--seed 1] [--json]
  npm run eval -- --help`

export { UsageError }
const usage = usageErrors(USAGE)

const EVAL_FLAGS = {
  data: { type: 'string' },
  split: { type: 'string' },
  protocol: { type: 'string' },
  'no-exclude-history': { type: 'boolean' },
  users: { type: 'string' },
  grid: { type: 'boolean' },
  'personal-weight': { type: 'string' },
  'query-weight': { type: 'string' },
  'search-server-personal-weight': { type: 'string' },
  'no-popularity-prior': { type: 'boolean' },
  purchased: { type: 'string' },
  calibration: { type: 'string' },
  'near-duplicates': { type: 'string' },
  lambda: { type: 'string' },
  'max-per-category': { type: 'string' },
  'text-decay': { type: 'string' },
  'knn-min-count': { type: 'string' },
  'knn-gamma': { type: 'string' },
  'knn-back': { type: 'string' },
  'knn-alpha': { type: 'string' },
  'knn-beta': { type: 'string' },
  'knn-top-n': { type: 'string' },
  'knn-decay': { type: 'string' },
  'no-reasons': { type: 'boolean' },
  model: { type: 'string' },
  out: { type: 'string' },
  'encode-batch': { type: 'string' },
  catalog: { type: 'string' },
  'history-records': { type: 'string' },
  encoding: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

const CONVERT_FLAGS = {
  events: { type: 'string' },
  items: { type: 'string' },
  out: { type: 'string' },
  'max-history': { type: 'string' },
  'min-events': { type: 'string' },
  encoding: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

type Flags<T extends Record<string, { type: 'string' | 'boolean' }>> = {
  [K in keyof T]?: T[K]['type'] extends 'string' ? string : boolean
}

export type Command =
  | { command: 'help' }
  | { command: 'convert'; flags: Flags<typeof CONVERT_FLAGS> }
  | { command: 'eval'; flags: Flags<typeof EVAL_FLAGS> }

/** Reads the command line strictly: an unknown or misspelt flag, a missing value or a stray word is a UsageError. */
export function parseCommand(argv: readonly string[]): Command {
  const convert = argv[0] === 'convert'
  let parsed
  try {
    parsed = parseArgs({ args: convert ? argv.slice(1) : [...argv], options: convert ? CONVERT_FLAGS : EVAL_FLAGS, strict: true, allowPositionals: false })
  } catch (e) {
    throw usage((e as Error).message)
  }
  if (parsed.values.help) return { command: 'help' }
  return convert ? { command: 'convert', flags: parsed.values as Flags<typeof CONVERT_FLAGS> } : { command: 'eval', flags: parsed.values as Flags<typeof EVAL_FLAGS> }
}

/** A numeric flag's value, or its default when absent; anything but a finite number is a UsageError. */
function num(flags: Record<string, unknown>, name: string, d: number): number {
  const v = flags[name]
  if (v === undefined) return d
  const n = Number(v)
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n)) throw usage(`--${name} takes a number, not ${JSON.stringify(v)}`)
  return n
}

/** `--encoding`: the data files' text encoding (default UTF-8). */
function encodingFlag(v: string | undefined): Encoding {
  const e = parseEncoding(v ?? 'utf-8')
  if (!e) throw usage(`--encoding is one of ${ENCODINGS.join(', ')}, got ${JSON.stringify(v)}`)
  return e
}

function progressBar(label: string) {
  const tty = process.stderr.isTTY
  const t0 = performance.now()
  let last = 0
  let lastDecile = -1
  return (done: number, total: number) => {
    const now = performance.now()
    const s = (now - t0) / 1000
    const eta = done ? (s / done) * (total - done) : 0
    const text = `${label} ${done}/${total} ${s.toFixed(0)}s, eta ${eta.toFixed(0)}s`
    if (tty) {
      if (now - last < 200 && done < total) return
      last = now
      const w = 30
      const f = Math.round((w * done) / total)
      process.stderr.write(`\r[${'#'.repeat(f)}${'.'.repeat(w - f)}] ${text}   `)
      if (done === total) process.stderr.write('\n')
    } else {
      const decile = Math.floor((10 * done) / total)
      if (decile !== lastDecile) {
        lastDecile = decile
        process.stderr.write(`${text}\n`)
      }
    }
  }
}

/** `tune`: the pack's scoring settings chosen on the store's valid split, written into its pack.json. */
async function tuneMain(argv: readonly string[]) {
  let f: ReturnType<typeof parseTune>
  try {
    f = parseTune(argv)
  } catch (e) {
    throw usage((e as Error).message)
  }
  if (typeof f.data !== 'string' || typeof f.catalog !== 'string') throw usage('tune needs --data and --catalog')
  const catalog = resolve(f.catalog)
  const loaded = await loadModel(resolve(f.model ?? shippedModelDir(packModelOf(catalog))))
  try {
    const r = await tunePack(resolve(f.data), catalog, loaded, { encoding: encodingFlag(f.encoding), maxUsers: f.users === undefined ? undefined : num(f, 'users', 0), dryRun: f['dry-run'] === true, adapt: f.adapt === true ? {} : false, log: (s) => process.stderr.write(`${s}\n`) })
    // The adaptation's matrices are pack.json's business: the report says how long they are.
    console.log(JSON.stringify({ ...r, written: !f['dry-run'] }, (k, v) => ((k === 'a' || k === 'b') && typeof v === 'string' ? `(${v.length} base64 characters)` : v), 2))
  } finally {
    await loaded.model.release()
  }
}

/** The `model` (`name@version`) pack.json names; a folder that is not a pack is a usage error. */
function packModelOf(dir: string): string {
  const file = join(dir, 'pack.json')
  if (!existsSync(file)) throw usage(`--catalog ${dir}: no pack.json there`)
  try {
    return checkPackManifest(JSON.parse(readFileSync(file, 'utf8'))).model
  } catch (err) {
    throw usage(`--catalog ${dir}: ${(err as Error).message}`)
  }
}

/** The repository's folder of a model named `name@version`, if it ships it at that version; else a usage error saying to pass --model. */
function shippedModelDir(model: string): string {
  const [name, version] = model.split('@')
  const dir = join(ROOT, 'public/models', name ?? '')
  const manifest = join(dir, 'manifest.json')
  const shipped = /^[A-Za-z0-9._-]+$/.test(name ?? '') && !name!.startsWith('.') && existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version : undefined
  if (shipped !== version) throw usage(`the pack was built with ${model}, which ${shipped ? `is not the shipped version (${shipped})` : 'is not among public/models'}: pass its folder with --model`)
  return dir
}

export async function main(argv: readonly string[]) {
  if (argv[0] === 'uplift') return upliftMain(argv.slice(1))
  if (argv[0] === 'tune') return tuneMain(argv.slice(1))
  const cmd = parseCommand(argv)
  if (cmd.command === 'help') return console.log(USAGE)
  if (cmd.command === 'convert') {
    const c = cmd.flags
    if (c.events === undefined || c.items === undefined || c.out === undefined) throw usage('convert needs --events, --items and --out')
    const encoding = encodingFlag(c.encoding)
    const stats = convertFiles(c.events, c.items, c.out, { maxHistory: num(c, 'max-history', 50), minEvents: num(c, 'min-events', 3), encoding })
    console.log(`wrote ${c.out}: ${JSON.stringify(stats)}`)
    return
  }
  const a = cmd.flags
  if (a.data === undefined) throw usage('--data <dir> is required')
  const split = (a.split ?? 'test') as Split
  if (split !== 'valid' && split !== 'test') throw usage('--split must be valid or test')
  const protocols: Protocol[] = a.protocol === 'all' ? ['full', 'category', 'search'] : ((a.protocol ?? 'full').split(',') as Protocol[])
  for (const p of protocols) if (!['full', 'category', 'search'].includes(p)) throw usage(`unknown protocol ${p}`)
  const users = a.users === undefined ? undefined : num(a, 'users', 0)
  const encoding = encodingFlag(a.encoding)
  const encodeBatch = num(a, 'encode-batch', 1)
  const personalWeight = a['personal-weight'] === undefined ? undefined : num(a, 'personal-weight', 0)
  const queryWeight = num(a, 'query-weight', DEFAULTS.queryWeight)
  const searchServerPersonalWeight = num(a, 'search-server-personal-weight', DEFAULTS.searchServerPersonalWeight)
  const lambda = num(a, 'lambda', DEFAULT_OPTIONS.diversity.lambda)
  const maxPerCategory = num(a, 'max-per-category', DEFAULT_OPTIONS.diversity.maxPerCategory ?? 3)
  const textDecay = num(a, 'text-decay', DEFAULT_OPTIONS.textDecay)
  const K = ITEM_KNN_DEFAULTS
  const itemKnn = {
    minCount: num(a, 'knn-min-count', K.minCount),
    gamma: num(a, 'knn-gamma', K.gamma),
    back: num(a, 'knn-back', K.back),
    alpha: num(a, 'knn-alpha', K.alpha),
    beta: num(a, 'knn-beta', K.beta),
    topN: num(a, 'knn-top-n', K.topN),
    decay: num(a, 'knn-decay', K.decay),
  }
  const dataDir = resolve(a.data)
  const name = basename(dataDir)
  const outDir = resolve(a.out ?? join(ROOT, 'eval/results'))
  const log = (s: string) => process.stderr.write(`${s}\n`)
  const catalog = typeof a.catalog === 'string' ? resolve(a.catalog) : undefined
  // With a pack, the model it was built with (pack.json `model`), as the browser would run it, unless --model says otherwise.
  const packModel = catalog ? packModelOf(catalog) : undefined
  const modelDir = resolve(a.model ?? (packModel ? shippedModelDir(packModel) : join(ROOT, 'public/models/inpage-sci-v1')))

  const t0 = performance.now()
  const loaded = await loadModel(modelDir)
  const running = `${loaded.model.manifest.name}@${loaded.model.manifest.version}`
  if (packModel && packModel !== running)
    log(`WARNING: the pack was built with ${packModel}, but this eval runs ${running} (--model): its text vectors are not this model's, so every item is encoded, and the numbers are not what a store serving this pack sees`)
  const purchased = a.purchased ?? DEFAULTS.purchased
  if (purchased !== 'demote' && purchased !== 'keep') throw usage(`--purchased is demote or keep, got ${JSON.stringify(purchased)}`)
  const calibration = num(a, 'calibration', DEFAULTS.calibration)
  if (!(calibration >= 0 && calibration <= 1)) throw usage(`--calibration is a number from 0 to 1, got ${calibration}`)
  const nearDuplicates = a['near-duplicates'] ?? DEFAULTS.nearDuplicates
  if (nearDuplicates !== 'spread' && nearDuplicates !== 'keep') throw usage(`--near-duplicates is spread or keep, got ${JSON.stringify(nearDuplicates)}`)
  const historyRecords = a['history-records'] ?? 'track'
  if (historyRecords !== 'track' && historyRecords !== 'none') throw usage(`--history-records is track or none, got ${JSON.stringify(historyRecords)}`)
  if (historyRecords === 'none' && !catalog) throw usage('--history-records none needs --catalog')
  const ctx = await setup(dataDir, loaded, [split], { cacheDir: join(ROOT, 'eval/.cache'), encodeBatch, log, catalog, encoding })
  const m = ctx.modelInfo
  log(`model ${m.name}@${m.version} (${m.dir}, encoder sha256 ${m.encoderSha256.slice(0, 12)}…), ${ctx.ids.length} items, item vectors in ${ctx.encodeSeconds.toFixed(1)} s`)
  log(`model coverage: ${ctx.coverage.collab} of ${ctx.coverage.items} items in collab.json, ${ctx.coverage.neighbors} in neighbors.json`)
  if (ctx.packInfo) log(`catalog pack ${ctx.packInfo.pack} (${ctx.packInfo.dir}, for ${ctx.packInfo.model}): ${ctx.packInfo.covered} of ${ctx.packInfo.items} items, text vectors ${ctx.packInfo.textVectors ? 'from the pack' : 'encoded'}`)
  const warning = ctx.packInfo ? undefined : coverageWarning(ctx.coverage, m)
  if (warning) log(warning)
  mkdirSync(outDir, { recursive: true })
  for (const protocol of protocols) {
    const o: EvalOptions = {
      ...DEFAULT_OPTIONS,
      protocol,
      split,
      excludeHistory: !a['no-exclude-history'],
      users,
      personalWeight: personalWeight ?? (protocol === 'search' ? DEFAULTS.searchPersonalWeight : DEFAULTS.personalWeight),
      queryWeight,
      searchServerPersonalWeight,
      diversity: { lambda, ...(maxPerCategory === 0 ? {} : { maxPerCategory }) },
      textDecay,
      itemKnn,
      grid: !!a.grid,
      reasons: !a['no-reasons'],
      popularityPrior: !a['no-popularity-prior'],
      purchased,
      calibration,
      nearDuplicates,
      historyRecords,
      progress: progressBar(`${protocol}/${split}`),
    }
    const r = await evaluate(ctx, o)
    for (const w of r.warnings) if (w !== warning) log(w)
    const file = `${name}-${split}-${protocol}${o.excludeHistory ? '' : '-with-history'}${o.popularityPrior ? '' : '-no-prior'}${purchased === DEFAULTS.purchased ? '' : `-purchased-${purchased}`}${calibration === DEFAULTS.calibration ? '' : `-calibration-${calibration}`}${nearDuplicates === DEFAULTS.nearDuplicates ? '' : `-near-duplicates-${nearDuplicates}`}${historyRecords === 'none' ? '-no-history-records' : ''}${o.users ? `-n${o.users}` : ''}`
    writeFileSync(join(outDir, `${file}.json`), JSON.stringify(r, null, 1) + '\n')
    writeFileSync(join(outDir, `${file}.md`), markdown(r))
    writeFileSync(join(outDir, `${file}.svg`), svg(r))
    const tradeoff = tradeoffSvg(r)
    if (tradeoff) writeFileSync(join(outDir, `${file}-tradeoff.svg`), tradeoff)
    process.stdout.write(markdown(r) + `\nwrote ${join(outDir, file)}.{json,md,svg}\n\n`)
  }
  log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s`)
  await loaded.model.release()
}
