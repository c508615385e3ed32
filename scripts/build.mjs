// Builds the library as users load it: dist/inpage.js (ESM) + types, dist/inpage.iife.js
// (script tag, global InPage), dist/inpage.worker.js (the engine, its own file, loaded by URL)
// and dist/ort/ (onnxruntime-web's wasm, to self-host).
import { build } from 'vite'
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

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
      sourcemap: true,
      lib: { entry: `${root}${entry}`, formats, fileName: () => fileName, name: 'InPage' },
      ...extra.build,
    },
  })

await lib('src/index.ts', ['es'], 'inpage.js')
// Vite needed @vite-ignore to leave the worker URL alone; a consuming bundler must see the plain
// `new URL('./inpage.worker.js', import.meta.url)` to emit the worker, so blank the comment out
// (same length, so the source map stays right).
const esm = `${dist}/inpage.js`
writeFileSync(esm, readFileSync(esm, 'utf8').replace(/\/\* @vite-ignore \*\//g, (m) => ' '.repeat(m.length)))
// Classic scripts have no import.meta: the IIFE finds its worker through document.currentScript.
await lib('src/script-tag.ts', ['iife'], 'inpage.iife.js', { define: { 'import.meta.url': 'self.location.href' } })
await lib('workers/engine.ts', ['es'], 'inpage.worker.js', {
  // ORT's "extern wasm" build loads its wasm glue and binary from wasmPaths at run time instead of
  // inlining 27 MB of base64 into the worker.
  resolve: { conditions: ['onnxruntime-web-use-extern-wasm', 'module', 'browser', 'import', 'default'] },
  build: { assetsInlineLimit: 0, rollupOptions: { output: { codeSplitting: false } } },
})
mkdirSync(`${dist}/ort`, { recursive: true })
// One ORT build only: the asyncify wasm runs both the WebGPU and the WASM execution providers.
for (const f of ['ort-wasm-simd-threaded.asyncify.wasm', 'ort-wasm-simd-threaded.asyncify.mjs'])
  copyFileSync(`${root}node_modules/onnxruntime-web/dist/${f}`, `${dist}/ort/${f}`)
execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' })
console.log('built dist/')
