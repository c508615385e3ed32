// The shipped model's manifest (docs/model-contract.md), read and checked before anything runs.

import { InPageError } from '../src/errors'

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
  scoring?: { knn?: { file: string; weight: number; decay: number } }
  metrics?: unknown
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
  const out = ['tokenizer.json', 'tokenizer_config.json']
  if (m.collab) out.push(m.collab.index, m.collab.file)
  if (m.scoring?.knn) out.push(m.scoring.knn.file)
  out.push(m.user.file, m.encoder.file)
  return out
}
