// Size budgets, enforced by `npm test`: brotli size of what users download, and the model's bytes.
import { brotliCompressSync, constants } from 'node:zlib'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'

const kB = (n) => `${(n / 1024).toFixed(1)} kB`
const brotli = (f) => brotliCompressSync(readFileSync(f), { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length

// Budgets in bytes, brotli. The main entry excludes the worker and ORT by construction.
const budgets = [
  // The main entry measured 10.0 kB on 2026-11-30 (after the consent queue and options validation).
  ['dist/inpage.js', 12 * 1024, 'main ESM entry'],
  ['dist/inpage.iife.js', 12 * 1024, 'script-tag bundle'],
  // The worker measured 36.4 kB on 2026-11-30: the budget leaves ~30 % headroom, so a new dependency
  // (a second ORT build, a tokenizer pulled in twice) fails here instead of shipping unnoticed.
  ['dist/inpage.worker.js', 48 * 1024, 'engine worker (ORT JS + tokenizer)'],
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
if (failed) process.exit(1)
