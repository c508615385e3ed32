// The worker protocol: what the page and the engine worker say to each other. Both sides import it from
// here (the worker's code stays private: nothing in src/ imports workers/).

import type { Candidate, Coverage, RankedItem, RerankOptions } from '../ranking/types'
import type { HistoryReads, ModelEvents } from '../ranking/events'
import type { PackKey } from '../pack/format'

/** 'auto': WebGPU on a real GPU adapter, else WASM. */
export type BackendPreference = 'auto' | 'webgpu' | 'wasm'

/** How the EngineError starts when onnxruntime-web never started in its worker: the page then starts a fresh one, once. */
export const RUNTIME_STALLED = 'onnxruntime-web did not start'

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
  /** The shopper granted consent: item vectors may be kept in IndexedDB. */
  persist: boolean
  /** What is left of the call's budget: a pack request that has not answered by then is given up (a later call asks again). */
  timeoutMs?: number
}

export interface EngineRerank {
  items: RankedItem[]
  coverage: Coverage
  personalized: boolean
  why: 'personalized' | 'no-history'
  backend: 'webgpu' | 'wasm'
  catalog?: CatalogReport
}

/** The worker's API, exposed with comlink. */
export interface EngineApi {
  /** Answers at once, before any other work: proves the worker's script ran. */
  ping(): true
  /** Takes the life lock and resolves once it is held. */
  hold(lock: string): Promise<void>
  /** `onRuntime`: ORT's wasm instance exists (the page bounds the quiet spells of the load until then). */
  load(cfg: EngineConfig, onProgress?: (p: Progress) => void, onRuntime?: () => void): Promise<EngineInfo>
  rerank(req: RerankRequest): Promise<EngineRerank>
  /** Loads the text encoder now, if it waits for its first use (with a catalog pack). */
  loadEncoder(): Promise<void>
  /** Fetches the catalog pack's entries of the page's candidates while the model loads (the first rerank then finds them). */
  warmPack(ids: string[], persist: boolean): void
  /** A track() call's items: their pack records (or, without one, their text vectors) are kept with the history. */
  remember(items: TrackedItem[], persist: boolean): Promise<void>
  /** Encodes candidates into the vector cache ahead of need (a first visit has no history yet). */
  prefetch(candidates: Candidate[], persist: boolean): Promise<void>
  /** Text vectors straight from the encoder (parity checks, benchmarks). */
  encode(texts: string[]): Promise<Float32Array[]>
  tokenize(text: string): Promise<number[]>
  userVectors(histories: { vecs: Float32Array[]; types: number[] }[]): Promise<Float32Array[]>
  itemVector(text: Float32Array, id: string): Float32Array
  cacheStats(): { hits: number; misses: number }
}
