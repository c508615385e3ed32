// The demo storefront: a plain TS + DOM app that imports the *built* library as a store would
// (`inpage` → this repository's package, i.e. dist/), beside a small non-personalized store server.
//   /            the storefront (demo/index.html)
//   /api/*       the store servers (demo/store-server.ts): one per store, categories, search, shoppers, uploads
//   /packs/*     each store's catalog pack, built by the store server at start (demo/packs.ts)
//   /models/*    the shipped model (public/models), precompressed copies when the browser takes them
//   /ort/*       onnxruntime-web's wasm files (dist/ort), passed to the library as wasmPaths; likewise
// INPAGE_DATA moves the data folder (default ../shared/data beside this repository).
import { defineConfig } from 'vite'
import { createReadStream, statSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ISOLATION_HEADERS as isolation } from '../scripts/headers.mjs'
import { pickEncoding } from '../scripts/precompress.mjs'
import { dataRoot } from '../node/data.js'
import { storeServer } from './store-server.js'

const repo = fileURLToPath(new URL('..', import.meta.url))
const dataDir = dataRoot(repo)

/**
 * Serves dist/ort/* at /ort/ untouched (Vite must not transform ORT's glue module) and the model files at
 * /models/, each as its precompressed copy (`.br`, `.gz`, written by the build) with Content-Encoding when
 * the browser accepts it, as a store's CDN would; anything else falls through to Vite.
 */
function precompressedFiles(req: IncomingMessage, res: ServerResponse, next: () => void) {
  const path = decodeURIComponent((req.url ?? '').split('?')[0]!)
  const file = path.startsWith('/ort/')
    ? resolve(repo, 'dist/ort', basename(path))
    : path.startsWith('/models/') && !path.includes('..')
      ? resolve(repo, 'public', path.slice(1))
      : undefined
  if (!file) return next()
  let sent: { file: string; encoding?: string }
  let size: number
  try {
    if (!statSync(file).isFile()) return next()
    // The model folders' precompressed copies live under dist/models/ (scripts/build.mjs).
    sent = pickEncoding(file, req.headers['accept-encoding'], path.startsWith('/models/') ? resolve(repo, 'dist', path.slice(1)) : file)
    size = statSync(sent.file).size
  } catch {
    return next()
  }
  res.writeHead(200, {
    ...isolation,
    'Content-Type': file.endsWith('.wasm') ? 'application/wasm' : file.endsWith('.mjs') ? 'text/javascript' : file.endsWith('.json') ? 'application/json' : 'application/octet-stream',
    'Content-Length': size,
    Vary: 'Accept-Encoding',
    ...(sent.encoding ? { 'Content-Encoding': sent.encoding } : {}),
  })
  // `npm run build` may delete dist/ while a file streams: end that response, keep the server up.
  createReadStream(sent.file)
    .on('error', () => res.destroy())
    .pipe(res)
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  publicDir: resolve(repo, 'public'),
  resolve: { alias: { inpage: repo } },
  optimizeDeps: { exclude: ['inpage'] },
  server: { headers: isolation, port: 5173, strictPort: true, fs: { allow: [repo] } },
  preview: { headers: isolation, port: 5173, strictPort: true },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  worker: { format: 'es' },
  plugins: [
    storeServer(dataDir),
    {
      name: 'inpage-demo-ort',
      configureServer: (server) => void server.middlewares.use(precompressedFiles),
      configurePreviewServer: (server) => void server.middlewares.use(precompressedFiles),
    },
  ],
})
