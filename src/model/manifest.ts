// The shipped model's manifest (docs/model-contract.md), read and checked before anything runs.

import { InPageError } from '../core/errors'
import type { NeighborSettings } from '../pack/format'

export interface FileEntry {
  sha256: string
  bytes: number
}

export interface Manifest {
  name: string
  version: string
  files: Record<string, FileEntry>
  dims: { text: number; collab: number; item: number }
  encoder: { file: string; maxTokens: number; inputs: string[]; output: string }
  user: { file: string; maxHistory: number; eventTypes: Record<string, number>; output: string; closedForm?: ClosedForm }
  collab?: { file: string; index: string }
  /** `file`: the model's own neighbour lists (its training catalog); absent when a catalog pack supplies them. */
  scoring?: { knn?: { file?: string; weight: number; decay: number } }
  /** How a catalog pack's aggregates must be computed for this model (contract 3). */
  aggregates?: { priorScale: number; knn: Omit<NeighborSettings, 'window'> & { window?: number } }
  /** The training settings (older models carry the aggregate settings only here). */
  training?: { settings?: Record<string, unknown> }
  metrics?: unknown
}

/**
 * The user graph as a formula, where training left it one (training/inpage_train/user_model.py closed_form,
 * checked against the int8 graph within 1e-5 at export): user vector = skip × Σ w_j · v_j over dims [0, pooled)
 * + bias, with w_j ∝ decay^(recency of event j), summing to 1 (an empty history: the bias alone). The engine
 * computes it without onnxruntime.
 */
export interface ClosedForm {
  kind: 'recency-mean'
  decay: number
  skip: number
  pooled: number
  /** [dim, value] pairs; every other dim of the bias is 0. */
  bias: [number, number][]
}

/** Pairs further apart than this in one history are not counted (knn.py counts all pairs; histories are ≤ 50 there). */
export const DEFAULT_PAIR_WINDOW = 50

/** knn.py's co-occurrence settings as pipeline.py's defaults (backward pairs weighted 1.0). */
export const KNN_TRAINING_DEFAULTS: Readonly<Omit<NeighborSettings, 'window'>> = Object.freeze({ minCount: 2, gamma: 0.8, back: 1, alpha: 0.3, beta: 0.1, topN: 50 })

/** The settings a catalog pack for this model is built with: its `aggregates`, or an older model's training settings. */
export function packSettings(m: Manifest): { neighbors: NeighborSettings; priorScale: number } {
  if (m.aggregates) return { neighbors: { window: DEFAULT_PAIR_WINDOW, ...m.aggregates.knn }, priorScale: m.aggregates.priorScale }
  const st = m.training?.settings ?? {}
  const num = (k: string, d: number) => (typeof st[k] === 'number' ? (st[k] as number) : d)
  return {
    neighbors: {
      minCount: num('knn_min_count', KNN_TRAINING_DEFAULTS.minCount),
      gamma: num('knn_gamma', KNN_TRAINING_DEFAULTS.gamma),
      back: KNN_TRAINING_DEFAULTS.back, // pipeline.py builds the shipped lists with back = 1.0
      alpha: num('knn_alpha', KNN_TRAINING_DEFAULTS.alpha),
      beta: num('knn_beta', KNN_TRAINING_DEFAULTS.beta),
      topN: num('knn_top_n', KNN_TRAINING_DEFAULTS.topN),
      window: DEFAULT_PAIR_WINDOW,
    },
    priorScale: num('prior_scale', 8),
  }
}

const fail = (msg: string) => new InPageError('ModelLoadError', `manifest.json: ${msg}`)

export function checkManifest(raw: unknown): Manifest {
  if (!raw || typeof raw !== 'object') throw fail('not a JSON object')
  const m = raw as Manifest
  if (typeof m.name !== 'string' || typeof m.version !== 'string') throw fail('name and version are required')
  if (!m.files || typeof m.files !== 'object') throw fail('files is required')
  for (const [f, e] of Object.entries(m.files))
    if (!e || typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256) || typeof e.bytes !== 'number')
      throw fail(`files["${f}"] needs sha256 (hex) and bytes`)
  if (!m.dims || !(m.dims.item > 0) || !(m.dims.text > 0)) throw fail('dims.text and dims.item are required')
  if (!m.encoder?.file || !(m.encoder.maxTokens > 0)) throw fail('encoder.file and encoder.maxTokens are required')
  if (!m.user?.file || !(m.user.maxHistory > 0) || !m.user.eventTypes) throw fail('user.file, user.maxHistory and user.eventTypes are required')
  for (const f of requiredFiles(m)) if (!m.files[f]) throw fail(`${f} is used but not listed in files`)
  if (m.user.closedForm !== undefined) checkClosedForm(m.user.closedForm, m.dims.item)
  return m
}

/** The files the engine needs, in load order (small first, so failures show early). */
export function requiredFiles(m: Manifest): string[] {
  const core = coreFiles(m, { neighbors: true })
  // The user graph is listed even where its closed form stands in for it (the contract ships both).
  return [...encoderFiles(m).slice(0, -1), ...core, ...(core.includes(m.user.file) ? [] : [m.user.file]), m.encoder.file]
}

/**
 * What a rerank needs when every item's text vector is at hand (a catalog pack's): the user model (none where
 * its closed form is declared) and the public item data. The model's own neighbour lists only without a pack (a
 * pack brings the store's).
 */
export function coreFiles(m: Manifest, opts: { neighbors: boolean }): string[] {
  const out: string[] = []
  if (m.collab) out.push(m.collab.index, m.collab.file)
  if (opts.neighbors && m.scoring?.knn?.file) out.push(m.scoring.knn.file)
  if (!m.user.closedForm) out.push(m.user.file)
  return out
}

/** What turning text into vectors needs (a query, an item without a pack vector): tokenizer and encoder. */
export function encoderFiles(m: Manifest): string[] {
  return ['tokenizer.json', 'tokenizer_config.json', m.encoder.file]
}

function checkClosedForm(cf: ClosedForm, dims: number) {
  const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v)
  const ok =
    cf?.kind === 'recency-mean' &&
    num(cf.decay) && cf.decay > 0 && cf.decay <= 1 &&
    num(cf.skip) &&
    Number.isInteger(cf.pooled) && cf.pooled >= 0 && cf.pooled <= dims &&
    Array.isArray(cf.bias) &&
    cf.bias.every((b) => Array.isArray(b) && b.length === 2 && Number.isInteger(b[0]) && b[0] >= 0 && b[0] < dims && num(b[1]))
  if (!ok) throw fail(`user.closedForm must be {kind: "recency-mean", decay in (0, 1], skip, pooled ≤ ${dims}, bias: [dim, value] pairs}`)
}

/** A closed-form user vector (see ClosedForm), in float32 like the graph. */
export function closedFormUser(cf: ClosedForm, vecs: readonly Float32Array[], dims: number): Float32Array {
  const u = new Float32Array(dims)
  const L = vecs.length
  let total = 0
  const w = vecs.map((_, j) => (total += cf.decay ** (L - 1 - j), cf.decay ** (L - 1 - j)))
  if (L) {
    const acc = new Float64Array(cf.pooled)
    vecs.forEach((v, j) => {
      const wj = w[j]! / total
      for (let d = 0; d < cf.pooled; d++) acc[d]! += wj * v[d]!
    })
    for (let d = 0; d < cf.pooled; d++) u[d] = cf.skip * acc[d]!
  }
  for (const [d, b] of cf.bias) u[d]! += b
  return u
}
