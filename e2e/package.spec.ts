// The package as a store gets it from the registry: `npm pack`, installed into a fresh folder outside the
// repository (its dependencies from npm, nothing from this checkout), then `npx inpage convert`, `catalog`
// and `assets` there, and a personalized rerank in Chromium from the files `assets` wrote.
import { test, expect } from '@playwright/test'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { extname, join, normalize, resolve } from 'node:path'
import { catalogItem, categoryKey, datasetDir, readInterFile, readItemsFile, type CatalogItem } from '../node/data'
import { ISOLATION_HEADERS } from '../scripts/headers.mjs'

test.describe.configure({ mode: 'serial' })

const REPO = resolve('.')
// The optional peers at the repository's own versions (already in npm's cache after `npm ci`).
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')).packages
const PEERS = ['@duckdb/node-api', 'onnxruntime-node'].map((p) => `${p}@${lock[`node_modules/${p}`].version}`)
const CATEGORIES = ['Glassware & Labware', 'Adhesives & Sealants']

let tmp = ''
let store = ''
let tarball = ''

/** A child process with none of the calling npm's `npm_*` settings (they would point it back at this repository). */
function sh(cmd: string, args: string[], cwd: string) {
  const env: Record<string, string> = { ONNXRUNTIME_NODE_INSTALL: 'skip', PUPPETEER_SKIP_DOWNLOAD: '1' }
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig'])
  for (const [k, v] of Object.entries(process.env)) if ((keep.has(k.toLowerCase()) || !k.toLowerCase().startsWith('npm_')) && v !== undefined) env[k] = v
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 300_000 })
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` }
}
const npx = (args: string[]) => sh('npx', ['--no', '--', 'inpage', ...args], store)
/**
 * The tests build on each other's files (serial mode). Run alone (`-g`), a test fails and names the one it needs,
 * rather than being skipped and counted as passed with nothing checked.
 */
const needs = (path: string, what: string) => expect(existsSync(path), `${what} (${path}): run the whole file`).toBe(true)
const ok = (r: { status: number | null; out: string }) => {
  expect(r.status, r.out).toBe(0)
  return r.out
}

test.beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'inpage-package-'))
  store = join(tmp, 'store')
  mkdirSync(store)
  ok(sh('npm', ['pack', '--silent', '--pack-destination', tmp], REPO))
  tarball = join(tmp, readdirSync(tmp).find((f) => f.endsWith('.tgz'))!)
  writeFileSync(join(store, 'package.json'), JSON.stringify({ name: 'a-store', private: true, type: 'module' }))
})
test.afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true })
})

test('the tarball carries brotli copies of the large files only, no source maps, and weighs ≤ 30 MB', () => {
  const files = ok(sh('tar', ['-tzf', tarball], tmp)).split('\n').filter(Boolean)
  expect(statSync(tarball).size).toBeLessThanOrEqual(30_000_000)
  expect(files.filter((f) => /\.(map|gz)$/.test(f))).toEqual([])
  expect(files.filter((f) => /\.(wasm|onnx)$/.test(f))).toEqual([])
  for (const f of ['bin/inpage.mjs', 'dist/inpage.js', 'dist/inpage.worker.js', 'dist/cli/catalog.mjs', 'dist/ort/ort-wasm-simd-threaded.wasm.br', 'dist/models/inpage-general-v1/encoder.int8.onnx.br'])
    expect(files).toContain(`package/${f}`)
  // The other model and anything of this repository's own (sources, tests, data) stay out.
  expect(files.filter((f) => /inpage-sci-v1|^package\/(src|workers|catalog|eval|e2e|test|training)\//.test(f))).toEqual([])
})

test('installed from the tarball: convert runs at once, catalog names its missing peers, then builds a pack; assets writes the site', () => {
  test.setTimeout(600_000)
  ok(sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], store))
  // A frontend's install: the package and its two small dependencies, no ORT, no DuckDB.
  expect(readdirSync(join(store, 'node_modules')).filter((f) => !f.startsWith('.')).sort()).toEqual(['@huggingface', 'idb-keyval', 'inpage'])

  // A store's logs: two category pages of the shared dataset and the shoppers who bought there.
  const items = readItemsFile(datasetDir()).filter((r) => CATEGORIES.includes(categoryKey(r.categories)))
  const byCat = CATEGORIES.map((c) => items.filter((r) => categoryKey(r.categories) === c).slice(0, 40))
  const keep = new Map(byCat.flat().map((r) => [r.item, r]))
  const raw = join(tmp, 'logs')
  mkdirSync(raw)
  writeFileSync(
    join(raw, 'items.jsonl'),
    [...keep.values()].map((r) => JSON.stringify({ id: r.asin, title: r.title, brand: r.brand, categories: r.categories, description: (r.description ?? '').slice(0, 200) || null })).join('\n') + '\n',
  )
  const rows = ['user,item,timestamp']
  for (const [u, row] of readInterFile(datasetDir(), 'valid').entries()) {
    const seen = [...row.hist, row.target].filter((i) => keep.has(i))
    seen.forEach((i, j) => rows.push(`u${u},${keep.get(i)!.asin},${1_600_000_000 + 3600 * j}`))
  }
  writeFileSync(join(raw, 'events.csv'), rows.join('\n') + '\n')

  ok(npx(['convert', '--events', join(raw, 'events.csv'), '--items', join(raw, 'items.jsonl'), '--out', 'data', '--min-events', '1']))
  expect(existsSync(join(store, 'data/items.jsonl'))).toBe(true)

  const missing = npx(['catalog', '--data', 'data', '--out', 'public/packs/store'])
  expect(missing.status, missing.out).toBe(1)
  expect(missing.out).toContain('npm install @duckdb/node-api onnxruntime-node')
  expect(existsSync(join(store, 'public'))).toBe(false)
  expect(npx(['eval', '--data', 'data']).out).toContain('npm install onnxruntime-node')

  ok(sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...PEERS], store))
  const built = ok(npx(['catalog', '--data', 'data', '--out', 'public/packs/store']))
  expect(built).toMatch(/wrote public\/packs\/store: pack \S+ for inpage-general-v1@/)
  // The tuning step runs from the package as in the repository (eval/catalog-cli.ts in dist/cli/catalog.mjs): this
  // store is below the threshold, so the log says so and pack.json keeps the model's settings.
  expect(built).toMatch(/catalog: tuning: \d+ valid shoppers, fewer than 1000: the model's settings stay/)
  expect(JSON.parse(readFileSync(join(store, 'public/packs/store/pack.json'), 'utf8')).tuning).toBeUndefined()
  // eval from the package: the packaged general model with the store's pack, results in ./inpage-eval.
  expect(ok(npx(['eval', '--data', 'data', '--split', 'valid', '--protocol', 'category', '--catalog', 'public/packs/store', '--users', '20']))).toMatch(/wrote \S+\/inpage-eval\/data-valid-category-n\d+\.\{json,md,svg\}/)
  expect(readdirSync(join(store, 'inpage-eval')).map((f) => f.replace(/-n\d+\./, '.')).sort()).toEqual(['data-valid-category.json', 'data-valid-category.md', 'data-valid-category.svg'])
  const site = ok(npx(['assets', 'public/inpage']))
  expect(site).toContain('<script src="/inpage/inpage.iife.js" data-model="/inpage/models/inpage-general-v1/"')
  expect(site).toContain('Cross-Origin-Embedder-Policy: require-corp')
  for (const f of ['inpage.iife.js', 'inpage.worker.js', 'ort/ort-wasm-simd-threaded.wasm', 'ort/ort-wasm-simd-threaded.wasm.br', 'models/inpage-general-v1/manifest.json', 'models/inpage-general-v1/encoder.int8.onnx.br'])
    expect(existsSync(join(store, 'public/inpage', f)), f).toBe(true)
})

test('publint and @arethetypeswrong/cli pass on the packed tarball', async () => {
  const { publint } = await import('publint')
  const { formatMessage } = await import('publint/utils')
  const bytes = readFileSync(tarball)
  const { messages, pkg } = await publint({ pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer }, level: 'suggestion', strict: true })
  expect(messages.map((m) => `${m.type}: ${formatMessage(m, pkg)}`)).toEqual([])
  // ESM only (type: module), so attw's esm-only profile: every entry's types must resolve under node16 (ESM) and
  // bundler. The worker and the script tag are files to serve or hand to `new URL()`, not modules to import: no types.
  const attw = [join(REPO, 'node_modules/@arethetypeswrong/cli/dist/index.js'), tarball, '--profile', 'esm-only', '--format', 'table-flipped']
  ok(sh(process.execPath, [...attw, '--exclude-entrypoints', './inpage.worker.js', './inpage.iife.js'], tmp))
})

test('type-level tests through the exports map: the packed types, with misuse refused (bundler and node16 resolution)', () => {
  needs(join(store, 'node_modules/inpage/package.json'), 'needs the install test')
  const dir = join(store, 'types')
  mkdirSync(dir, { recursive: true })
  for (const f of readdirSync('e2e/package-types')) writeFileSync(join(dir, f), readFileSync(join('e2e/package-types', f)))
  const tsc = join(REPO, 'node_modules/typescript/bin/tsc')
  for (const config of ['tsconfig.json', 'tsconfig.node16.json']) ok(sh(process.execPath, [tsc, '-p', join(dir, config)], store))
  // The check can fail: a consumer that misuses the API is refused.
  writeFileSync(join(dir, 'consumer.ts'), `${readFileSync(join(dir, 'consumer.ts'), 'utf8')}\nimport { createRecommender as c } from 'inpage'\nc({ backend: 'cuda' })\n`)
  const bad = sh(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], store)
  expect(bad.status).not.toBe(0)
  expect(bad.out).toContain("'\"cuda\"'")
})

test('each verb imports exactly the optional peers bin/peers.mjs names for it', async () => {
  const { VERB_PEERS } = await import('../bin/peers.mjs')
  // A bundle and the chunks it imports, as text.
  const graph = (file: string, seen = new Set<string>()): string => {
    if (seen.has(file)) return ''
    seen.add(file)
    const text = readFileSync(file, 'utf8')
    const chunks = [...text.matchAll(/from "(\.\/chunks\/[^"]+|\.\/[^"]+\.mjs)"/g)].map((m) => join(file, '..', m[1]!))
    return text + chunks.map((c) => graph(c, seen)).join('')
  }
  const peers = ['@duckdb/node-api', 'onnxruntime-node']
  const uses = (text: string) => peers.filter((p) => text.includes(`"${p}"`))
  expect(uses(graph('dist/cli/catalog.mjs'))).toEqual(VERB_PEERS.catalog)
  expect(uses(graph('dist/cli/eval.mjs'))).toEqual(VERB_PEERS.eval)
  // convert runs from eval's bundle: it must not load onnxruntime-node at import (node/model-node.ts loads it lazily).
  expect(graph('dist/cli/eval.mjs')).not.toMatch(/^(const|var|let) \w+ = createRequire\(import\.meta\.url\)\("onnxruntime-node"\)/m)
})

/** The store's static server: the first of `roots` that has the file, the isolation headers, `.br` copies when the browser takes br. */
function serve(...roots: string[]): Promise<{ server: Server; origin: string }> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' }
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url!, 'http://x').pathname))
    const found = roots.map((root) => [root, join(root, path.endsWith('/') ? `${path}index.html` : path)]).find(([root, f]) => f!.startsWith(root!) && existsSync(f!) && statSync(f!).isFile())
    if (!found) return res.writeHead(404).end()
    let file = found[1]!
    const headers: Record<string, string> = { ...ISOLATION_HEADERS, 'Content-Type': types[extname(file)] ?? 'application/octet-stream' }
    if (/\bbr\b/.test(String(req.headers['accept-encoding'])) && existsSync(`${file}.br`)) {
      file = `${file}.br`
      headers['Content-Encoding'] = 'br'
    }
    res.writeHead(200, headers).end(readFileSync(file))
  })
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, origin: `http://127.0.0.1:${(server.address() as { port: number }).port}` })))
}

