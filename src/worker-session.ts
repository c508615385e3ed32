// One engine worker, from its start to its end: the Worker, its comlink API, its death (error, messageerror, its
// life lock, a stalled runtime, the page ending it), its timers and its state. A session that has ended never
// calls back and never sends again, and the page ends a session before it starts the next: nothing of a dead
// worker can reach the one that replaced it.

import * as Comlink from 'comlink'
import type { EncoderState, EngineState, EngineStatus } from './engine-status'
import { defaultWorkerUrl } from './worker-url'
import { EngineFault, faultKind, type CatalogReport, type EngineApi, type EngineConfig, type EngineInfo, type Progress, type WorkerStorage } from './protocol/engine'
import { describeError } from './core/errors'
import { defaults } from './core/defaults'

export interface SessionHooks {
  onProgress(p: Progress): void
  /**
   * The session ended by itself (its worker failed, stalled or stopped answering; its load failed): called once,
   * and never for a session the page ended. May return the session that takes over its load (a stalled runtime).
   */
  onDeath(fault: Error): WorkerSession | undefined
}


const WORKER_START_MS = defaults.workerStartMs
const RUNTIME_START_MS = defaults.runtimeStartMs

export class WorkerSession {
  /** 'dead' once it ended, by itself or by the page: for good. */
  state: 'loading' | 'ready' | 'dead' = 'loading'
  info: EngineInfo | undefined
  progress: Progress | undefined
  encoder: EncoderState | undefined
  encoderProgress: Progress | undefined
  catalog: CatalogReport | undefined
  /** What ended it. */
  fault: Error | undefined
  /** Resolves with the session whose model is loaded: this one, or the one that took over after a stall. */
  readonly ready: Promise<WorkerSession>
  private readonly api: Comlink.Remote<EngineApi>
  /** Rejects when this worker dies or is ended (crash, kill, failed script, stall, the page's close()). */
  private readonly died: Promise<never>
  private kill!: (err: Error) => void
  private startTimer: ReturnType<typeof setTimeout> | undefined
  /** From the worker's first answer until ORT's wasm instance exists: rearmed by each progress report. */
  private stallTimer: ReturnType<typeof setTimeout> | undefined
  /** ORT's wasm instance exists: the load is past what the stall bound covers. */
  private instanced = false
  private successor: WorkerSession | undefined
  private storage: WorkerStorage | undefined

  /** Starts a worker; throws EngineFault 'worker-create' when the browser refuses to create it. */
  static open(url: string | URL | undefined, config: EngineConfig, storage: WorkerStorage, hooks: SessionHooks): WorkerSession {
    let worker: Worker
    try {
      // `new URL('./inpage.worker.js', import.meta.url)` as a literal lets a consuming bundler (Vite, webpack 5)
      // find the worker file and emit it unchanged; `workerUrl` overrides it for other setups.
      const workerUrl = url ?? defaultWorkerUrl() ?? new URL(/* @vite-ignore */ './inpage.worker.js', import.meta.url)
      worker = new Worker(workerUrl, { type: 'module', name: 'inpage-engine' })
    } catch (err) {
      // e.g. SecurityError: a workerUrl on another origin (a library served from a CDN).
      const e = describeError(err)
      throw new EngineFault(`the engine worker could not be created: ${e.name}: ${e.message}`, 'worker-create')
    }
    return new WorkerSession(worker, config, storage, hooks)
  }

  private constructor(
    private readonly worker: Worker,
    config: EngineConfig,
    storage: WorkerStorage,
    private readonly hooks: SessionHooks,
  ) {
    this.died = new Promise<never>((_, reject) => (this.kill = reject))
    this.died.catch(() => {})
    worker.addEventListener('error', (e) => {
      e.preventDefault()
      // A worker file that 404s, is not JavaScript or throws while starting.
      this.die(new EngineFault(`the engine worker failed: ${(e as ErrorEvent).message || 'its script could not be loaded or run'}`, 'worker-script'))
    })
    worker.addEventListener('messageerror', () => this.die(new EngineFault('the engine worker sent a message that could not be read', 'worker-message')))
    this.api = Comlink.wrap<EngineApi>(worker)
    this.watch()
    // Before the load: what it derives is kept, or not, from the first file on.
    this.setStorage(storage)
    const progress = Comlink.proxy((p: Progress) => this.progressed(p))
    const started = Comlink.proxy(() => {
      if (this.state === 'dead') return
      clearTimeout(this.stallTimer)
      this.instanced = true
    })
    this.ready = Promise.race([this.api.load(config, progress, started), this.died]).then(
      (info) => {
        clearTimeout(this.stallTimer)
        this.state = 'ready'
        this.info = info
        this.encoder = info.encoderLoaded ? 'ready' : (this.encoder ?? 'on-demand')
        return this as WorkerSession
      },
      (err: unknown) => {
        this.die(err as Error) // a load that failed ends its worker (no-op when it already ended)
        // A stalled runtime: the caller's promise follows the fresh worker's load.
        if (this.successor) return this.successor.ready
        throw err
      },
    )
    this.ready.catch(() => {}) // observed through the page's status and 'error' event
  }

