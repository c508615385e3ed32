// The page's side of the engine: starts the worker lazily (one per recommender), restarts it when
// it died, and never lets a fault reach the page as anything but a named error.

import * as Comlink from 'comlink'
import { RUNTIME_STALLED, type CatalogReport, type EngineApi, type EngineConfig, type EngineInfo, type EngineRerank, type Progress, type TrackedItem } from './protocol/engine'
import { purchasedItems, selectModelEvents } from './ranking/events'
import type { Candidate, RerankOptions } from './ranking/types'
import type { StoredEvent } from './core/types'
import { describeError, InPageError } from './core/errors'
import { defaults } from './core/defaults'

export type EngineState = 'idle' | 'loading' | 'ready' | 'error'

/**
 * The text encoder: 'on-demand' until a call needs it (with a catalog pack), then 'loading' and 'ready';
 * 'error' when its load failed (calls that need it answer with the server's order, the others still rerank).
 */
export type EncoderState = 'on-demand' | 'loading' | 'ready' | 'error'

export interface EngineStatus {
  state: EngineState
  info?: EngineInfo
  encoder?: EncoderState
  /** What the last rerank read of the catalog pack (with the `catalog` option). */
  catalog?: CatalogReport
  error?: { name: string; message: string }
  progress?: Progress
  /** The encoder's own download progress (stage 'encoder'), once it started. */
  encoderProgress?: Progress
}

let defaultWorkerUrl: string | URL | undefined

/** The script-tag build knows its own URL only while it runs: it records the worker's here. */
export function setDefaultWorkerUrl(url: string | URL) {
  defaultWorkerUrl = url
}

function spawnWorker(url?: string | URL): Worker {
  // `new URL('./inpage.worker.js', import.meta.url)` as a literal lets a consuming bundler (Vite,
  // webpack 5) find the worker file and emit it unchanged; `workerUrl` overrides it for other setups.
  const workerUrl = url ?? defaultWorkerUrl ?? new URL(/* @vite-ignore */ './inpage.worker.js', import.meta.url)
  return new Worker(workerUrl, { type: 'module', name: 'inpage-engine' })
}

const WORKER_START_MS = defaults.workerStartMs
const RUNTIME_START_MS = defaults.runtimeStartMs


export class EngineClient {
  private worker: Worker | undefined
  private api: Comlink.Remote<EngineApi> | undefined
  private loading: Promise<EngineInfo> | undefined
  /** Rejects when the current worker dies or is stopped (crash, kill, failed script, forget()). */
  private died: Promise<never> = new Promise(() => {})
  private kill: ((err: Error) => void) | undefined
  private startTimer: ReturnType<typeof setTimeout> | undefined
  /** track() items waiting for the worker to start (this page's, never the stored history's): sent with the next call. */
  private tracked: TrackedItem[] = []
  /** A worker whose onnxruntime-web never started was replaced (once per client: a second stall is an error). */
  private replacedStalled = false
  /** From the worker's first answer until ORT's wasm instance exists: rearmed by each progress report. */
  private runtimeTimer: ReturnType<typeof setTimeout> | undefined
  /** ORT's wasm instance exists in the current worker: its load is past what the stall bound covers. */
  private instanced = false
  status: EngineStatus = { state: 'idle' }

  constructor(
    private readonly config: EngineConfig,
    private readonly workerUrl: string | URL | undefined,
    private readonly onProgress: (p: Progress) => void,
    private readonly onError: (e: { name: string; message: string }) => void,
  ) {}