test('a plain page with the script tag from `assets` and the pack from `catalog` personalizes a category page', async ({ page }) => {
  test.setTimeout(120_000)
  const pub = join(store, 'public')
  needs(join(pub, 'inpage/inpage.iife.js'), 'needs the previous test')
  writeFileSync(
    join(pub, 'index.html'),
    '<!doctype html><meta charset="utf-8"><title>store</title>\n' +
      '<script src="/inpage/inpage.iife.js" data-model="/inpage/models/inpage-general-v1/" data-catalog="/packs/store/" data-consent="granted" data-backend="wasm"></script>\n',
  )
  const { server, origin } = await serve(pub)
  try {
    const elsewhere: string[] = []
    page.on('request', (r) => void (new URL(r.url()).origin !== origin && elsewhere.push(r.url())))
    await page.goto(`${origin}/`)
    await page.waitForFunction(() => 'InPage' in window && (window as unknown as { InPage: { recommender?: unknown } }).InPage.recommender)
    const [glass, glue] = CATEGORIES.map((c) => readItemsFile(join(store, 'data')).filter((r) => categoryKey(r.categories) === c).map((r) => catalogItem(r, 0)))
    const seen = glass!.slice(0, 3)
    const cands: CatalogItem[] = [...glue!.slice(0, 6), ...glass!.slice(3, 9)]
    const out = await page.evaluate(
      async ({ seen, cands }) => {
        const rec = (window as unknown as { InPage: { recommender: import('../src/index').Recommender } }).InPage.recommender
        for (const it of seen) await rec.track({ type: 'purchase', itemId: it.id, item: { title: it.title, category: it.category } })
        await rec.warmUp()
        return rec.rerank(cands as never, { surface: 'category', budgetMs: 60_000 })
      },
      { seen, cands },
    )
    expect(out.why).toBe('personalized')
    expect(out.personalized).toBe(true)
    expect(out.items.map((i) => i.id).sort()).toEqual(cands.map((c) => c.id).sort())
    // The server put the adhesives first; a glassware buyer's order lifts glassware into the top half.
    const glassIds = new Set(glass!.map((g) => g.id))
    expect(out.items.slice(0, 6).filter((i) => glassIds.has(i.id)).length).toBeGreaterThan(0)
    expect(elsewhere).toEqual([])
  } finally {
    server.close()
  }
})

