// Fetches the model's files with progress, checks each against the manifest's sha256 before any
// session exists, and keeps them in the Cache API under the model's version, so a reload fetches
// nothing but the manifest and a new version replaces the old entries.

import { InPageError } from '../src/core/errors'
import { MODEL_CACHE_PREFIX as CACHE_PREFIX } from '../src/storage/erase'
import { checkManifest, type Manifest } from '../src/model/manifest'
import { checkFile } from '../src/model/files'

import type { Progress } from '../src/protocol/engine'

/**
 * fetch() that answers only with a 2xx response: an HTTP error, or no network at all (where `offline` has no
 * copy to give instead), is a named error.
 */
export async function fetchOk(
  url: string,
  errorName: 'ModelLoadError' | 'CatalogLoadError' = 'ModelLoadError',
  offline?: () => Promise<Response | undefined>,
  /** `missingOk`: a 404 is answered, not thrown (a sparse pack's shard that holds no item has no file). */
  init: { cache?: RequestCache; timeoutMs?: number; missingOk?: boolean } = {},
): Promise<Response> {
  let res: Response
  // A request that never answers is given up (a later call asks again): a hung server must not hold a call forever.
  const abort = init.timeoutMs !== undefined ? new AbortController() : undefined
  const timer = abort && setTimeout(() => abort.abort(new Error(`no answer within ${init.timeoutMs} ms`)), init.timeoutMs)
  const get = () => fetch(url, { credentials: 'same-origin', ...(init.cache ? { cache: init.cache } : {}), ...(abort ? { signal: abort.signal } : {}) })
  try {
    // A network failure (fetch's TypeError: a dropped keep-alive connection, a phone between networks) is asked
    // once more, within the same bound; the same GET, so when it is sent still depends on nothing of the shopper's.
    res = await get().catch((err: unknown) => {
      if (abort?.signal.aborted || !(err instanceof TypeError)) throw err
      return get()
    })
    if (abort && res.ok) res = new Response(await res.arrayBuffer(), res) // the body too, within the bound
  } catch (err) {
    if (abort?.signal.aborted) throw new InPageError(errorName, `${url}: ${(abort.signal.reason as Error).message}`)
    const copy = await offline?.().catch(() => undefined)
    if (copy) return copy
    throw new InPageError(errorName, `${url}: ${(err as Error).message}`)
  } finally {
    clearTimeout(timer)
  }
  if (!res.ok && !(init.missingOk && res.status === 404)) throw new InPageError(errorName, `${url}: HTTP ${res.status}`)
  return res
}

async function readWithProgress(res: Response, onChunk: (n: number) => void): Promise<ArrayBuffer> {
  if (!res.body) {
    const b = await res.arrayBuffer()
    onChunk(b.byteLength)
    return b
  }
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    size += value.byteLength
    onChunk(value.byteLength)
  }
  const out = new Uint8Array(size)
  let o = 0
  for (const c of chunks) {
    out.set(c, o)
    o += c.byteLength
  }
  return out.buffer
}

/** Where the last copy of each version-naming file (manifest.json, pack.json) is kept, for an offline session. */
const LATEST_CACHE = `${CACHE_PREFIX}latest`

/**
 * A file that names the current version (manifest.json, pack.json): from the network every session, so a new
 * version is seen at once; when the network cannot be reached at all (offline), the copy the last session
 * read. An HTTP error stays an error: the server said something.
 */
export async function fetchLatest(url: string, errorName: 'ModelLoadError' | 'CatalogLoadError', timeoutMs?: number): Promise<Response> {
  const cache = typeof caches !== 'undefined' ? await caches.open(LATEST_CACHE).catch(() => undefined) : undefined
  let copied = false
  // 'no-cache': the browser's HTTP cache may keep a copy, but asks the server first (a 304 when unchanged), so
  // a store's fixed model or pack reaches the next visit even when served without Cache-Control.
  const res = await fetchOk(
    url,
    errorName,
    async () => {
      const copy = await cache?.match(url)
      copied = !!copy
      return copy
    },
    { cache: 'no-cache', timeoutMs },
  )
  if (!copied) await cache?.put(url, res.clone()).catch(() => {})
  return res
}

export async function loadManifest(baseUrl: string): Promise<Manifest> {
  const url = new URL('manifest.json', baseUrl).href
  const res = await fetchLatest(url, 'ModelLoadError')
  let json: unknown
  try {
    json = await res.json()
  } catch {
    throw new InPageError('ModelLoadError', `${url}: not valid JSON`)
  }
  return checkManifest(json)
}

/** A file to load: where it is, what its bytes must be, and the Cache API cache that keeps it. */
export interface FileSpec {
  name: string
  url: string
  bytes: number
  sha256: string
  cache: string
  /** A WebAssembly binary: also compiled while its bytes arrive (loadFiles' `modules`). */
  wasm?: boolean
}

/** What loadFiles got: the verified bytes of each file, except a `wasm` file's, which come as its compiled module. */
export interface LoadedFiles {
  bytes: Map<string, ArrayBuffer>
  modules: Map<string, WebAssembly.Module>
}

/**
 * Compiles a wasm file as its bytes stream in (the compile overlaps the download instead of following it);
 * compiling runs nothing, so it may start before the sha256 check, and the module is used only after it.
 * A response not labelled application/wasm (some hosts; older cached copies) is compiled from the bytes.
 */
