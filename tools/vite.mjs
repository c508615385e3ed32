// `inpage/vite`: a Vite plugin that serves inpage's assets in dev and emits them at build, so an app needs no
// `npx inpage assets` step. In dev it writes them once into node_modules/.cache/inpage-assets/ (the same files as
// `assets`) and serves them under `base` with their `.br` copies; every response (dev and preview) gets the
// cross-origin isolation headers. At build they are written into the output folder under `base`.
import { createReadStream, existsSync, statSync } from 'node:fs'
import { join, normalize, resolve } from 'node:path'
import { writeAssets } from '../bin/assets.mjs'
import { GENERAL_MODEL } from '../bin/model.mjs'
import { ISOLATION_HEADERS } from '../scripts/headers.mjs'

export class InPagePluginError extends Error {
  name = 'InPagePluginError'
}

const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.onnx': 'application/octet-stream', '.md': 'text/markdown' }

/** The URL path the assets are served at: '/inpage/' by default; a path of plain segments ending in '/'. */
function checkBase(base) {
  if (typeof base !== 'string' || !/^\/([\w-]+\/)*$/.test(base)) throw new InPagePluginError(`base is a URL path of plain segments ending in "/", like "/inpage/"; got ${JSON.stringify(base)}`)
  return base
}

/** Serves `dir` under `base`: the `.br` copy with Content-Encoding when the request accepts br; nothing outside `dir`. */
export function serveAssets(dir, base) {
  return (req, res, next) => {
    const path = (req.url ?? '').split('?')[0]
    if (!path.startsWith(base)) return next()
    let rel
    try {
      rel = normalize(decodeURIComponent(path.slice(base.length)))
    } catch {
      return next()
    }
    const file = join(dir, rel)
    if (rel.startsWith('..') || !file.startsWith(dir) || rel.endsWith('.br') || !existsSync(file) || !statSync(file).isFile()) return next()
    const ext = /\.[^.]+$/.exec(file)?.[0] ?? ''
    res.setHeader('Content-Type', TYPES[ext] ?? 'application/octet-stream')
    res.setHeader('Vary', 'Accept-Encoding')
    let sent = file
    if (/\bbr\b/.test(String(req.headers['accept-encoding'] ?? '')) && existsSync(`${file}.br`)) {
      sent = `${file}.br`
      res.setHeader('Content-Encoding', 'br')
    }
    res.setHeader('Content-Length', String(statSync(sent).size))
    createReadStream(sent).pipe(res)
  }
}

/**
 * @param {{ base?: string }} [options] base: where the assets are served (default '/inpage/'): the model at
 *   `${base}models/inpage-general-v1/`, ORT's files at `${base}ort/`, the script tag at `${base}inpage.iife.js`.
 */
export function inpage(options = {}) {
  const base = checkBase(options.base ?? '/inpage/')
  let root = process.cwd()
  let outDir = 'dist'
  const isolate = (_req, res, next) => {
    for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v)
    next()
  }
  return {
    name: 'inpage',
    configResolved(config) {
      root = config.root
      outDir = resolve(config.root, config.build.outDir)
    },
    configureServer(server) {
      const dir = resolve(root, 'node_modules/.cache/inpage-assets')
      writeAssets(dir)
      server.middlewares.use(isolate)
      server.middlewares.use(serveAssets(dir, base))
    },
    configurePreviewServer(server) {
      server.middlewares.use(isolate)
    },
    writeBundle() {
      writeAssets(join(outDir, base))
    },
  }
}

/** The URLs to pass to createRecommender for assets served at `base`. */
export function inpageUrls(base = '/inpage/') {
  checkBase(base)
  return { model: `${base}models/${GENERAL_MODEL}/`, wasmPaths: `${base}ort/` }
}

export default inpage