/** The page's shopper and candidates: three glassware purchases, then six adhesives (the server's first) and six glassware items. */
function shopper() {
  const [glass, glue] = CATEGORIES.map((c) => readItemsFile(join(store, 'data')).filter((r) => categoryKey(r.categories) === c).map((r) => catalogItem(r, 0)))
  return { seen: glass!.slice(0, 3), cands: [...glue!.slice(0, 6), ...glass!.slice(3, 9)], glassIds: glass!.map((g) => g.id) }
}
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')

test('<inpage-list> on a plain page: the script tag defines it, and it reorders its items when added', async ({ page }) => {
  test.setTimeout(120_000)
  const pub = join(store, 'public')
  needs(join(pub, 'inpage/inpage.iife.js'), 'needs the install test')
  writeFileSync(
    join(pub, 'list.html'),
    '<!doctype html><meta charset="utf-8"><title>list</title>\n' +
      '<script src="/inpage/inpage.iife.js" data-model="/inpage/models/inpage-general-v1/" data-catalog="/packs/store/" data-consent="granted" data-backend="wasm" data-budget-ms="60000"></script>\n<main></main>\n',
  )
  const { seen, cands, glassIds } = shopper()
  const markup =
    '<inpage-list surface="category">' +
    cands.map((c) => `<div data-inpage-item="${esc(c.id)}" data-title="${esc(c.title)}" data-category="${esc(c.category.join(' > '))}">${esc(c.title)}</div>`).join('') +
    '</inpage-list>'
  const { server, origin } = await serve(pub)
  try {
    await page.goto(`${origin}/list.html`)
    expect(await page.evaluate(() => typeof customElements.get('inpage-list'))).toBe('function')
    const out = await page.evaluate(
      async ({ seen, markup }) => {
        const g = (window as unknown as { InPage: { recommender: import('../src/index').Recommender } }).InPage
        for (const it of seen) await g.recommender.track({ type: 'purchase', itemId: it.id, item: { title: it.title, category: it.category } })
        await g.recommender.warmUp()
        const main = document.querySelector('main')!
        const done = new Promise<{ personalized: boolean }>((ok) => main.addEventListener('inpage:reranked', (e) => ok((e as CustomEvent).detail), { once: true }))
        main.innerHTML = markup
        const detail = await done
        return { personalized: detail.personalized, order: [...main.querySelectorAll('[data-inpage-item]')].map((e) => (e as HTMLElement).dataset.inpageItem!) }
      },
      { seen, markup },
    )
    expect(out.personalized).toBe(true)
    expect(out.order.slice().sort()).toEqual(cands.map((c) => c.id).sort())
    expect(out.order).not.toEqual(cands.map((c) => c.id))
    expect(out.order.slice(0, 6).filter((id) => glassIds.includes(id)).length).toBeGreaterThan(0)
  } finally {
    server.close()
  }
})

