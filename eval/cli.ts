// `npm run eval -- --data <dir> [--split valid|test] [--protocol full|category|search|all] ...`
// `npm run eval -- convert --events events.csv --items items.jsonl --out <dir>`
// See eval/README.md. Built and started by eval/run.mjs.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULTS } from '../src/ranking/rerank'
import { convertFiles } from './convert'
import { DEFAULT_OPTIONS, evaluate, setup, type EvalOptions, type Protocol, type Split } from './harness'
import { loadModel } from './model-node'
import { markdown, svg } from './report'

/** The project root: the nearest folder above this file with a package.json (eval/ or eval/.build/ run alike). */
function projectRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(d, 'package.json')) && dirname(d) !== d) d = dirname(d)
  return d
}
const ROOT = projectRoot()

const USAGE = `usage:
  npm run eval -- --data <dir> [--split valid|test] [--protocol full|category|search|all]
                  [--no-exclude-history] [--users N] [--grid] [--personal-weight W] [--query-weight Q] [--no-popularity-prior]
                  [--lambda L] [--max-per-category M] [--text-decay D] [--no-reasons]
                  [--model public/models/inpage-sci-v1] [--out eval/results] [--encode-batch 1]
  npm run eval -- convert --events events.csv --items items.jsonl --out <dir> [--max-history 50]`

export function parseArgs(argv: readonly string[]): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (!a.startsWith('--')) {
      out._ = a
      continue
    }
    const [k, v] = a.slice(2).split('=', 2) as [string, string | undefined]
    if (v !== undefined) out[k] = v
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) out[k] = argv[++i]!
    else out[k] = true
  }
  return out
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

const num = (v: string | boolean | undefined, d: number) => (typeof v === 'string' ? Number(v) : d)

export async function main(argv: readonly string[]) {
  const a = parseArgs(argv)
  if (a.help || a.h) return console.log(USAGE)
  if (a._ === 'convert') {
    if (typeof a.events !== 'string' || typeof a.items !== 'string' || typeof a.out !== 'string') throw new Error(USAGE)
    const stats = convertFiles(a.events, a.items, a.out, { maxHistory: num(a['max-history'], 50), minEvents: num(a['min-events'], 3) })
    console.log(`wrote ${a.out}: ${JSON.stringify(stats)}`)
    return
  }
  if (typeof a.data !== 'string') throw new Error(`--data <dir> is required\n${USAGE}`)
  const split = (a.split ?? 'test') as Split
  if (split !== 'valid' && split !== 'test') throw new Error('--split must be valid or test')
  const protocols: Protocol[] = a.protocol === 'all' ? ['full', 'category', 'search'] : (String(a.protocol ?? 'full').split(',') as Protocol[])
  for (const p of protocols) if (!['full', 'category', 'search'].includes(p)) throw new Error(`unknown protocol ${p}`)
  const dataDir = resolve(a.data)
  const name = basename(dataDir)
  const outDir = resolve(typeof a.out === 'string' ? a.out : join(ROOT, 'eval/results'))
  const modelDir = resolve(typeof a.model === 'string' ? a.model : join(ROOT, 'public/models/inpage-sci-v1'))
  const log = (s: string) => process.stderr.write(`${s}\n`)

  const t0 = performance.now()
  const loaded = await loadModel(modelDir)
  const ctx = await setup(dataDir, loaded, [split], { cacheDir: join(ROOT, 'eval/.cache'), encodeBatch: num(a['encode-batch'], 1), log })
  log(`model ${loaded.model.manifest.name}, ${ctx.ids.length} items, item vectors in ${ctx.encodeSeconds.toFixed(1)} s`)
  mkdirSync(outDir, { recursive: true })
  for (const protocol of protocols) {
    const o: EvalOptions = {
      ...DEFAULT_OPTIONS,
      protocol,
      split,
      excludeHistory: !a['no-exclude-history'],
      users: typeof a.users === 'string' ? Number(a.users) : undefined,
      personalWeight: num(a['personal-weight'], protocol === 'search' ? DEFAULTS.searchPersonalWeight : DEFAULTS.personalWeight),
      queryWeight: num(a['query-weight'], DEFAULTS.queryWeight),
      diversity: {
        lambda: num(a.lambda, DEFAULT_OPTIONS.diversity.lambda),
        ...(a['max-per-category'] === '0' ? {} : { maxPerCategory: num(a['max-per-category'], DEFAULT_OPTIONS.diversity.maxPerCategory ?? 3) }),
      },
      textDecay: num(a['text-decay'], DEFAULT_OPTIONS.textDecay),
      grid: !!a.grid,
      reasons: !a['no-reasons'],
      popularityPrior: !a['no-popularity-prior'],
      progress: progressBar(`${protocol}/${split}`),
    }
    const r = await evaluate(ctx, o)
    const file = `${name}-${split}-${protocol}${o.excludeHistory ? '' : '-with-history'}${o.popularityPrior ? '' : '-no-prior'}${o.users ? `-n${o.users}` : ''}`
    writeFileSync(join(outDir, `${file}.json`), JSON.stringify(r, null, 1) + '\n')
    writeFileSync(join(outDir, `${file}.md`), markdown(r))
    writeFileSync(join(outDir, `${file}.svg`), svg(r))
    process.stdout.write(markdown(r) + `\nwrote ${join(outDir, file)}.{json,md,svg}\n\n`)
  }
  log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s`)
  await loaded.model.release()
}
