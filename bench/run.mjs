// Benchmarks in headless Chromium against the built library. Each figure is measured against a
// baseline run in the same browser session and printed as a ratio. Never part of `npm test`.
// The 'engines' section runs the same warm and first reranks in Firefox and WebKit (scripts/engines.mjs)
// and prints each as a ratio to Chromium measured in the same run.
//   npm run bench                        (builds first)
//   npm run bench -- --only rerank,naive (or BENCH_ONLY=rerank,naive)
// Each section is a file, bench/sections/<name>.mjs, run with the shared context below (browser, server, catalog,
// record); this runner writes bench/results.json and bench/results.md.
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename } from 'node:path'
import os from 'node:os'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

/** The sections, one file each under bench/sections/, in the order they run. */
const SECTIONS = ['track', 'rerank', 'naive', 'encode', 'first', 'engines', 'first-visit']
const USAGE = `usage: npm run bench [-- --only ${SECTIONS.join(',')}]
  --only S   run only these sections (comma list); default $BENCH_ONLY, else all
  --help     this message`
/** The sections to run; a bad command line prints the usage and exits with 2 before anything starts. */
function sections(argv) {
  try {
    const { values } = parseArgs({ args: argv, options: { only: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false })
    if (values.help) {
      console.log(USAGE)
      process.exit(0)
    }
    const only = values.only ?? process.env.BENCH_ONLY
    const list = only ? only.split(',').map((x) => x.trim()).filter(Boolean) : SECTIONS
    const unknown = list.filter((x) => !SECTIONS.includes(x))
    if (unknown.length) throw new Error(`unknown section ${unknown.join(', ')}`)
    return new Set(list)
  } catch (e) {
    console.error(`${e.message}\n${USAGE}`)
    process.exit(2)
  }
}
const wanted = sections(process.argv.slice(2))
const want = (name) => wanted.has(name)
// Loaded once the command line is known to be good.
const { chromium } = await import('@playwright/test')
const { build } = await import('vite')

const root = fileURLToPath(new URL('..', import.meta.url))
const tmp = `${root}bench/tmp/${process.pid}`
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))
/** Bundles a TypeScript file for plain Node (like eval/run.mjs), imports it and returns the module. */
async function bundle(entry) {
  const outDir = `${tmp}/${basename(entry, '.ts')}`
  await build({ root, configFile: false, logLevel: 'warn', publicDir: false, build: { ssr: `${root}${entry}`, outDir, emptyOutDir: true, target: 'node20', minify: false, rollupOptions: { output: { entryFileNames: 'out.mjs', format: 'es' } } } })
  return import(pathToFileURL(`${outDir}/out.mjs`).href)
}

const PORT = Number(process.env.INPAGE_BENCH_PORT ?? 4174) // beside another checkout's bench: INPAGE_BENCH_PORT
const base = `http://127.0.0.1:${PORT}`
// The shared catalog's items as candidates (public fields, no descriptions), read by node/data.ts.
const data = await bundle('node/data.ts')
const catalog = data.readItemsFile(data.datasetDir()).map((r) => data.catalogItem(r, 0))
const server = spawn(process.execPath, ['scripts/serve.mjs'], { env: { ...process.env, PORT: String(PORT) }, stdio: ['ignore', 'pipe', 'inherit'] })
await new Promise((r) => server.stdout.once('data', r))

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
const p95 = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * 0.95))] }
const results = []
/** Per-file listings (first-visit section): path, raw and sent bytes, when fetched. */
const fileTables = []
const record = (r) => {
  results.push(r)
  console.log(`${r.name.padEnd(48)} median ${r.median.toFixed(3)} ${r.unit}${r.p95 !== undefined ? `  p95 ${r.p95.toFixed(3)}` : ''}  baseline ${r.baseline_median?.toFixed(3) ?? '-'}  ratio ${r.ratio?.toFixed(2) ?? '-'}  (runs ${r.runs})`)
}

