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
  user: { file: string; maxHistory: number; eventTypes: Record<string, number>; output: string }
  collab?: { file: string; index: string }
  /** `file`: the model's own neighbour lists (its training catalog); absent when a catalog pack supplies them. */
  scoring?: { knn?: { file?: string; weight: number; decay: number } }
  /** How a catalog pack's aggregates must be computed for this model (contract 3). */
  aggregates?: { priorScale: number; knn: Omit<NeighborSettings, 'window'> & { window?: number } }
  /** The training settings (older models carry the aggregate settings only here). */
  training?: { settings?: Record<string, unknown> }
  metrics?: unknown
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
  return m
}

/** The files the engine needs, in load order (small first, so failures show early). */
export function requiredFiles(m: Manifest): string[] {
  return [...encoderFiles(m).slice(0, -1), ...coreFiles(m, { neighbors: true }), m.encoder.file]
}

/**
 * What a rerank needs when every item's text vector is at hand (a catalog pack's): the user model and the
 * public item data. The model's own neighbour lists only without a pack (a pack brings the store's).
 */
export function coreFiles(m: Manifest, opts: { neighbors: boolean }): string[] {
  const out: string[] = []
  if (m.collab) out.push(m.collab.index, m.collab.file)
  if (opts.neighbors && m.scoring?.knn?.file) out.push(m.scoring.knn.file)
  out.push(m.user.file)
  return out
}

/** What turning text into vectors needs (a query, an item without a pack vector): tokenizer and encoder. */
export function encoderFiles(m: Manifest): string[] {
  return ['tokenizer.json', 'tokenizer_config.json', m.encoder.file]
}