async function compileWasm(res: Response, bytes: () => Promise<ArrayBuffer>): Promise<WebAssembly.Module> {
  if (typeof WebAssembly.compileStreaming === 'function' && res.headers.get('Content-Type')?.split(';')[0]?.trim() === 'application/wasm') {
    try {
      return await WebAssembly.compileStreaming(res)
    } catch {
      // fall through: the bytes decide (a truly broken binary fails the sha256 check first)
    }
  }
  try {
    return await WebAssembly.compile(await bytes())
  } catch (err) {
    // e.g. a page whose CSP lacks 'wasm-unsafe-eval' (README: Content Security Policy)
    throw new InPageError('ModelLoadError', `${res.url || 'wasm'}: WebAssembly cannot be compiled here: ${(err as Error).message}`)
  }
}

/** The model's files of `names`, as FileSpecs under the model folder, cached under the model's version. */
export function modelFiles(baseUrl: string, manifest: Manifest, names: readonly string[]): FileSpec[] {
  const cache = cacheNameOf(manifest.name, manifest.version)
  return names.map((name) => ({ name, url: new URL(name, baseUrl).href, ...manifest.files[name]!, cache }))
}

/** The Cache API name of a model's (or the runtime's) files: `inpage-model:<name>@<version>`. */
export function cacheNameOf(name: string, version: string) {
  return `${CACHE_PREFIX}${name}@${version}`
}

/**
 * Loads and verifies files, side by side (a first visit pays one round trip, not one per file): each from
 * the Cache API when its copy still matches, else from the network, checked, then cached. Progress sums
 * them all; `fromCache` says whether every file so far came from the cache.
 */
export async function loadFiles(specs: readonly FileSpec[], onProgress: (p: Omit<Progress, 'stage'>) => void): Promise<LoadedFiles> {
  const total = specs.reduce((s, f) => s + f.bytes, 0)
  let loaded = 0
  let fromCache = true
  let file = ''
  const report = (name: string, n: number) => {
    file = name
    loaded = Math.min(total, loaded + n)
    onProgress({ file, loaded, total, percent: total ? Math.min(99.9, (100 * loaded) / total) : 99.9, fromCache })
  }
  const modules = new Map<string, WebAssembly.Module>()
  /** Reads `res` (and compiles it, for a wasm file); the module is kept only once the bytes are checked. */
  const read = async (entry: FileSpec, res: Response, onChunk: (n: number) => void): Promise<[ArrayBuffer, Promise<WebAssembly.Module> | undefined]> => {
    const compiling = entry.wasm ? res.clone() : undefined
    const bytes = readWithProgress(res, onChunk)
    const module = compiling && compileWasm(compiling, () => bytes)
    module?.catch(() => {}) // its error matters only if the bytes pass their check
    return [await bytes, module]
  }
  const one = async (entry: FileSpec): Promise<[string, ArrayBuffer]> => {
    const { name, url } = entry
    const cache = typeof caches !== 'undefined' ? await caches.open(entry.cache).catch(() => undefined) : undefined
    // Cached under its digest, and only after its bytes were checked: a hit is those bytes, not hashed again
    // (hashing 14 MB of wasm on every visit cost more than the rest of a cached load). A new digest misses.
    const key = digestKey(url, entry.sha256)
    const hit = await cache?.match(key)
    if (hit && Number(hit.headers.get('Content-Length') ?? entry.bytes) === entry.bytes) {
      if (entry.wasm) {
        // Compiled from the Cache API's response itself: V8 keeps the compiled code only for such streaming compiles.
        // Anything else (no compileStreaming, a failed compile) takes the network path below, which names the error.
        const module = typeof WebAssembly.compileStreaming === 'function' ? await WebAssembly.compileStreaming(hit).catch(() => undefined) : undefined
        if (module) {
          modules.set(name, module)
          report(name, entry.bytes)
          return [name, new ArrayBuffer(0)]
        }
      }
      const bytes = entry.wasm ? new ArrayBuffer(0) : await hit.arrayBuffer()
      if (!entry.wasm && bytes.byteLength === entry.bytes) {
        report(name, bytes.byteLength)
        return [name, bytes]
      }
    }
    if (hit) await cache!.delete(key) // a damaged cache entry: drop it and fetch again
    fromCache = false
    let got = 0
    // The decoded bytes: a server's Content-Encoding (.br, .gz) is undone by the browser before this reads.
    const [bytes, module] = await read(entry, await fetchOk(url), (n) => {
      const counted = Math.max(0, Math.min(n, entry.bytes - got))
      got += n
      report(name, counted)
    })
    await checkFile(name, bytes, entry)
    const type = entry.wasm ? 'application/wasm' : 'application/octet-stream'
    await cache?.put(digestKey(url, entry.sha256), new Response(bytes.slice(0), { headers: { 'Content-Type': type, 'Content-Length': String(bytes.byteLength) } })).catch(() => {})
    void cache?.delete(url).catch(() => false) // the entry an older library kept under the plain URL
    if (module) modules.set(name, await module)
    return [name, bytes]
  }
  // A wasm file's bytes are done with once compiled (the Cache API keeps its copy): the worker holds the module.
  const out = new Map((await Promise.all(specs.map(one))).filter(([name]) => !modules.has(name)))
  onProgress({ file: '', loaded: total, total, percent: 100, fromCache })
  return { bytes: out, modules }
}

/** The Cache API key of a verified file: its URL with its sha256 (never requested; only the cache sees it). */
function digestKey(url: string, sha256: string): string {
  const u = new URL(url)
  u.searchParams.set('inpage-sha256', sha256)
  return u.href
}

/** Drops the cached files of other versions of `name` (a new version replaces the old entries). */
export async function dropOtherVersions(name: string, version: string) {
  if (typeof caches === 'undefined') return
  const keep = cacheNameOf(name, version)
  for (const k of await caches.keys()) if (k.startsWith(`${CACHE_PREFIX}${name}@`) && k !== keep) await caches.delete(k)
}
