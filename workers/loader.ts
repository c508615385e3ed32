// Fetches the model's files with progress, checks each against the manifest's sha256 before any
// session exists, and keeps them in the Cache API under the model's version, so a reload fetches
// nothing but the manifest and a new version replaces the old entries.

import { InPageError } from '../src/errors'
import { MODEL_CACHE_PREFIX as CACHE_PREFIX } from '../src/history/erase'
import { checkManifest, requiredFiles, type Manifest } from './manifest'

import type { Progress } from '../src/protocol'

export async function sha256Hex(buf: ArrayBuffer): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', buf))
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('')
}

export async function fetchOk(url: string, errorName: 'ModelLoadError' | 'CatalogLoadError' = 'ModelLoadError'): Promise<Response> {
  let res: Response
  try {
    res = await fetch(url, { credentials: 'same-origin' })
  } catch (err) {
    throw new InPageError(errorName, `${url}: ${(err as Error).message}`)
  }
  if (!res.ok) throw new InPageError(errorName, `${url}: HTTP ${res.status}`)
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

export async function loadManifest(baseUrl: string): Promise<Manifest> {
  const url = new URL('manifest.json', baseUrl).href
  const res = await fetchOk(url)
  let json: unknown
  try {
    json = await res.json()
  } catch {
    throw new InPageError('ModelLoadError', `${url}: not valid JSON`)
  }
  return checkManifest(json)
}

/** Loads and verifies every file the engine needs. */
export async function loadModelFiles(
  baseUrl: string,
  manifest: Manifest,
  onProgress: (p: Progress) => void,
): Promise<Map<string, ArrayBuffer>> {
  const names = requiredFiles(manifest)
  const total = names.reduce((s, f) => s + manifest.files[f]!.bytes, 0)
  let loaded = 0
  let fromCache = false
  let file = ''
  const report = (n: number) => {
    loaded = Math.min(total, loaded + n)
    onProgress({ file, loaded, total, percent: total ? Math.min(99.9, (100 * loaded) / total) : 99.9, fromCache })
  }
  const cacheName = `${CACHE_PREFIX}${manifest.name}@${manifest.version}`
  const cache = typeof caches !== 'undefined' ? await caches.open(cacheName).catch(() => undefined) : undefined
  const out = new Map<string, ArrayBuffer>()
  for (const name of names) {
    file = name
    const entry = manifest.files[name]!
    const url = new URL(name, baseUrl).href
    let bytes: ArrayBuffer | undefined
    const hit = await cache?.match(url)
    if (hit) {
      bytes = await hit.arrayBuffer()
      if (bytes.byteLength !== entry.bytes || (await sha256Hex(bytes)) !== entry.sha256) {
        await cache!.delete(url) // a damaged cache entry: drop it and fetch again
        bytes = undefined
      } else {
        fromCache = true
        report(bytes.byteLength)
      }
    }
    if (!bytes) {
      fromCache = false
      const before = loaded
      bytes = await readWithProgress(await fetchOk(url), report)
      loaded = before + Math.min(bytes.byteLength, entry.bytes)
      if (bytes.byteLength !== entry.bytes)
        throw new InPageError('ModelIntegrityError', `${name}: ${bytes.byteLength} bytes, the manifest says ${entry.bytes}`)
      const digest = await sha256Hex(bytes)
      if (digest !== entry.sha256) throw new InPageError('ModelIntegrityError', `${name}: sha256 ${digest} does not match the manifest`)
      await cache?.put(url, new Response(bytes.slice(0), { headers: { 'Content-Type': 'application/octet-stream' } })).catch(() => {})
    }
    out.set(name, bytes)
  }
  onProgress({ file: '', loaded: total, total, percent: 100, fromCache })
  // A new version replaces the old entries.
  if (typeof caches !== 'undefined')
    for (const k of await caches.keys()) if (k.startsWith(`${CACHE_PREFIX}${manifest.name}@`) && k !== cacheName) await caches.delete(k)
  return out
}