test('SSR: every entry imports in plain Node without touching window, document, indexedDB or Worker, and the React adapter renders the server order', () => {
  test.setTimeout(300_000)
  needs(join(store, 'node_modules/inpage/package.json'), 'needs the install test')
  ok(sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...['vite', 'react', 'react-dom', '@types/react'].map((p) => `${p}@${lock[`node_modules/${p}`].version}`)], store))
  const { cands } = shopper()
  writeFileSync(
    join(store, 'ssr.mjs'),
    `const touched = []
for (const name of ['window', 'document', 'indexedDB', 'Worker', 'navigator', 'location', 'self'])
  if (!(name in globalThis)) Object.defineProperty(globalThis, name, { configurable: true, get() { touched.push(name) } })
const entries = ['inpage', 'inpage/react', 'inpage/vite', 'inpage/global']
for (const e of entries) await import(e)
const touchedByImports = [...touched]
const { createElement: h } = await import('react')
const { renderToString } = await import('react-dom/server')
const { useRecommender, useRerank } = await import('inpage/react')
const cands = ${JSON.stringify(cands.map((c) => ({ id: c.id, title: c.title })))}
function List() {
  const recommender = useRecommender({ model: '/inpage/models/inpage-general-v1/', name: 'ssr' })
  const { items, pending } = useRerank(cands, { recommender, surface: 'category' })
  return h('ul', { 'data-pending': String(pending) }, items.map((c) => h('li', { key: c.id, 'data-id': c.id }, c.title)))
}
const html = renderToString(h(List))
console.log(JSON.stringify({ touched: touchedByImports, html, ids: [...html.matchAll(/data-id="([^"]+)"/g)].map((m) => m[1]) }))
`,
  )
  const r = ok(sh(process.execPath, ['ssr.mjs'], store))
  const out = JSON.parse(r.trim().split('\n').find((l) => l.startsWith('{'))!) as { touched: string[]; html: string; ids: string[] }
  expect(out.touched).toEqual([])
  expect(out.ids).toEqual(cands.map((c) => c.id))
  expect(out.html).toContain('data-pending="false"')
})

