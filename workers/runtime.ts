// Which onnxruntime-web wasm build runs the model, and its loading: the plain SIMD-threaded build for the
// WASM execution provider (half the size of the others), the asyncify build only when a WebGPU session
// will be tried. The worker fetches the binary itself, checks it against the sha256 the build recorded and
// keeps it in the Cache API like the model's files, so a reload (or an offline one) fetches no wasm.

import * as ort from 'onnxruntime-web/webgpu'
import { cacheNameOf, type FileSpec } from './loader'

interface OrtBuild {
  wasm: string
  glue: string
  bytes: number
  sha256: string
}
/** Written by scripts/build.mjs from the onnxruntime-web it copies into dist/ort. */
declare const __INPAGE_ORT__: { version: string; wasm: OrtBuild; webgpu: OrtBuild }
const ORT = __INPAGE_ORT__

/** Its cached copies are kept as `inpage-model:onnxruntime-web@<version>` (forget() erases them with the model's). */
export const RUNTIME = { name: 'onnxruntime-web', version: ORT.version }

/** The build that serves `backend` first: WebGPU needs the asyncify build, which also runs WASM (its fallback). */
export function runtimeFor(backend: 'webgpu' | 'wasm'): OrtBuild {
  return ORT[backend]
}

export function runtimeFile(build: OrtBuild, wasmPaths: string): FileSpec {
  return { name: build.wasm, url: new URL(build.wasm, wasmPaths).href, bytes: build.bytes, sha256: build.sha256, cache: cacheNameOf(RUNTIME.name, RUNTIME.version) }
}

/**
 * Points ORT at the verified binary (it then fetches only the small JS glue, from wasmPaths, itself: importing
 * the glue early, beside the download, made Firefox ESR hang in session creation in 3 of 8 loads).
 */
export function useRuntime(build: OrtBuild, wasmPaths: string, binary: ArrayBuffer, threads: number) {
  ort.env.wasm.numThreads = threads
  ort.env.wasm.wasmPaths = { mjs: new URL(build.glue, wasmPaths).href }
  ort.env.wasm.wasmBinary = new Uint8Array(binary)
  ort.env.logLevel = 'error'
}
