// Which onnxruntime-web wasm build runs the model, and its loading: the plain SIMD-threaded build for the
// WASM execution provider (half the size of the others), the asyncify build only when a WebGPU session
// will be tried. The worker fetches the binary itself, compiles it while it streams in, checks its bytes
// against the sha256 the build recorded and keeps them in the Cache API like the model's files, so a
// reload (or an offline one) fetches no wasm. ORT's glue then instantiates that module (Emscripten's
// instantiateWasm hook, added to the glue by scripts/build.mjs) instead of fetching or compiling anything itself.

import * as ort from 'onnxruntime-web/webgpu'
import { cacheNameOf, type FileSpec } from './loader'
import { defaults } from '../src/defaults'
import { describeError, InPageError } from '../src/errors'
import { RUNTIME_STALLED } from '../src/protocol'

interface OrtBuild {
  wasm: string
  /** ORT's glue, with the instantiateWasm hook added by scripts/build.mjs. */
  glue: string
  bytes: number
  sha256: string
}
/** Written by scripts/build.mjs from the onnxruntime-web it copies into dist/ort. */
declare const __INPAGE_ORT__: { version: string; wasm: OrtBuild; webgpu: OrtBuild }
const ORT = __INPAGE_ORT__
/** The global the glue's hook reads (scripts/build.mjs writes the same key). */
const HOOK = Symbol.for('inpage.instantiateWasm')

/** Its cached copies are kept as `inpage-model:onnxruntime-web@<version>` (forget() erases them with the model's). */
export const RUNTIME = { name: 'onnxruntime-web', version: ORT.version }

/** The build that serves `backend` first: WebGPU needs the asyncify build, which also runs WASM (its fallback). */
export function runtimeFor(backend: 'webgpu' | 'wasm'): OrtBuild {
  return ORT[backend]
}

export function runtimeFile(build: OrtBuild, wasmPaths: string): FileSpec {
  return { name: build.wasm, url: new URL(build.wasm, wasmPaths).href, bytes: build.bytes, sha256: build.sha256, cache: cacheNameOf(RUNTIME.name, RUNTIME.version), wasm: true }
}

/**
 * Points ORT at the verified, compiled module and imports its glue (so ORT's own import finds it loaded).
 * Instantiating is synchronous (allowed in a worker), so a failure rejects ORT's init instead of leaving it
 * waiting. ORT's start (glue, instance, threads) does no model work, so it is bounded on any device: Firefox ESR
 * sometimes never finishes it with two threads under CPU load (about 1 load in 10 with both cores busy here,
 * before the instance is made); that worker's ORT is stuck for good, and the page starts a fresh one.
 */
export async function startRuntime(build: OrtBuild, wasmPaths: string, module: WebAssembly.Module, threads: number): Promise<void> {
  const glue = new URL(build.glue, wasmPaths).href
  ort.env.wasm.numThreads = threads
  ort.env.wasm.wasmPaths = { mjs: glue }
  ;(globalThis as Record<symbol, unknown>)[HOOK] = (imports: WebAssembly.Imports, receive: (i: WebAssembly.Instance, m: WebAssembly.Module) => void) => {
    receive(new WebAssembly.Instance(module, imports), module)
    return {}
  }
  ort.env.wasm.initTimeout = defaults.runtimeStartMs // the instance and threads; the import is bounded here
  ort.env.logLevel = 'error'
  let timer: ReturnType<typeof setTimeout> | undefined
  const stalled = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(runtimeStalledError()), defaults.runtimeStartMs)))
  try {
    await Promise.race([import(/* @vite-ignore */ glue), stalled])
  } finally {
    clearTimeout(timer)
  }
}

export function runtimeStalledError() {
  return new InPageError('EngineError', `${RUNTIME_STALLED} within ${defaults.runtimeStartMs / 1000} s`)
}

/** ORT's own words when initTimeout passed (it wraps them in its backend error). */
export function runtimeStalled(err: unknown): boolean {
  return /initializing failed due to timeout/.test(describeError(err).message)
}
