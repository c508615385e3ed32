// The part of onnxruntime the model needs, typed once for both runtimes: onnxruntime-web (the worker) and
// onnxruntime-node (the Node tools) satisfy these interfaces as they are, without a cast
// (test/model-files.test.ts checks both at the type level and runs the Node one).

import { InPageError } from '../core/errors'

/** A tensor as the model builds and reads it. */
export interface OrtTensor {
  readonly type: string
  readonly data: unknown
  readonly dims: readonly number[]
  dispose?(): void
}

/** onnxruntime's `Tensor` constructor, for the two element types the model's inputs use. */
export interface OrtTensorConstructor {
  new (type: 'int64', data: BigInt64Array, dims: readonly number[]): OrtTensor
  new (type: 'float32', data: Float32Array, dims: readonly number[]): OrtTensor
}

/** An `InferenceSession` made by the caller from the model file's verified bytes. */
export interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>
  release?(): Promise<void>
}

/** The runtime module (`import * as ort from 'onnxruntime-web'`, `require('onnxruntime-node')`). */
export interface OrtRuntime {
  Tensor: OrtTensorConstructor
}

/**
 * An output's float32 data. A model that answers with another type (or not at all) is a ModelDataError, never
 * other bytes read as floats.
 */
export function floatOutput(outputs: Record<string, OrtTensor>, name: string): Float32Array {
  const t = outputs[name]
  if (!t || t.type !== 'float32' || !(t.data instanceof Float32Array))
    throw new InPageError('ModelDataError', `the model's output "${name}" is ${t ? `${t.type}` : 'missing'}, not float32 data`)
  return t.data
}
