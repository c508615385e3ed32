// The worker protocol: what the page and the engine worker say to each other. Both sides import it from
// here (the worker's code stays private: nothing in src/ imports workers/).

import type { Candidate, Coverage, QueryPath, RankedItem, RerankOptions } from '../ranking/types'
import type { HistoryReads, ModelEvents } from '../ranking/events'
import type { PackKey } from '../pack/format'
import { InPageError, type InPageErrorName } from '../core/errors'

/** 'auto': WebGPU on a real GPU adapter, else WASM. */
export type BackendPreference = 'auto' | 'webgpu' | 'wasm'

/**
 * What a fault means for the page: 'worker', the worker is ended and the next call starts a fresh one (why
 * 'engine-error'); 'files', the model's files cannot be loaded (why 'model-error', and the encoder, loaded at its
 * first use, is marked failed); 'data', one call's numbers or catalog pack are at fault (why 'model-error'; the
 * worker carries on). A load that failed for 'files' or 'data' stays failed until warmUp() asks again.
 */
export type FaultKind = 'worker' | 'files' | 'data'

/** Every fault code, with its kind. The page decides from the code, never from a message or a list of names. */
export const FAULTS = {
  /** `new Worker()` threw (a workerUrl on another origin, a CSP without worker-src). */
  'worker-create': 'worker',
  /** The worker's script 404s, is not JavaScript or threw while starting (its error event). */
  'worker-script': 'worker',
  /** The worker sent a message that could not be read (its messageerror event). */
  'worker-message': 'worker',
  /** No answer to the first ping within `defaults.workerStartMs`: the script never ran. */
  'worker-start-timeout': 'worker',
  /** The worker ended (a crash, a kill): its life lock was released. */
  'worker-ended': 'worker',
  /** The page ended it: a restart, forget(), a denial, dispose(). */
  'worker-stopped': 'worker',
  /** onnxruntime-web made no progress within `defaults.runtimeStartMs`: the worker is replaced, once per recommender. */
  'runtime-stalled': 'worker',
  /** Anything else a call rejected with (not one of inpage's named faults). */
  'worker-internal': 'worker',
  'model-load': 'files',
  'model-integrity': 'files',
  'model-data': 'data',
  'catalog-load': 'data',
  'catalog-integrity': 'data',
  'catalog-data': 'data',
} as const satisfies Record<string, FaultKind>

export type FaultCode = keyof typeof FAULTS

/** The codes of the named errors a worker's call can reject with; the worker sends the code with the error. */
const CODE_OF_NAME: Partial<Record<InPageErrorName, FaultCode>> = {
  ModelLoadError: 'model-load',
  ModelIntegrityError: 'model-integrity',
  ModelDataError: 'model-data',
  CatalogLoadError: 'catalog-load',
  CatalogIntegrityError: 'catalog-integrity',
  CatalogDataError: 'catalog-data',
}

/** The code the worker gives an error it throws (by its name: the name is what inpage's errors are told apart by). */
export function codeOfError(name: string): FaultCode {
  return CODE_OF_NAME[name as InPageErrorName] ?? 'worker-internal'
}

/** A fault the page's side raises about a worker (named EngineError), with its code. */
export class EngineFault extends InPageError {
  constructor(
    message: string,
    readonly code: FaultCode,
  ) {
    super('EngineError', message)
  }
}

/** The code of whatever a call rejected with: its own (an EngineFault, or carried from the worker), else 'worker-internal'. */
export function faultCode(err: unknown): FaultCode {
  const code = (err as { code?: unknown } | undefined)?.code
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(FAULTS, code) ? (code as FaultCode) : 'worker-internal'
}

/** The kind of whatever a call rejected with. */
export function faultKind(err: unknown): FaultKind {
  return FAULTS[faultCode(err)]
}

/**
 * What the worker may keep beyond its memory, sent when it changes (and when a worker starts), never with each
 * call. `persist`: the shopper granted consent and the history is stored in IndexedDB, so the item-vector
 * cache, the kept pack records and the pack's shards may be stored too. A denial or forget() ends the worker
 * instead (nothing it does afterwards can be stored).
 */
export interface WorkerStorage {
  persist: boolean
}

export interface EngineConfig {
  /** Base URL of the model folder (with manifest.json). */
  modelUrl: string
  /** Where ORT's wasm files are served; default: `ort/` beside the worker file. */
  wasmPaths?: string
  backend: BackendPreference
  /** Recommender name: separates vector caches. */
  name: string
  /** WASM threads; default 1 without cross-origin isolation, else min(4, cores). */
  numThreads?: number
  /** Base URL of the store's catalog pack (holding pack.json), self-hosted. */
  catalogUrl?: string
  /** The pack's public key the page pinned: a pack.json with any other key is refused. */
  catalogKey?: PackKey
  /** The history's retention: kept pack records follow it (default: the history's default). */
  retention?: { maxEvents: number; maxAgeDays: number }
  /** RecommenderOptions.preload. */
  preload?: 'idle' | 'need'
}

/** A pack record inpage refused (wrong shape, a text vector of the wrong length): dropped, never used. */
export interface RejectedRecord {
  id: string
  /** `name@version` of the pack, or 'attached' (the store's server sent it with a candidate). */
  source: string
  reason: string
}

/** The item a track() call is about: its pack record may be fetched (it is on the page). */
export interface TrackedItem {
  id: string
  /** The item's text as the event gives it (encoded when the pack has no text vector for it). */
  text: string
}

