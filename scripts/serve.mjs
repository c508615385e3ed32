// A plain static server for e2e, bench and the script-tag page: serves the *built* files the way a
// store would host them, with the cross-origin isolation headers ORT's threads need.
//   /dist/*       the built library       /models/*   public/models (the shipped model)
//   /consumer/*   e2e/consumer/dist       /*          e2e/pages
//   /packs/*      e2e/.packs (catalog packs built by e2e/global-setup.ts)
//   /vendor/*     comlink's ESM build, for pages that talk to the worker directly (parity checks)
//   /vendor-transformers/*, /bench-tmp/*   transformers.js and its model layout, for the bench's naive baseline
// A page named *.csp.html gets the strict CSP the README documents (both header sets: scripts/headers.mjs).
// For engines whose traffic a driver cannot see (the cross-engine suite, e2e/engines.spec.ts):
//   /csp/<path>        <path> with the strict CSP on every response (page, library, worker, ORT files)
//   /tampered/<path>   <path> with one byte of each .onnx file flipped (a corrupted model download)
//   /static/<path>     <path> without Cache-Control (Last-Modified only): heuristic freshness, as plain servers give
//   /cached/<path>     <path> with a one-year immutable Cache-Control (not manifest.json, pack.json): the bench's
//                      cached visit as a store serving versioned files would see it
//   GET /__requests    every request served so far (method, path, headers, body bytes, CSP sent), as JSON;
//                      not itself logged
// With INPAGE_TLS_DIR (a folder holding key.pem and cert.pem) it speaks HTTP/2 over TLS, as a store's CDN does:
// the bench's first visit measures a page's many small pack files both ways (HTTP/1.1 opens six connections).
// A file with a precompressed copy (`.br`, `.gz`, written by the build) is sent as that copy with
// Content-Encoding when the request accepts it, as a CDN or nginx's brotli_static would.
import { createServer } from 'node:http'
import { createSecureServer } from 'node:http2'
import { createReadStream, readFileSync, statSync } from 'node:fs'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ISOLATION_HEADERS, STRICT_CSP } from './headers.mjs'
import { pickEncoding } from './precompress.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const port = Number(process.env.PORT ?? 4173)
const mounts = [
  ['/dist/', 'dist'],
  ['/models/', 'public/models'],
  ['/consumer/', 'e2e/consumer/dist'],
  ['/fixtures/', 'e2e/fixtures'],
  ['/packs/', 'e2e/.packs'],
  ['/vendor/', 'node_modules/comlink/dist/esm'],
  ['/vendor-transformers/', 'node_modules/@huggingface/transformers/dist'],
  ['/bench-tmp/', 'bench/tmp'],
  ['/', 'e2e/pages'],
]
const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.map': 'application/json',
  '.json': 'application/json', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream', '.bin': 'application/octet-stream',
  '.css': 'text/css', '.svg': 'image/svg+xml', '.md': 'text/markdown',
}
export function resolvePath(urlPath) {
  const path = decodeURIComponent(urlPath.split('?')[0])
  for (const [prefix, dir] of mounts) {
    if (!path.startsWith(prefix)) continue
    const rel = normalize(path.slice(prefix.length)).replace(/^(\.\.(\/|$))+/, '')
    let file = join(root, dir, rel)
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html')
      statSync(file)
      return file
    } catch {
      return undefined
    }
  }
}

/** Every request served, in order, for specs that count requests at the server (GET /__requests). */
const requests = []

function handle(req, res) {
  let url = req.url ?? '/'
  if (url === '/__requests') {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(requests))
    return
  }
  const entry = { method: req.method, url, headers: req.headers, bodyBytes: 0, csp: false }
  requests.push(entry)
  req.on('data', (chunk) => (entry.bodyBytes += chunk.length))
  // /plain/<path> serves <path> without the isolation headers: a site that is not cross-origin isolated.
  // /cached/<path> serves <path> as a store would serve versioned static files (one year, immutable), except
  // the files that name the current version (manifest.json, pack.json): what the bench's cached visit compares.
  // /static/<path> serves <path> with no Cache-Control at all, as many plain static servers do: the browser then
  // keeps it fresh by heuristics (Last-Modified), unless the request itself asks the server.
  const prefix = /^\/(plain|csp|tampered|cached|static)\//.exec(url)?.[1]
  if (prefix) url = url.slice(prefix.length + 1)
  const file = resolvePath(url)
  const cache = prefix === 'cached' && !/\/(manifest|pack)\.json$/.test(url) ? 'public, max-age=31536000, immutable' : 'no-cache'
  const headers = prefix === 'plain'
    ? { 'Cache-Control': cache }
    : prefix === 'static'
      ? { ...ISOLATION_HEADERS }
      : { ...ISOLATION_HEADERS, 'Cache-Control': cache }
  if (!file) {
    res.writeHead(404, headers).end('not found')
    return
  }
  if (file.endsWith('.csp.html') || prefix === 'csp') headers['Content-Security-Policy'] = STRICT_CSP
  entry.csp = 'Content-Security-Policy' in headers
  const type = { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' }
  if (prefix === 'tampered' && file.endsWith('.onnx')) {
    const body = readFileSync(file)
    body[body.length >> 1] ^= 0xff // same size, wrong sha256
    res.writeHead(200, { ...headers, ...type, 'Content-Length': body.length }).end(req.method === 'HEAD' ? undefined : body)
    return
  }
  // The model folders' precompressed copies live under dist/models/ (scripts/build.mjs).
  const models = join(root, 'public/models')
  const sent = pickEncoding(file, req.headers['accept-encoding'], file.startsWith(models) ? join(root, 'dist/models', file.slice(models.length)) : file)
  if (sent.encoding) headers['Content-Encoding'] = sent.encoding
  // Revalidation as any static server answers it: an unchanged file is a 304, not its bytes again.
  const modified = statSync(file).mtime
  modified.setMilliseconds(0)
  headers['Last-Modified'] = modified.toUTCString()
  const since = Date.parse(req.headers['if-modified-since'] ?? '')
  if (since >= modified.getTime()) return res.writeHead(304, { ...headers, Vary: 'Accept-Encoding' }).end()
  const size = statSync(sent.file).size
  res.writeHead(200, { ...headers, ...type, 'Content-Length': size, Vary: 'Accept-Encoding' })
  if (req.method === 'HEAD') return res.end()
  createReadStream(sent.file).pipe(res)
}
const tls = process.env.INPAGE_TLS_DIR
const server = tls
  ? createSecureServer({ key: readFileSync(join(tls, 'key.pem')), cert: readFileSync(join(tls, 'cert.pem')), allowHTTP1: true }, handle)
  : createServer(handle)
server.listen(port, '127.0.0.1', () => console.log(`inpage static server on ${tls ? 'https (HTTP/2)' : 'http'}://127.0.0.1:${port}`))
