// Size budgets, enforced by `npm test`: brotli size of what users download, and the model's bytes.
import { brotliCompressSync, constants } from 'node:zlib'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { execFileSync } from 'node:child_process'

const kB = (n) => `${(n / 1024).toFixed(1)} kB`
const brotli = (f) => brotliCompressSync(readFileSync(f), { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length

// Budgets in bytes, brotli. The main entry excludes the worker and ORT by construction.
const budgets = [
  // The main entry measured 10.0 kB on 2026-11-30 (after the consent queue and options validation).
  // 11.3 kB on 2026-12-02 before issue 28; 12.3 kB with its holdout and analytics events (the consent
  // adapters are a separate entry, below); the script tag also defines issue 24's <inpage-list> element.
  // Issue 23 (one options validator that refuses unknown keys; one WorkerSession with typed fault codes) added
  // 0.5 + 0.6 kB; the ES entry is now written minified (it kept Vite's whitespace): 12.4 kB. The IIFE was
  // already minified: 13.0 kB → 14.1 kB. Issues 25–29 (preload, rerankFor with its event validation, the purchased
  // and search options) added 0.5 kB: 12.9 / 14.5 kB on 2026-12-03. Issue 25's 10 kB target for the main entry is
  // not met (its closing note says what the entry holds); these budgets stop further growth.
  ['dist/inpage.js', 13 * 1024, 'main ESM entry'],
  ['dist/inpage.iife.js', 15 * 1024, 'script-tag bundle'],
  // The consent-platform adapters (inpage/consent, issue 28): loaded only by stores that use one.
  ['dist/inpage-consent.js', 3 * 1024, 'consent adapters (inpage/consent)'],
  // The worker measured 36.4 kB on 2026-11-30 (40.0 kB with issue 15's lazy encoder and runtime choice): the budget leaves headroom, so a new dependency
  // (a second ORT build, a tokenizer pulled in twice) fails here instead of shipping unnoticed.
  ['dist/inpage.worker.js', 48 * 1024, 'engine worker (ORT JS + tokenizer)'],
  // Subpath exports (issue 24). inpage/react: the hooks only, React and the main entry external (measured 0.6 kB);
  // it carries its own copy of the options validator (1.1 kB) to refuse a bad option while rendering: 2.0 kB.
  ['dist/react.js', 2.25 * 1024, 'inpage/react (hooks only)'],
  // inpage/vite runs in Node at build time; its budget keeps it a thin layer over `assets` (measured 1.3 kB).
  ['tools/vite.mjs', 3 * 1024, 'inpage/vite (Node, build time)'],
]
let failed = false
for (const [file, max, what] of budgets) {
  if (!existsSync(file)) {
    console.error(`size: ${file} missing; run npm run build`)
    failed = true
    continue
  }
  const size = brotli(file)
  const ok = size <= max
  failed ||= !ok
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what.padEnd(36)} ${file.padEnd(24)} ${kB(size).padStart(9)} brotli (budget ${kB(max)})`)
}
// Every shipped model: all ONNX files together ≤ 25 MB.
const MODEL_BUDGET = 25 * 1024 * 1024
if (existsSync('public/models')) {
  for (const name of readdirSync('public/models')) {
    const dir = `public/models/${name}`
    const onnx = readdirSync(dir).filter((f) => f.endsWith('.onnx'))
    const bytes = onnx.reduce((s, f) => s + statSync(`${dir}/${f}`).size, 0)
    const ok = bytes <= MODEL_BUDGET
    failed ||= !ok
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${'model ONNX files'.padEnd(36)} ${dir.padEnd(24)} ${(bytes / 1e6).toFixed(2).padStart(6)} MB (budget 25 MB)`)
  }
}
// The first visit (issues 15 and 25): what a store with a catalog pack sends before the first personalized
// category page, as its precompressed copies: library, worker and the general model's manifest. Its user model is a
// closed form (manifest user.closedForm), so no onnxruntime and no model file; were it not, its wasm, glue and user
// model are counted. ≤ 0.5 MB with 300 kB left for a 100-item page's pack records (e2e/first-visit.spec.ts counts
// the real traffic, records and headers included). The encoder and onnxruntime load later (preload).
const FIRST_VISIT_BUDGET = 500_000 - 300_000
const general = JSON.parse(readFileSync('public/models/inpage-general-v1/manifest.json', 'utf8'))
const firstVisit = [
  'dist/inpage.js', 'dist/inpage.worker.js', 'dist/models/inpage-general-v1/manifest.json',
  ...(general.user.closedForm ? [] : ['dist/ort/ort-wasm-simd-threaded.wasm', 'dist/ort/ort-wasm-simd-threaded.mjs', 'dist/models/inpage-general-v1/user.int8.onnx']),
]
const missing = firstVisit.filter((f) => !existsSync(`${f}.br`))
if (missing.length) {
  console.error(`size: ${missing.map((f) => `${f}.br`).join(', ')} missing; run npm run build`)
  failed = true
} else {
  const bytes = firstVisit.reduce((s, f) => s + statSync(`${f}.br`).size, 0)
  const ok = bytes <= FIRST_VISIT_BUDGET
  failed ||= !ok
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${'first visit with a pack (.br as sent)'.padEnd(36)} ${`${firstVisit.length} files`.padEnd(24)} ${(bytes / 1e6).toFixed(3).padStart(6)} MB (budget 0.2 MB + 0.3 MB for the page's pack records)`)
}
// The npm package (issue 24): what `npm pack` would publish, general model included, ≤ 30 MB as a tarball.
// e2e/package.spec.ts checks the same on the real tarball, and what it carries.
const TARBALL_BUDGET = 30_000_000
{
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const [pack] = JSON.parse(execFileSync(npm, ['pack', '--dry-run', '--json', '--silent'], { encoding: 'utf8', maxBuffer: 1 << 26 }))
  const ok = pack.size <= TARBALL_BUDGET
  failed ||= !ok
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${'npm package (tarball)'.padEnd(36)} ${`${pack.entryCount} files`.padEnd(24)} ${(pack.size / 1e6).toFixed(2).padStart(6)} MB (budget ${(TARBALL_BUDGET / 1e6).toFixed(2)} MB; ${(pack.unpackedSize / 1e6).toFixed(1)} MB unpacked)`)
}
if (failed) process.exit(1)
