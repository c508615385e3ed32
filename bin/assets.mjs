// `npx inpage assets <dir> [--base /url/]`: writes what a site serves into <dir>: the library (ESM and
// script tag), the worker, ORT's files (ort/) and the general model (models/inpage-general-v1/), each with a
// brotli copy (`<file>.br`) for servers that send precompressed files; then prints the tag, the import and
// the headers to set. Large files come out of the package's brotli copies; nothing is fetched.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib'
import { ISOLATION_HEADERS } from '../scripts/headers.mjs'
import { GENERAL_MODEL, packagedModelFiles } from './model.mjs'
import { UsageError } from './usage.mjs'

const pkg = fileURLToPath(new URL('..', import.meta.url))

export const ASSETS_USAGE = `usage: npx inpage assets <dir> [--base /url/of/dir/]
  writes inpage.js, inpage.iife.js, inpage.worker.js, ort/ and models/${GENERAL_MODEL}/ (each with a .br copy) into <dir>
  --base: the URL path <dir> is served at, for the printed tag (default /<dir's name>/)`

export class AssetsError extends Error {
  name = 'AssetsError'
}

const COMPRESSIBLE = /\.(js|mjs|wasm|onnx|bin|json)$/
const brotli = (bytes) =>
  brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_LGWIN]: 24, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } })

/** A folder we write into: made if missing, refused if it is anything but a real directory (a link could point anywhere). */
function ensureDir(dir) {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true })
  const st = lstatSync(dir)
  if (st.isSymbolicLink() || !st.isDirectory()) throw new AssetsError(`${dir} is not a directory (a symbolic link or a file is refused)`)
}

/** Writes beside and renames into place: a symbolic link at `file` is replaced, never followed. */
function put(file, bytes) {
  const tmp = `${file}.inpage-tmp-${process.pid}`
  rmSync(tmp, { force: true })
  writeFileSync(tmp, bytes, { flag: 'wx' })
  renameSync(tmp, file)
}

/** Writes `name` and, when it is worth it, `name.br` (the package's own copy when it has one). */
function emit(dir, name, bytes, br) {
  put(join(dir, name), bytes)
  if (br || (COMPRESSIBLE.test(name) && bytes.length >= 1024)) put(join(dir, `${name}.br`), br ?? brotli(bytes))
}

/**
 * Writes the site's files into `out` (made if missing): the library, the worker, ort/ and the general model,
 * each large one with a `.br` copy. Refuses a symbolic link or a file where a folder goes, before writing
 * anything. Used by `npx inpage assets` and by the Vite plugin (tools/vite.mjs).
 */
export function writeAssets(out) {
  // Every folder is checked before anything is read or written.
  const ort = join(out, 'ort')
  const model = join(out, 'models', GENERAL_MODEL)
  for (const d of [out, ort, join(out, 'models'), model]) ensureDir(d)
  let files = 0
  let bytes = 0
  const count = (n) => ((files += 1), (bytes += n))
  for (const f of ['inpage.js', 'inpage.iife.js', 'inpage.worker.js']) {
    const b = readFileSync(`${pkg}dist/${f}`)
    emit(out, f, b)
    count(b.length)
  }
  for (const f of readdirSync(`${pkg}dist/ort`).sort()) {
    if (f.endsWith('.mjs')) {
      const b = readFileSync(`${pkg}dist/ort/${f}`)
      emit(ort, f, b)
      count(b.length)
    } else if (f.endsWith('.wasm.br')) {
      const br = readFileSync(`${pkg}dist/ort/${f}`)
      const b = brotliDecompressSync(br)
      emit(ort, f.slice(0, -3), b, br)
      count(b.length)
    }
  }
  for (const [f, b] of packagedModelFiles()) {
    const br = `${pkg}dist/models/${GENERAL_MODEL}/${f}.br`
    emit(model, f, b, existsSync(br) ? readFileSync(br) : undefined)
    count(b.length)
  }
  return { files, bytes }
}

export async function assets(argv) {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: { base: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true })
  } catch (e) {
    throw new UsageError(`${e.message}\n${ASSETS_USAGE}`)
  }
  if (parsed.values.help) return console.log(ASSETS_USAGE)
  if (parsed.positionals.length !== 1) throw new UsageError(`assets takes one folder\n${ASSETS_USAGE}`)
  const out = resolve(parsed.positionals[0])
  const base = parsed.values.base ?? `/${basename(out)}/`
  if (!/^(\/|https:\/\/)[\w\-./~%:]*\/$/.test(base) || base.includes('..'))
    throw new UsageError(`--base is a URL path (or https URL) ending in /, got ${JSON.stringify(base)}\n${ASSETS_USAGE}`)

  const { files, bytes } = writeAssets(out)
  const headers = Object.entries(ISOLATION_HEADERS).map(([k, v]) => `  ${k}: ${v}`).join('\n')
  console.log(`inpage assets: wrote ${files} files (${(bytes / 1e6).toFixed(1)} MB, each large one with a .br copy) to ${out}

Script tag (no build step):
  <script src="${base}inpage.iife.js" data-model="${base}models/${GENERAL_MODEL}/" data-catalog="/packs/my-store/"></script>

Or, with a bundler (import 'inpage'; it emits the worker itself):
  createRecommender({ model: '${base}models/${GENERAL_MODEL}/', wasmPaths: '${base}ort/', catalog: '/packs/my-store/' })

Headers for the pages (cross-origin isolation: ORT's threads):
${headers}
Send each <file>.br as <file> with Content-Encoding: br when the request accepts br (nginx: brotli_static on).`)
}