  /** Runs a call on this worker; rejects with the fault that ended it if it ends first. */
  call<T>(run: (api: Comlink.Remote<EngineApi>) => Promise<T>): Promise<T> {
    if (this.state === 'dead') return Promise.reject(this.fault)
    return Promise.race([run(this.api), this.died])
  }

  /** Tells the worker what it may keep, when that changed (messages are handled in order: later calls see it). */
  setStorage(storage: WorkerStorage) {
    if (this.state === 'dead' || this.storage?.persist === storage.persist) return
    this.storage = { ...storage }
    this.api.setStorage(this.storage).catch(() => {})
  }

  /** A load fault of the files marks the encoder failed (it loads at its first use with a pack); rethrows. */
  encoderFailed(err: unknown): never {
    if (faultKind(err) === 'files') this.encoder = 'error'
    throw err
  }

  /** The page ends this worker (restart, forget(), denial, dispose()): its pending calls reject at once; no hook runs. */
  close() {
    this.end(new EngineFault('the engine worker was stopped', 'worker-stopped'))
  }

  status(): EngineStatus {
    return {
      state: this.state === 'ready' ? 'ready' : 'loading',
      ...(this.info ? { info: this.info } : {}),
      ...(this.encoder ? { encoder: this.encoder } : {}),
      ...(this.catalog ? { catalog: this.catalog } : {}),
      ...(this.progress ? { progress: this.progress } : {}),
      ...(this.encoderProgress ? { encoderProgress: this.encoderProgress } : {}),
    }
  }

  private progressed(p: Progress) {
    if (this.state === 'dead') return // a report already on its way when the worker ended
    // A failed encoder load stays failed for this worker (files still arriving after the failure change nothing).
    if (p.stage === 'encoder') {
      if (this.encoder !== 'error') {
        this.encoder = p.percent === 100 ? 'ready' : 'loading'
        this.encoderProgress = p
      }
      // onnxruntime started with the encoder (it waited while nothing needed it): the engine info says so from now on.
      if (p.runtime && this.info) this.info = { ...this.info, ...p.runtime, runtimeLoaded: true }
    } else this.progress = p
    if (p.stage === 'model') this.armStall() // the load is moving
    this.hooks.onProgress(p)
  }

  /**
   * A ping, sent before anything else and answered at once, proves the worker's script ran: no answer within
   * WORKER_START_MS means it did not (an error event covers the usual ways a script fails; this covers the
   * silent ones). Then the worker holds a Web Lock for its whole life; asking for the same lock here is granted
   * only when the worker is gone, so a dead worker fails its pending calls at once.
   */
  private watch() {
    const locks = (globalThis.navigator as Navigator & { locks?: LockManager })?.locks
    const name = `inpage-engine:${Math.random().toString(36).slice(2)}`
    this.startTimer = setTimeout(() => this.die(new EngineFault(`the engine worker did not start within ${WORKER_START_MS / 1000} s`, 'worker-start-timeout')), WORKER_START_MS)
    this.api.ping().then(
      () => {
        clearTimeout(this.startTimer)
        this.armStall()
      },
      () => {},
    )
    // Sent right after the ping, before the model load: the lock is held before any heavy work starts. Granted
    // here also after the page ended the worker: die() then does nothing.
    if (locks)
      this.api.hold(name).then(
        () => void locks.request(name, () => this.die(new EngineFault('the engine worker stopped', 'worker-ended'))),
        () => {},
      )
  }

  /**
   * Until ORT's wasm instance exists, the load must keep moving: manifest, files (progress per chunk), compile,
   * ORT's glue and threads, none of it model work. RUNTIME_START_MS without a progress report, and the worker is
   * taken for stalled (Firefox ESR, now and then, under load: the worker blocks for good, so no timer of its own
   * would fire); the page replaces it once.
   */
  private armStall() {
    if (this.instanced || this.state !== 'loading') return
    clearTimeout(this.stallTimer)
    this.stallTimer = setTimeout(
      () => this.die(new EngineFault(`onnxruntime-web did not start: the model load made no progress for ${RUNTIME_START_MS / 1000} s`, 'runtime-stalled')),
      RUNTIME_START_MS,
    )
  }

  /** It ended by itself: ends the worker, then tells the page (once, and only if the page had not ended it first). */
  private die(fault: Error) {
    if (this.end(fault)) this.successor = this.hooks.onDeath(fault)
  }

  /** Ends the worker for good; false when it had already ended. */
  private end(fault: Error): boolean {
    if (this.state === 'dead') return false
    this.state = 'dead'
    this.fault = fault
    clearTimeout(this.startTimer)
    clearTimeout(this.stallTimer)
    this.kill(fault)
    this.api[Comlink.releaseProxy]()
    this.worker.terminate()
    return true
  }
}
