#!/usr/bin/env node
// Runs the TypeScript eval CLI in plain Node: bundles eval/cli.ts (with src/ranking and workers/,
// dependencies left external) into eval/.build/cli.mjs with Vite's SSR build, then starts it.
// `npm run eval -- <args>` = `node eval/run.mjs <args>`.
import { build } from 'vite'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const outDir = `${root}eval/.build`
await build({
  root,
  configFile: false,
  logLevel: 'warn',
  publicDir: false,
  build: {
    ssr: `${root}eval/cli.ts`,
    outDir,
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    sourcemap: true,
    rollupOptions: { output: { entryFileNames: 'cli.mjs', format: 'es' } },
  },
})
const { main } = await import(pathToFileURL(`${outDir}/cli.mjs`).href)
try {
  await main(process.argv.slice(2))
} catch (err) {
  console.error(err instanceof Error ? err.message : err)
  process.exit(1)
}
