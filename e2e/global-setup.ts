// The e2e suite tests what `npm run build` made; it refuses to run against nothing, and builds the
// consumer app (another Vite project that depends on the built package) and the catalog packs
// (e2e/packs.ts) fresh each run.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

import { buildTestPacks } from './packs'

export default async function globalSetup() {
  for (const f of ['dist/inpage.js', 'dist/inpage.iife.js', 'dist/inpage.worker.js', 'dist/ort/ort-wasm-simd-threaded.wasm', 'dist/ort/ort-wasm-simd-threaded.wasm.br'])
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first`)
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'e2e/consumer/vite.config.ts'], { stdio: 'inherit' })
  await buildTestPacks()
}
