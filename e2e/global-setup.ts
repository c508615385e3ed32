// The e2e suite tests what `npm run build` made; refuse to run against nothing.
import { existsSync } from 'node:fs'

export default function globalSetup() {
  for (const f of ['dist/inpage.js', 'dist/inpage.iife.js', 'dist/inpage.worker.js'])
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first`)
}