  /** Starts the worker and the model load if not yet started; resolves when ready, rejects with a named error. */
  warmUp(): Promise<EngineInfo> {
    if (this.loading) return this.loading
    this.status = { state: 'loading' }
    let worker: Worker
    try {
      worker = spawnWorker(this.workerUrl)
    } catch (err) {
      // e.g. SecurityError: a workerUrl on another origin (a library served from a CDN).
      const e = new InPageError('EngineError', `the engine worker could not be created: ${describeError(err).name}: ${describeError(err).message}`)
      this.fail(describeError(e))
      return Promise.reject(e)
    }
    this.worker = worker
    this.died = new Promise<never>((_, reject) => (this.kill = reject))
    this.died.catch(() => {})
    const dead = (message: string) => {
      if (this.worker !== worker) return
      this.fail({ name: 'EngineError', message })
    }
    worker.addEventListener('error', (e) => {
      e.preventDefault()
      // A worker file that 404s, is not JavaScript or throws while starting.
      dead(`the engine worker failed: ${(e as ErrorEvent).message || 'its script could not be loaded or run'}`)
    })
    worker.addEventListener('messageerror', () => dead('the engine worker sent a message that could not be read'))
    this.api = Comlink.wrap<EngineApi>(worker)
    this.watch(worker, this.api, dead)
    const progress = Comlink.proxy((p: Progress) => {
      if (this.worker !== worker) return
      // A failed encoder load stays failed for this worker (files still arriving after the failure change nothing).
      if (p.stage === 'encoder') {
        if (this.status.encoder !== 'error') this.status = { ...this.status, encoder: p.percent === 100 ? 'ready' : 'loading', encoderProgress: p }
      }
      else this.status = { ...this.status, progress: p }
      if (p.stage === 'model') this.armStall(worker) // the load is moving
      this.onProgress(p)
    })
    const started = Comlink.proxy(() => {
      if (this.worker !== worker) return
      this.disarmStall()
      this.instanced = true
    })
    this.loading = Promise.race([this.api.load(this.config, progress, started), this.died]).then(
      (info) => {
        this.disarmStall()
        this.status = { state: 'ready', info, progress: this.status.progress, encoder: info.encoderLoaded ? 'ready' : (this.status.encoder ?? 'on-demand') }
        return info
      },
      (err) => {
        if (this.worker !== worker) throw err
        this.disarmStall()
        const e = describeError(err)
        // ORT stuck in this worker for good (Firefox ESR, now and then, under load): the same load in a fresh
        // one, its files now from the Cache API. The caller's promise follows the new load.
        if (e.name === 'EngineError' && e.message.startsWith(RUNTIME_STALLED) && !this.replacedStalled) {
          this.replacedStalled = true
          this.stop()
          return this.warmUp()
        }
        this.fail(e)
        throw err
      },
    )
    this.loading.catch(() => {}) // observed through status and the 'error' event
    return this.loading
  }

  /**
   * A ping, sent before anything else and answered at once, proves the worker's script ran: no answer
   * within WORKER_START_MS means it did not (an error event covers the usual ways a script fails; this
   * covers the silent ones). Then the worker holds a Web Lock for its whole life; asking for the same lock
   * here is granted only when the worker is gone, so a dead worker fails its pending calls at once.
   */
  private watch(worker: Worker, api: Comlink.Remote<EngineApi>, dead: (message: string) => void) {
    const locks = (globalThis.navigator as Navigator & { locks?: LockManager })?.locks
    const name = `inpage-engine:${Math.random().toString(36).slice(2)}`
    this.startTimer = setTimeout(() => dead(`the engine worker did not start within ${WORKER_START_MS / 1000} s`), WORKER_START_MS)
    api.ping().then(
      () => {
        clearTimeout(this.startTimer)
        this.armStall(worker)
      },
      () => {},
    )
    // Sent right after the ping, before the model load: the lock is held before any heavy work starts.
    if (locks)
      api.hold(name).then(
        () => void locks.request(name, () => dead('the engine worker stopped')),
        () => {},
      )
  }

  /**
   * Until ORT's wasm instance exists, the load must keep moving: manifest, files (progress per chunk), compile,
   * ORT's glue and threads, none of it model work. RUNTIME_START_MS without a progress report, and the worker is
   * taken for stalled and replaced once (Firefox ESR, now and then, under load: the worker blocks for good, so
   * no timer of its own would fire).
   */
  private armStall(worker: Worker) {
    if (this.instanced || this.worker !== worker) return
    this.disarmStall()
    this.runtimeTimer = setTimeout(
      () => this.worker === worker && this.kill?.(new InPageError('EngineError', `${RUNTIME_STALLED}: the model load made no progress for ${RUNTIME_START_MS / 1000} s`)),
      RUNTIME_START_MS,
    )
  }