test('type-level tests for inpage/react and inpage/vite through the exports map', () => {
  needs(join(store, 'node_modules/@types/react/package.json'), 'needs the SSR test')
  const dir = join(store, 'types')
  needs(join(dir, 'tsconfig.adapters.json'), 'needs the type test')
  const tsc = join(REPO, 'node_modules/typescript/bin/tsc')
  ok(sh(process.execPath, [tsc, '-p', join(dir, 'tsconfig.adapters.json')], store))
})

test('a Vite app built with inpage/vite and inpage/react: the server order first, then the personal order, in Chromium', async ({ page }) => {
  test.setTimeout(300_000)
  needs(join(store, 'node_modules/react/package.json'), 'needs the SSR test')
  const app = join(store, 'app')
  mkdirSync(app, { recursive: true })
  writeFileSync(join(app, 'vite.config.js'), "import { inpage } from 'inpage/vite'\nexport default { plugins: [inpage()], logLevel: 'warn' }\n")
  writeFileSync(join(app, 'index.html'), '<!doctype html><meta charset="utf-8"><title>app</title><div id="root"></div><script type="module" src="/main.js"></script>\n')
  writeFileSync(
    join(app, 'main.js'),
    `import { createElement as h, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { useRecommender, useRerank } from 'inpage/react'
const options = { model: '/inpage/models/inpage-general-v1/', wasmPaths: '/inpage/ort/', catalog: '/packs/store/', consent: 'granted', backend: 'wasm', name: 'react-app' }
// Three components ask for the same recommender: one worker serves them all.
function Tracker() {
  const recommender = useRecommender(options)
  window.appRec = recommender
  return h('p', null, recommender ? 'ready' : 'starting')
}
function List({ cands, label }) {
  const recommender = useRecommender(options)
  const { items, result } = useRerank(cands, { recommender, surface: 'category', budgetMs: 60000 })
  window.renders[label] ??= []
  window.renders[label].push(items.map((c) => c.id))
  return h('ul', { 'data-label': label, 'data-why': result ? result.why : 'none' }, items.map((c) => h('li', { key: c.id, 'data-id': c.id }, c.title)))
}
function App() {
  const [cands, setCands] = useState(null)
  window.show = setCands
  return h('div', null, h(Tracker), cands && h(List, { cands, label: 'a' }), cands && h(List, { cands: cands.slice(), label: 'b' }))
}
window.renders = {}
const root = createRoot(document.getElementById('root'))
root.render(h(App))
window.unmount = () => root.unmount()
`,
  )
  ok(sh('npx', ['--no', '--', 'vite', 'build'], app))
  expect(existsSync(join(app, 'dist/inpage/models/inpage-general-v1/encoder.int8.onnx.br'))).toBe(true)
  expect(readdirSync(join(app, 'dist/assets')).some((f) => f.startsWith('inpage.worker'))).toBe(true)
  const { seen, cands, glassIds } = shopper()
  const { server, origin } = await serve(join(app, 'dist'), join(store, 'public'))
  try {
    const workers: import('@playwright/test').Worker[] = []
    page.on('worker', (w) => void (w.url().includes('inpage.worker') && workers.push(w)))
    await page.goto(`${origin}/`)
    await page.waitForFunction(() => document.querySelector('p')?.textContent === 'ready')
    await page.evaluate(async (seen) => {
      const rec = (window as unknown as { appRec: import('../src/index').Recommender }).appRec
      for (const it of seen) await rec.track({ type: 'purchase', itemId: it.id, item: { title: it.title, category: it.category } })
      await rec.warmUp()
    }, seen)
    await page.evaluate((cands) => (window as unknown as { show: (c: unknown) => void }).show(cands), cands)
    await page.waitForSelector('ul[data-label="a"][data-why="personalized"]', { timeout: 60_000 })
    await page.waitForSelector('ul[data-label="b"][data-why="personalized"]', { timeout: 60_000 })
    const renders = await page.evaluate(() => (window as unknown as { renders: Record<string, string[][]> }).renders)
    const order = await page.$$eval('ul[data-label="a"] li', (els) => els.map((e) => (e as HTMLElement).dataset.id!))
    // The server's order renders first, then the personal one: the same items, moved.
    expect(renders.a![0]).toEqual(cands.map((c) => c.id))
    expect(await page.$$eval('ul[data-label="b"] li', (els) => els.map((e) => (e as HTMLElement).dataset.id!))).toEqual(order)
    expect(workers.length).toBe(1)
    // The last component unmounted disposes the shared recommender: its worker ends.
    const closed = new Promise<void>((ok) => workers[0]!.once('close', () => ok()))
    await page.evaluate(() => (window as unknown as { unmount: () => void }).unmount())
    await closed
    expect(order.slice().sort()).toEqual(cands.map((c) => c.id).sort())
    expect(order).not.toEqual(cands.map((c) => c.id))
    expect(order.slice(0, 6).filter((id) => glassIds.includes(id)).length).toBeGreaterThan(0)
  } finally {
    server.close()
  }
})

