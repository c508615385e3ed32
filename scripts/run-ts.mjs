#!/usr/bin/env node
// Runs a TypeScript CLI (eval/cli.ts, eval/catalog-cli.ts) in plain Node: bundles it (with src/ and node/,
// dependencies left external) with Vite's SSR build into .build/<pid>/cli.mjs (one folder per process,
// so runs can overlap), imports it, calls its main(args), and removes the folder when done.
// The bundling recipe is the CLI's (scripts/build-cli.mjs). `npm run eval -- <args>` = `node scripts/run-ts.mjs eval/cli.ts <args>`; likewise `npm run catalog`.
import { buildNode } from './build-cli.mjs'
import { rmSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const [entry, ...args] = process.argv.slice(2)
const outDir = `${root}.build/${process.pid}`
let code = 0
try {
  await buildNode(root, outDir, { ssr: `${root}${entry}`, output: { entryFileNames: 'cli.mjs' } })
  const { main } = await import(pathToFileURL(`${outDir}/cli.mjs`).href)
  await main(args)
} catch (err) {
  // A bad command line (a UsageError: the problem and the usage) exits with 2, a failed run with 1 and
  // `error: <message>` (an InputError's is `<file>:<line>: <what>`); DEBUG=1 shows the stack.
  const usage = err instanceof Error && err.name === 'UsageError'
  console.error(err instanceof Error ? (process.env.DEBUG && !usage ? err.stack : usage ? err.message : `error: ${err.message}`) : `error: ${err}`)
  code = usage ? 2 : 1
} finally {
  rmSync(outDir, { recursive: true, force: true })
}
process.exit(code)
