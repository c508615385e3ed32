// The page's side of the engine: one WorkerSession at a time (started lazily, one worker per recommender),
// replaced by a fresh one when it died, and never a fault reaching the page as anything but a named error.

import { faultCode, type EngineConfig, type EngineInfo, type EngineRerank, type Progress, type TrackedItem, type WorkerStorage } from './protocol/engine'
import { purchasedFor, selectModelEvents } from './ranking/events'
import type { Candidate, RerankOptions } from './ranking/types'
import type { StoredEvent } from './core/types'
import { describeError } from './core/errors'
import { WorkerSession } from './worker-session'
import type { EngineStatus } from './engine-status'

export { setDefaultWorkerUrl } from './worker-url'
export type { EngineState, EncoderState, EngineStatus } from './engine-status'

export class EngineClient {
  /** The current worker; undefined before the first call and after it ended. */
  private session: WorkerSession | undefined
  /** What ended the last worker by itself, until the next one starts (status 'error'). */
  private failed: Error | undefined
  /** A worker whose onnxruntime-web never started was replaced (once per client: a second stall is an error). */
  private replacedStalled = false
  /** track() items waiting for the worker to start (this page's, never the stored history's): sent with the next call. */
  private tracked: TrackedItem[] = []
  /** What the worker may keep: each session gets it at its start, the current one when it changes. */
  private storage: WorkerStorage = { persist: false }

  constructor(
    private readonly config: EngineConfig,
    private readonly workerUrl: string | URL | undefined,
    private readonly onProgress: (p: Progress) => void,
    private readonly onError: (e: { name: string; message: string }) => void,
  ) {}

  get status(): EngineStatus {
    if (this.session) return this.session.status()
    return this.failed ? { state: 'error', error: describeError(this.failed) } : { state: 'idle' }
  }

  /** The fault that ended the last worker (its `code` says what it means), while the status is 'error'. */
  get failure(): Error | undefined {
    return this.session ? undefined : this.failed
  }

  get isLoaded(): boolean {
    return this.session?.state === 'ready'
  }

  /** Starts the worker and the model load if not yet started; resolves when ready, rejects with a named error. */
  warmUp(): Promise<EngineInfo> {
    return this.loaded().then((s) => s.info!)
  }

  /** The session whose model is loaded (starting one if none runs). */
  private loaded(): Promise<WorkerSession> {
    if (this.session) return this.session.ready
    this.failed = undefined
    const s = this.open()
    return s ? s.ready : Promise.reject(this.failed)
  }

  /** A fresh session, now the current one; undefined (and the client failed) when no worker can be created. */
  private open(): WorkerSession | undefined {
    try {
      this.session = WorkerSession.open(this.workerUrl, this.config, this.storage, {
        onProgress: this.onProgress,
        onDeath: (fault) => this.died(fault),
      })
    } catch (err) {
      this.fail(err as Error)
    }
    return this.session
  }

  /**
   * The current session ended by itself (only the current one can: the page ends a session before it opens the
   * next, and an ended session calls nothing). ORT stuck in its worker for good (Firefox ESR, now and then, under
   * load) gets the same load in a fresh one, its files now from the Cache API, once; the rest is an error.
   */
  private died(fault: Error): WorkerSession | undefined {
    this.session = undefined
    this.tracked = []
    if (faultCode(fault) === 'runtime-stalled' && !this.replacedStalled) {
      this.replacedStalled = true
      return this.open()
    }
    this.fail(fault)
    return undefined
  }

  private fail(fault: Error) {
    this.failed = fault
    this.onError(describeError(fault))
  }

  /** Loads the model, then the encoder if it waits for its first use; rejects with a named error. */
  async warmEncoder(): Promise<void> {
    const s = await this.loaded()
    await s.call((api) => api.loadEncoder()).catch((err: unknown) => s.encoderFailed(err))
  }

  /** What the worker may keep beyond its memory: sent to the current worker now, and to each new one at its start. */
  setStorage(storage: WorkerStorage) {
    this.storage = { ...storage }
    this.session?.setStorage(this.storage)
  }

  /**
   * Starts the model load and, with a catalog pack, the fetch of the page's candidates' entries beside it (those
   * whose record the store's server did not attach). Called the same way whatever the history holds: no
   * request's timing may tell whether there is one.
   */
  warmPage(candidates: Candidate[]) {
    if (this.isLoaded) return
    this.warmUp().catch(() => {})
    const ids = [...new Set(candidates.filter((c) => c.pack === undefined).map((c) => c.id))]
    if (this.config.catalogUrl && ids.length) this.session?.call((api) => api.warmPack(ids)).catch(() => {})
  }

  /**
   * A track() call's item: with a catalog pack, the worker takes its record now (the item is on the page) and
   * keeps it with the history. Before the worker starts, the item waits for the next call (bounded).
   */
  remember(item: TrackedItem) {
    if (!this.config.catalogUrl) return
    this.tracked.push(item)
    if (this.tracked.length > 100) this.tracked.shift()
    if (this.session?.state === 'ready') this.sendTracked(this.session)
  }

  private sendTracked(s: WorkerSession) {
    const items = this.tracked.splice(0)
    if (items.length) s.call((api) => api.remember(items)).catch(() => {}) // a record not taken: that item is scored with what is local
  }

  /** Sends only what the model reads of the history (the worker would read the same, after a copy of it all). */
  async rerank(history: StoredEvent[], candidates: Candidate[], options: RerankOptions, timeoutMs?: number): Promise<EngineRerank> {
    const s = await this.loaded()
    this.sendTracked(s)
    const events = selectModelEvents(history, s.info!.reads)
    const purchased = purchasedFor(history, options)
    const res = await s.call((api) => api.rerank({ events, purchased, candidates, options, timeoutMs })).catch((err: unknown) => s.encoderFailed(err))
    if (res.catalog) s.catalog = res.catalog
    return res
  }

  /** Warms the vector cache for these candidates in the background (a first visit: no history yet); faults only mean no warm cache. */
  prefetch(candidates: Candidate[]) {
    void this.loaded()
      .then((s) => {
        this.sendTracked(s)
        return s.call((api) => api.prefetch(candidates))
      })
      .catch(() => {})
  }

  /** Called when a rerank timed out or the worker stopped answering: start over next time. */
  restart() {
    this.stop()
    this.failed = undefined
  }

  /** Ends the worker now, and with it any work in progress: its pending calls reject at once (an error status stays). */
  stop() {
    this.tracked = []
    this.session?.close()
    this.session = undefined
  }
}