test('inpage/vite in dev: the app and the assets with COOP/COEP, the model as brotli', () => {
  test.setTimeout(120_000)
  const app = join(store, 'app')
  needs(join(app, 'vite.config.js'), 'needs the Vite app test')
  writeFileSync(
    join(app, 'dev.mjs'),
    `import { createServer } from 'vite'
const server = await createServer({ configFile: 'vite.config.js', logLevel: 'silent', server: { port: 0, host: '127.0.0.1' } })
await server.listen()
const origin = server.resolvedUrls.local[0].replace(/\\/$/, '')
const get = async (path, enc) => {
  const r = await fetch(origin + path, { headers: { 'accept-encoding': enc } })
  const body = new TextDecoder().decode(await r.arrayBuffer())
  return { body: body.slice(0, 200), status: r.status, coop: r.headers.get('cross-origin-opener-policy'), coep: r.headers.get('cross-origin-embedder-policy'), encoding: r.headers.get('content-encoding') }
}
const out = { page: await get('/', 'identity'), manifest: await get('/inpage/models/inpage-general-v1/manifest.json', 'identity'), encoder: await get('/inpage/models/inpage-general-v1/encoder.int8.onnx', 'br'), traversal: await get('/inpage/..%2f..%2f..%2f..%2fpackage.json', 'identity') }
await server.close()
console.log(JSON.stringify(out))
`,
  )
  const r = ok(sh(process.execPath, ['dev.mjs'], app))
  const out = JSON.parse(r.trim().split('\n').find((l) => l.startsWith('{'))!) as Record<string, { status: number; coop: string; coep: string; encoding: string | null }>
  for (const k of ['page', 'manifest', 'encoder']) {
    expect(out[k]!.status, k).toBe(200)
    expect(out[k]!.coop, k).toBe('same-origin')
    expect(out[k]!.coep, k).toBe('require-corp')
  }
  expect(out.encoder!.encoding).toBe('br')
  // Vite may answer its own way (a 403, or the app's index.html), never with a file outside the assets folder.
  expect((out.traversal as unknown as { body: string }).body).not.toContain('a-store')
})
