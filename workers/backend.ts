// Which execution provider runs the model, chosen by what this browser has, not by assumption:
// a fallback (software) WebGPU adapter is far slower than WASM, so 'auto' drops it.

import type { BackendPreference } from '../src/protocol/engine'

export interface BackendChoice {
  order: ('webgpu' | 'wasm')[]
  dropped: { backend: 'webgpu' | 'wasm'; reason: string }[]
  adapter?: { vendor?: string; architecture?: string; isFallbackAdapter?: boolean }
}

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; isFallbackAdapter?: boolean }
  isFallbackAdapter?: boolean
}

export async function chooseBackend(pref: BackendPreference): Promise<BackendChoice> {
  const dropped: BackendChoice['dropped'] = []
  if (pref === 'wasm') return { order: ['wasm'], dropped: [{ backend: 'webgpu', reason: "backend: 'wasm' was requested" }] }
  const gpu = (globalThis.navigator as Navigator & { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } }).gpu
  if (!gpu) {
    dropped.push({ backend: 'webgpu', reason: 'navigator.gpu is not available in this browser or context' })
    return { order: ['wasm'], dropped }
  }
  let adapter: GpuAdapterLike | null = null
  try {
    adapter = await gpu.requestAdapter()
  } catch (err) {
    dropped.push({ backend: 'webgpu', reason: `requestAdapter() failed: ${(err as Error).message}` })
    return { order: ['wasm'], dropped }
  }
  if (!adapter) {
    dropped.push({ backend: 'webgpu', reason: 'no WebGPU adapter' })
    return { order: ['wasm'], dropped }
  }
  const info = { ...adapter.info, isFallbackAdapter: adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false }
  const adapterInfo = { vendor: info.vendor, architecture: info.architecture, isFallbackAdapter: info.isFallbackAdapter }
  if (pref === 'auto' && info.isFallbackAdapter) {
    dropped.push({ backend: 'webgpu', reason: `fallback adapter (${info.architecture || 'software'}): slower than WASM` })
    return { order: ['wasm'], dropped, adapter: adapterInfo }
  }
  // WebGPU first, WASM if its session cannot be made.
  return { order: ['webgpu', 'wasm'], dropped, adapter: adapterInfo }
}

export interface ThreadFacts {
  /** `numThreads` the site asked for, if any. */
  requested?: number
  /** `crossOriginIsolated` in the worker. */
  isolated: boolean
  /** Whether `SharedArrayBuffer` exists: ORT's threads need it, and isolation does not imply it (WebKitGTK). */
  sharedMemory: boolean
  /** `navigator.hardwareConcurrency` (may overstate the cores: WebKitGTK says 4 on 2). */
  cores: number
  max: number
}

/** How many WASM threads ORT will really run, and why: what `status()` reports is what runs. */
export function wasmThreads(f: ThreadFacts): { threads: number; reason: string } {
  if (!f.isolated) return { threads: 1, reason: `not cross-origin isolated (no COOP/COEP headers): 1 thread${f.requested ? ` (numThreads: ${f.requested} was requested)` : ''}` }
  if (!f.sharedMemory)
    return { threads: 1, reason: `cross-origin isolated, but this browser has no SharedArrayBuffer: 1 thread${f.requested ? ` (numThreads: ${f.requested} was requested)` : ''}` }
  if (f.requested) return { threads: f.requested, reason: `numThreads: ${f.requested} was requested` }
  const threads = Math.max(1, Math.min(f.max, f.cores || 1))
  return { threads, reason: `cross-origin isolated: ${threads} threads` }
}