/** What one rerank read of the catalog pack. */
export interface CatalogReport {
  /** `name@version` of the pack. */
  pack: string
  /** Distinct ids looked up (the page's candidates and the history items the model reads). */
  asked: number
  /** Of those, ids the pack does not hold: their text is encoded, they have no neighbours or popularity. */
  missing: number
  /** Pack files read for this call (dir and shard files; from the network or the Cache API) and their bytes. */
  files: number
  bytes: number
  fromNetwork: number
  /** Whether the pack's text vectors were used (made with this model's encoder), or encoded again. */
  textVectors: boolean
  /** Whether the pack's own scoring settings (its `tuning`, chosen on the store's data for this model) were used. */
  tuned?: boolean
  /** Records refused since the worker started (at most the last 20): each was dropped; later calls are unaffected. */
  rejected?: RejectedRecord[]
}

/**
 * Model download progress, one series per stage: `loaded` never decreases within a series and its last event
 * has percent 100. Stage 'model': what a rerank needs (ORT's wasm, the user model, the public item data; the
 * encoder too when there is no catalog pack). Stage 'encoder': the text encoder and its tokenizer, fetched at
 * their first use when a catalog pack gives the page's text vectors (a search query, an item not in the pack).
 */
export interface Progress {
  stage: 'model' | 'encoder'
  file: string
  loaded: number
  total: number
  /** 0–100; the last event of a load is exactly 100. */
  percent: number
  fromCache: boolean
  /** On the encoder's last report: the backend onnxruntime runs on (it may have started with the encoder). */
  runtime?: Pick<EngineInfo, 'backend' | 'dropped' | 'runtimeMs'>
}

export interface EngineInfo {
  model: { name: string; version: string }
  backend: 'webgpu' | 'wasm'
  dropped: { backend: string; reason: string }[]
  adapter?: { vendor?: string; architecture?: string; isFallbackAdapter?: boolean }
  threads: number
  threadsReason: string
  /** The onnxruntime-web wasm file that runs the model (the plain build for WASM, asyncify for WebGPU). */
  runtime: string
  /** Whether the encoder was loaded with the rest (no catalog pack), or waits for its first use. */
  encoderLoaded: boolean
  /**
   * Whether onnxruntime is running: false while nothing needed it (a closed-form user model with a pack), until
   * the encoder loads (at its first use, or ahead of need with `preload: 'idle'`); `backend` is then the plan.
   */
  runtimeLoaded: boolean
  /** How user vectors are made: the ONNX user graph, or its closed form computed in the worker (manifest `user.closedForm`). */
  userModel: 'onnx' | 'closed-form'
  /** How long onnxruntime took to start when it started after the load (its wasm instance and the encoder's session). */
  runtimeMs?: number

  loadMs: number
  /** Where loadMs went: the manifest and files (network or Cache API, verified), then ORT's start and the sessions. */
  loadTimings: { filesMs: number; sessionsMs: number }
  fromCache: boolean
  reads: HistoryReads
}

export type { HistoryReads } from '../ranking/events'

/** What a rerank sends: only what the model reads of the history, not the whole stored history. */
export interface RerankRequest {
  /** The item events the model reads, oldest first (at most `reads.maxHistory`): selectModelEvents' choice, used as sent. */
  events: ModelEvents
  /** Ids of every item the shopper bought (for `excludePurchased`), whatever their age. */
  purchased: string[]
  candidates: Candidate[]
  options: RerankOptions
  /** What is left of the call's budget: a pack request that has not answered by then is given up (a later call asks again). */
  timeoutMs?: number
}

export interface EngineRerank {
  items: RankedItem[]
  coverage: Coverage
  personalized: boolean
  why: 'personalized' | 'no-history'
  /** With a query: whether its relevance came from the on-device encoder ('device') or the server's order ('server'). */
  query?: QueryPath
  /** Where the model ran for this call: an onnxruntime backend, or 'js' while onnxruntime is not loaded (nothing needed it). */
  backend: 'webgpu' | 'wasm' | 'js'
  catalog?: CatalogReport
}

/** The worker's API, exposed with comlink. */
export interface EngineApi {
  /** Answers at once, before any other work: proves the worker's script ran. */
  ping(): true
  /** Takes the life lock and resolves once it is held. */
  hold(lock: string): Promise<void>
  /** What may be kept beyond the worker's memory, from now on: sent at the start and whenever it changes. */
  setStorage(storage: WorkerStorage): void
  /** `onRuntime`: ORT's wasm instance exists (the page bounds the quiet spells of the load until then). */
  load(cfg: EngineConfig, onProgress?: (p: Progress) => void, onRuntime?: () => void): Promise<EngineInfo>
  rerank(req: RerankRequest): Promise<EngineRerank>
  /** Loads the text encoder now, if it waits for its first use (with a catalog pack). */
  loadEncoder(): Promise<void>
  /** Fetches the catalog pack's entries of the page's candidates while the model loads (the first rerank then finds them). */
  warmPack(ids: string[]): void
  /** A track() call's items: their pack records (or, without one, their text vectors) are kept with the history. */
  remember(items: TrackedItem[]): Promise<void>
  /** Encodes candidates into the vector cache ahead of need (a first visit has no history yet). */
  prefetch(candidates: Candidate[]): Promise<void>
  /** Text vectors straight from the encoder (parity checks, benchmarks). */
  encode(texts: string[]): Promise<Float32Array[]>
  tokenize(text: string): Promise<number[]>
  userVectors(histories: { vecs: Float32Array[]; types: number[] }[]): Promise<Float32Array[]>
  itemVector(text: Float32Array, id: string): Float32Array
  cacheStats(): { hits: number; misses: number }
}