  private disarmStall() {
    clearTimeout(this.runtimeTimer)
    this.runtimeTimer = undefined
  }

  private fail(error: { name: string; message: string }) {
    this.status = { state: 'error', error }
    this.onError(error)
    this.stop() // the next call starts a fresh worker (stop() keeps an error state)
  }

  get isLoaded(): boolean {
    return this.status.state === 'ready'
  }

  /** Loads the model, then the encoder if it waits for its first use; rejects with a named error. */
  async warmEncoder(): Promise<void> {
    await this.warmUp()
    await Promise.race([this.api!.loadEncoder(), this.died]).catch((err: unknown) => this.encoderFailed(err))
  }

  /** The core is loaded: a load fault now is the encoder's. Rethrows. */
  private encoderFailed(err: unknown): never {
    const e = describeError(err)
    if (e.name === 'ModelLoadError' || e.name === 'ModelIntegrityError') this.status = { ...this.status, encoder: 'error' }
    throw err
  }

  /**
   * Starts the model load and, with a catalog pack, the fetch of the page's candidates' entries beside it. Called
   * the same way whatever the history holds: no request's timing may tell whether there is one.
   */
  warmPage(candidates: Candidate[], persist: boolean) {
    if (this.isLoaded) return
    this.warmUp().catch(() => {})
    if (this.config.catalogUrl) this.api?.warmPack([...new Set(candidates.map((c) => c.id))], persist).catch(() => {})
  }

  /**
   * A track() call's item: with a catalog pack, the worker takes its record now (the item is on the page) and
   * keeps it with the history. Before the worker starts, the item waits for the next call (bounded).
   */
  remember(item: TrackedItem, persist: boolean) {
    if (!this.config.catalogUrl) return
    this.tracked.push(item)
    if (this.tracked.length > 100) this.tracked.shift()
    if (this.isLoaded) this.sendTracked(persist)
  }

  private sendTracked(persist: boolean) {
    const items = this.tracked.splice(0)
    if (items.length) this.api?.remember(items, persist).catch(() => {}) // a record not taken: that item is scored with what is local
  }

  /** Sends only what the model reads of the history (the worker would read the same, after a copy of it all). */
  async rerank(history: StoredEvent[], candidates: Candidate[], options: RerankOptions, persist: boolean, timeoutMs?: number): Promise<EngineRerank> {
    const info = await this.warmUp()
    this.sendTracked(persist)
    const events = selectModelEvents(history, info.reads)
    const purchased = options.excludePurchased ? purchasedItems(history) : []
    const res = await Promise.race([this.api!.rerank({ events, purchased, candidates, options, persist, timeoutMs }), this.died]).catch((err: unknown) =>
      this.encoderFailed(err),
    )
    if (res.catalog) this.status = { ...this.status, catalog: res.catalog }
    return res
  }

  /** Warms the vector cache for these candidates in the background (a first visit: no history yet); faults only mean no warm cache. */
  prefetch(candidates: Candidate[], persist: boolean) {
    void this.warmUp()
      .then(() => {
        this.sendTracked(persist)
        return Promise.race([this.api?.prefetch(candidates, persist), this.died])
      })
      .catch(() => {})
  }

  /** Called when a rerank timed out or the worker stopped answering: start over next time. */
  restart() {
    this.stop()
    this.status = { state: 'idle' }
  }

  /** Ends the worker now, and with it any work in progress: its pending calls reject at once. */
  stop() {
    clearTimeout(this.startTimer)
    this.disarmStall()
    this.instanced = false
    this.tracked = []
    this.kill?.(new InPageError('EngineError', 'the engine worker was stopped'))
    this.kill = undefined
    this.api?.[Comlink.releaseProxy]()
    this.worker?.terminate()
    this.worker = undefined
    this.api = undefined
    this.loading = undefined
    if (this.status.state !== 'error') this.status = { state: 'idle' }
  }
}
