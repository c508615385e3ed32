// Builds the library as users load it: dist/inpage.js (ESM) + types, dist/inpage.iife.js
// (script tag, global InPage), dist/inpage.worker.js (the engine, its own file, loaded by URL)
// and dist/ort/ (onnxruntime-web's two wasm builds, to self-host), then `.br`/`.gz` copies of the large files
// (beside dist's files; public/models' under dist/models/) for servers that send precompressed files.
import { build } from 'vite'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { precompressDir } from './precompress.mjs'
import { buildCli } from './build-cli.mjs'
import { fixDeclarationSpecifiers } from './build-types.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const dist = `${root}dist`
rmSync(dist, { recursive: true, force: true })

const common = { root, configFile: false, logLevel: 'warn', publicDir: false }
const lib = (entry, formats, fileName, extra = {}) =>
  build({
    ...common,
    ...extra,
    build: {
      outDir: dist,
      emptyOutDir: false,
      target: 'es2022',
      minify: true,
      // Maps for debugging here, without a sourceMappingURL comment: the package does not carry them.
      sourcemap: 'hidden',
      lib: { entry: `${root}${entry}`, formats, fileName: () => fileName, name: 'InPage' },
      ...extra.build,
    },
  })

// Vite keeps an ES library's whitespace (codegen off, for readers of node_modules); the first visit pays
// for every byte of the main entry, so it is written minified like the IIFE (pure annotations are kept).
const minifiedEs = { build: { rolldownOptions: { output: { minify: { codegen: true } } } } }
await lib('src/index.ts', ['es'], 'inpage.js', minifiedEs)
// inpage/consent: the consent-platform adapters, their own file so the main entry grows by nothing.
await lib('src/consent/index.ts', ['es'], 'inpage-consent.js', minifiedEs)
// Vite needed @vite-ignore to leave the worker URL alone; a consuming bundler must see the plain
// `new URL('./inpage.worker.js', import.meta.url)` to emit the worker, so blank the comment out
// (same length, so the source map stays right).
const esm = `${dist}/inpage.js`
writeFileSync(esm, readFileSync(esm, 'utf8').replace(/\/\* @vite-ignore \*\//g, (m) => ' '.repeat(m.length)))
// inpage/react: the hooks only; React and the main entry (./inpage.js, so an app that imports both gets one
// copy of the library) stay external.
const recommenderSrc = `${root}src/recommender.ts`
await lib('src/react.ts', ['es'], 'react.js', {
  build: { rollupOptions: { external: (id) => id === 'react' || id.startsWith('react/') || id === recommenderSrc, output: { paths: { [recommenderSrc]: './inpage.js' } } } },
})
// Classic scripts have no import.meta: the IIFE finds its worker through document.currentScript.
await lib('src/embed/script-tag.ts', ['iife'], 'inpage.iife.js', { define: { 'import.meta.url': 'self.location.href' } })
// Two ORT wasm builds, one JS: the plain SIMD-threaded build (14 MB, 2.3 MB brotli) runs the WASM
// execution provider; the asyncify build (27 MB) is fetched only when a WebGPU session is made. The
// worker checks each against the sha256 recorded here before ORT sees it.
const ortDir = `${root}node_modules/onnxruntime-web/dist`
const ortFile = (wasm, glue) => {
  const bytes = readFileSync(`${ortDir}/${wasm}`)
  return { wasm, glue, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }
}
const ortFiles = {
  version: JSON.parse(readFileSync(`${root}node_modules/onnxruntime-web/package.json`, 'utf8')).version,
  wasm: ortFile('ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.mjs'),
  webgpu: ortFile('ort-wasm-simd-threaded.asyncify.wasm', 'ort-wasm-simd-threaded.asyncify.mjs'),
}
/**
 * ORT's glue, with Emscripten's instantiateWasm hook added to the factory ORT calls: the glue then instantiates
 * the module the worker compiled while it downloaded and checked the bytes (workers/runtime.ts sets the hook
 * under this key). One file, so a visit waits on no extra request; its thread workers load the same file
 * (import.meta.url), run the glue's own start and get the module by message.
 */
function hookedGlue(source, file) {
  const marker = 'export default ortWasmThreaded;'
  if (source.split(marker).length !== 2) throw new Error(`${file}: expected one "${marker}" (onnxruntime-web changed its glue)`)
  return source.replace(
    marker,
    `export default (config = {}) => ortWasmThreaded(Object.assign(config, { instantiateWasm: globalThis[Symbol.for('inpage.instantiateWasm')] })); /* inpage: instantiateWasm hook */`,
  )
}
await lib('workers/engine.ts', ['es'], 'inpage.worker.js', {
  // ORT's "extern wasm" build loads its wasm glue from wasmPaths at run time instead of inlining
  // 27 MB of base64 into the worker; the worker fetches the wasm binary itself (verified, cached).
  resolve: { conditions: ['onnxruntime-web-use-extern-wasm', 'module', 'browser', 'import', 'default'] },
  define: { __INPAGE_ORT__: JSON.stringify(ortFiles) },
  build: { assetsInlineLimit: 0, rollupOptions: { output: { codeSplitting: false } } },
})
mkdirSync(`${dist}/ort`, { recursive: true })
for (const { wasm, glue } of [ortFiles.wasm, ortFiles.webgpu]) {
  copyFileSync(`${ortDir}/${wasm}`, `${dist}/ort/${wasm}`)
  writeFileSync(`${dist}/ort/${glue}`, hookedGlue(readFileSync(`${ortDir}/${glue}`, 'utf8'), glue))
}
execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' })
fixDeclarationSpecifiers(`${dist}/types`)
// `inpage/global` is types only (src/embed/global.ts: window.InPage); its import resolves to an empty module.
writeFileSync(`${dist}/global.js`, '// Types only: see dist/types/src/embed/global.d.ts (window.InPage).\nexport {}\n')
// `.br` / `.gz` beside the large files a browser fetches: served with Content-Encoding by
// scripts/serve.mjs and the demo (README: "Precompressed files"); cached by content, so only new bytes are compressed.
const cacheDir = `${root}node_modules/.cache/inpage-precompressed`
const t0 = Date.now()
// The model folders' copies go to dist/models/: training lists every file of public/models/<name> in its manifest.
const n = (await precompressDir(dist, cacheDir)).length + (await precompressDir(`${root}public/models`, cacheDir, `${dist}/models`)).length
// After the precompressed copies: the CLI runs in Node, nothing serves it.
await buildCli(root, dist)
console.log(`built dist/; ${n} files precompressed (.br, .gz) in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