/** A fresh browser context with one of the e2e pages (scripts/serve.mjs) open and ready. */
async function openPage(path) {
  const ctx = await browser.newContext()
  const page = await ctx.newPage()
  await page.goto(`${base}/${path}`)
  await page.waitForFunction(() => window.ready)
  return { ctx, page }
}
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--enable-unsafe-webgpu'] })
try {
  const context = { root, tmp, base, browser, catalog, bundle, openPage, record, median, p95, fileTables, build }
  for (const name of SECTIONS) if (want(name)) await (await import(`./sections/${name}.mjs`)).default(context)
} finally {
  await browser.close()
  server.kill()
}

// --- Sizes: what users download.
{
  const { brotliCompressSync } = await import('node:zlib')
  for (const f of ['dist/inpage.js', 'dist/inpage.iife.js', 'dist/inpage.worker.js'])
    record({ name: `${f} (brotli)`, median: brotliCompressSync(readFileSync(f)).length / 1024, unit: 'kB', runs: 1 })
  const man = JSON.parse(readFileSync('public/models/inpage-sci-v1/manifest.json', 'utf8'))
  const bytes = Object.values(man.files).reduce((s, f) => s + f.bytes, 0)
  record({ name: 'model files (all, as fetched once)', median: bytes / 1e6, unit: 'MB', runs: 1 })
  record({ name: 'ORT wasm for WASM (dist/ort/ort-wasm-simd-threaded.wasm), raw / brotli', median: readFileSync('dist/ort/ort-wasm-simd-threaded.wasm').length / 1e6, unit: 'MB', baseline_median: readFileSync('dist/ort/ort-wasm-simd-threaded.wasm.br').length / 1e6, runs: 1, baseline: 'its .br copy' })
  record({ name: 'ORT wasm for WebGPU (asyncify, fetched only for WebGPU), raw / brotli', median: readFileSync('dist/ort/ort-wasm-simd-threaded.asyncify.wasm').length / 1e6, unit: 'MB', baseline_median: readFileSync('dist/ort/ort-wasm-simd-threaded.asyncify.wasm.br').length / 1e6, runs: 1, baseline: 'its .br copy' })
}

const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}`
// A run of some sections replaces their rows and keeps the others' (each row says when it was measured).
const date = new Date().toISOString().slice(0, 10)
const previous = existsSync('bench/results.json') ? JSON.parse(readFileSync('bench/results.json', 'utf8')) : { results: [] }
const fresh = new Set(results.map((r) => r.name))
const merged = [...previous.results.filter((r) => !fresh.has(r.name)).map((r) => ({ date: previous.date?.slice(0, 10), ...r })), ...results.map((r) => ({ date, ...r }))]
const tables = fileTables.length ? fileTables : (previous.fileTables ?? [])
writeFileSync('bench/results.json', JSON.stringify({ date: new Date().toISOString(), machine, results: merged, fileTables: tables }, null, 2) + '\n')
const md = [
  `Machine: ${machine}. Last run: ${date}.`,
  '',
  '| figure | median | p95 | unit | baseline median | ratio | runs | measured |',
  '|---|---|---|---|---|---|---|---|',
  ...merged.map((r) => `| ${r.name} | ${r.median.toFixed(2)} | ${r.p95?.toFixed(2) ?? ''} | ${r.unit} | ${r.baseline_median?.toFixed(2) ?? ''}${r.baseline ? ` (${r.baseline})` : ''} | ${r.ratio?.toFixed(2) ?? ''} | ${r.runs} | ${r.date ?? ''} |`),
  ...tables.flatMap((t) => [
    '',
    `**${t.name}** (every response: decoded bytes, bytes as sent with headers, encoding, when it was fetched after navigation)`,
    '',
    '| file | raw | sent | encoding | fetched (ms) |',
    '|---|---|---|---|---|',
    ...t.files.map((f) => `| ${f.path} | ${f.raw} | ${f.wire} | ${f.encoding} | ${f.start.toFixed(0)}–${f.end.toFixed(0)} |`),
    `| total | ${t.files.reduce((s, f) => s + f.raw, 0)} | ${t.files.reduce((s, f) => s + f.wire, 0)} | | |`,
  ]),
].join('\n')
writeFileSync('bench/results.md', md + '\n')
console.log('\nwrote bench/results.json and bench/results.md')
