// Which onnxruntime-web wasm build runs the model, and its loading: the plain SIMD-threaded build for the
// WASM execution provider (half the size of the others), the asyncify build only when a WebGPU session
// will be tried. The worker fetches the binary itself, compiles it while it streams in, checks its bytes
// against the sha256 the build recorded and keeps them in the Cache API like the model's files, so a
// reload (or an offline one) fetches no wasm. ORT's glue then instantiates that module (Emscripten's
// instantiateWasm hook, see scripts/build.mjs) instead of fetching or compiling anything itself.

import * as ort from 'onnxruntime-web/webgpu'
import { cacheNameOf, type FileSpec } from './loader'

interface OrtBuild {
  wasm: string
  glue: string
  /** ORT's glue with the instantiateWasm hook: what ORT imports. */
  hook: string
  bytes: number
  sha256: string
}
/** Written by scripts/build.mjs from the onnxruntime-web it copies into dist/ort. */
declare const __INPAGE_ORT__: { version: string; wasm: OrtBuild; webgpu: OrtBuild }
const ORT = __INPAGE_ORT__
/** The global the hook module reads (scripts/build.mjs writes the same key). */
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
 * Points ORT at the verified, compiled module. Instantiating is synchronous (allowed in a worker), so a
 * failure rejects ORT's init instead of leaving it waiting. Handing ORT the bytes (`wasmBinary`) instead
 * made Firefox ESR's session creation hang with two threads under CPU load (5 of 10 loads); ORT fetching
 * the wasm itself would skip the sha256 check and the offline copy.
 */
export function useRuntime(build: OrtBuild, wasmPaths: string, module: WebAssembly.Module, threads: number) {
  ort.env.wasm.numThreads = threads
  ort.env.wasm.wasmPaths = { mjs: new URL(build.hook, wasmPaths).href }
  ;(globalThis as Record<symbol, unknown>)[HOOK] = (imports: WebAssembly.Imports, receive: (i: WebAssembly.Instance, m: WebAssembly.Module) => void) => {
    receive(new WebAssembly.Instance(module, imports), module)
    return {}
  }
  ort.env.logLevel = 'error'
}
