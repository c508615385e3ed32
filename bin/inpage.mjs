#!/usr/bin/env node
// `npx inpage <verb>`: the package's command line. `assets` writes what a site serves; `convert`, `catalog` and
// `eval` are the store-side verbs (and `uplift` the holdout's report), the same code as `npm run eval -- convert`,
// `npm run catalog`, `npm run eval` and `npm run eval -- uplift` in the repository, prebuilt to dist/cli/ (scripts/build-cli.mjs). Exit codes: 2 for a bad
// command line (the problem and the usage), 1 for a failed run (`error: <message>`; DEBUG=1 shows the stack).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkPeers } from './peers.mjs'
import { GENERAL_MODEL, packagedModelFiles } from './model.mjs'
import { UsageError } from './usage.mjs'

const USAGE = `usage: npx inpage <verb> [options]
  assets <dir> [--base /url/]          the bundles, worker, ORT's files and the general model (with .br copies) for your site
  convert --events events.csv --items items.jsonl --out <dir>   your logs in eval's format
  catalog --data <dir> --out <pack dir> [--model <dir>] [--no-tune]   a catalog pack (default model: the packaged ${GENERAL_MODEL}),
                                       its blend tuned on your valid split when it has ≥ 1,000 shoppers
  eval --data <dir> [--out <dir>] [--model <dir>]                how it does on your data (default model: ${GENERAL_MODEL})
  uplift --events <analytics export.csv>                         the holdout's uplift on your own shoppers (README, "Adopting inpage")
  <verb> --help                         a verb's options
store-side verbs need: npm install @duckdb/node-api onnxruntime-node`

const has = (args, flag) => args.some((a) => a === flag || a.startsWith(`${flag}=`))

/** The packaged general model, expanded into a private temporary folder (removed by `cleanup`). */
function expandedModel(cleanup) {
  const dir = mkdtempSync(join(tmpdir(), 'inpage-model-'))
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
  for (const [f, bytes] of packagedModelFiles()) writeFileSync(join(dir, f), bytes, { flag: 'wx' })
  return dir
}

async function run(argv, cleanup) {
  const [verb, ...args] = argv
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') return console.log(USAGE)
  if (!['assets', 'convert', 'catalog', 'eval', 'uplift'].includes(verb)) throw new UsageError(`unknown verb ${JSON.stringify(verb)}\n${USAGE}`)
  const help = has(args, '--help') || args.includes('-h')
  if (!help) checkPeers(verb)
  if (verb === 'assets') return (await import('./assets.mjs')).assets(args)
  if (verb === 'convert' || verb === 'uplift') return (await import('../dist/cli/eval.mjs')).main([verb, ...args])
  if (verb === 'catalog') {
    const extra = help || has(args, '--model') ? [] : ['--model', expandedModel(cleanup)]
    return (await import('../dist/cli/catalog.mjs')).main([...args, ...extra])
  }
  // eval: its defaults are repository paths (eval/results, the Scientific model); the package's are
  // ./inpage-eval in the working folder and the packaged general model.
  const extra = help ? [] : [...(has(args, '--model') ? [] : ['--model', expandedModel(cleanup)]), ...(has(args, '--out') ? [] : ['--out', 'inpage-eval'])]
  return (await import('../dist/cli/eval.mjs')).main([...args, ...extra])
}

const cleanup = []
let code = 0
try {
  await run(process.argv.slice(2), cleanup)
} catch (err) {
  const usage = err instanceof Error && err.name === 'UsageError'
  console.error(err instanceof Error ? (process.env.DEBUG && !usage ? err.stack : usage ? err.message : `error: ${err.message}`) : `error: ${err}`)
  code = usage ? 2 : 1
} finally {
  for (const f of cleanup) f()
}
process.exit(code)
