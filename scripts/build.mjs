// Builds the library as users load it: dist/inpage.js (ESM) + types, dist/inpage.iife.js
// (script tag, global InPage), dist/inpage.worker.js (the engine, its own file, loaded by URL)
// and dist/ort/ (onnxruntime-web's wasm, to self-host).
import { build } from 'vite'
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, rmSync } from 'node:fs'
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
await lib('src/script-tag.ts', ['iife'], 'inpage.iife.js')
await lib('workers/engine.ts', ['es'], 'inpage.worker.js', {
  build: { rollupOptions: { output: { codeSplitting: false } } },
})
mkdirSync(`${dist}/ort`, { recursive: true })
// One ORT build only: the asyncify wasm runs both the WebGPU and the WASM execution providers.
copyFileSync(`${root}node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm`, `${dist}/ort/ort-wasm-simd-threaded.asyncify.wasm`)
execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' })
console.log('built dist/')
