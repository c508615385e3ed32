// Precompressed copies of large static files (`<file>.br`, `<file>.gz`), written by the build (beside dist's
// files; the model folders' under dist/models/), and the choice of which one to send for a request's Accept-Encoding. Plain JS, shared by
// scripts/serve.mjs (e2e, bench) and the demo's Vite config. Brotli at quality 11 takes ~30 s for a
// 14 MB wasm on this machine, so outputs are kept in node_modules/.cache keyed by the source's sha256.
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { brotliCompress, constants, gzip } from 'node:zlib'
import { dirname, join } from 'node:path'

/** Files worth compressing: the library's JS, ORT's wasm and glue, model files. */
const COMPRESSIBLE = /\.(js|mjs|wasm|onnx|bin|json)$/
/** Below this the headers cost more than compression saves. */
const MIN_BYTES = 1024

const br = promisify(brotliCompress)
const gz = promisify(gzip)

/**
 * Writes `.br` and `.gz` copies of every compressible file under `dir`: beside each file, or under `outDir` at the
 * same relative path (a model folder whose manifest lists every file in it keeps its copies elsewhere).
 */
export async function precompressDir(dir, cacheDir, outDir = dir) {
  mkdirSync(cacheDir, { recursive: true })
  const rels = readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => COMPRESSIBLE.test(f) && statSync(join(dir, f)).isFile() && statSync(join(dir, f)).size >= MIN_BYTES)
  // zlib's async calls run on libuv's pool: the files compress side by side.
  await Promise.all(rels.map((f) => precompressFile(join(dir, f), cacheDir, join(outDir, f))))
  return rels.map((f) => join(dir, f))
}

async function precompressFile(file, cacheDir, out) {
  const bytes = readFileSync(file)
  const key = createHash('sha256').update(bytes).digest('hex')
  for (const [ext, make] of [
    ['br', () => br(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_LGWIN]: 24, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } })],
    ['gz', () => gz(bytes, { level: 9 })],
  ]) {
    const cached = join(cacheDir, `${key}.${ext}`)
    if (!existsSync(cached)) {
      writeFileSync(`${cached}.tmp`, await make())
      renameSync(`${cached}.tmp`, cached) // a build stopped halfway leaves no truncated entry
    }
    mkdirSync(dirname(out), { recursive: true })
    copyFileSync(cached, `${out}.${ext}`)
  }
}

/**
 * The file to send for `file` given the request's Accept-Encoding: its `.br` or `.gz` copy (at `copy` + the
 * extension; default beside it) when the client takes it and the copy is not older than the file (a retrained
 * model must never be served stale), else the file.
 */
export function pickEncoding(file, acceptEncoding = '', copy = file) {
  const accepts = (enc) =>
    acceptEncoding.split(',').some((part) => {
      const [name, ...params] = part.split(';').map((x) => x.trim())
      const q = params.find((x) => x.startsWith('q='))
      return name === enc && (!q || Number(q.slice(2)) > 0)
    })
  const mtime = statSync(file).mtimeMs
  for (const [enc, ext] of [['br', 'br'], ['gzip', 'gz']]) {
    if (!accepts(enc)) continue
    try {
      if (statSync(`${copy}.${ext}`).mtimeMs >= mtime) return { file: `${copy}.${ext}`, encoding: enc }
    } catch {
      /* no precompressed copy */
    }
  }
  return { file, encoding: undefined }
}
