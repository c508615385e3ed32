// Which onnxruntime-web wasm build runs the model, and its loading: the plain SIMD-threaded build for the
// WASM execution provider (half the size of the others), the asyncify build only when a WebGPU session
// will be tried. The worker fetches the binary itself, compiles it while it streams in, checks its bytes
// against the sha256 the build recorded and keeps them in the Cache API like the model's files, so a
// reload (or an offline one) fetches no wasm. ORT's glue then instantiates that module (Emscripten's
// instantiateWasm hook, added to the glue by scripts/build.mjs) instead of fetching or compiling anything itself.

import * as ort from 'onnxruntime-web/webgpu'
import { cacheNameOf, type FileSpec } from './loader'

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
 * Points ORT at the verified, compiled module. Instantiating is synchronous (allowed in a worker), so a
 * failure rejects ORT's init instead of leaving it waiting. `onInstance` tells the page ORT got that far:
 * the page bounds the way there (it holds no model work), because Firefox ESR now and then never gets
 * there with two threads under load, with this worker blocked for good (src/engine-client.ts).
 */
export function startRuntime(build: OrtBuild, wasmPaths: string, module: WebAssembly.Module, threads: number, onInstance: () => void) {
  ort.env.wasm.numThreads = threads
  ort.env.wasm.wasmPaths = { mjs: new URL(build.glue, wasmPaths).href }
  ;(globalThis as Record<symbol, unknown>)[HOOK] = (imports: WebAssembly.Imports, receive: (i: WebAssembly.Instance, m: WebAssembly.Module) => void) => {
    receive(new WebAssembly.Instance(module, imports), module)
    onInstance()
    return {}
  }
  ort.env.logLevel = 'error'
}
