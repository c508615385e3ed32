// The page's side of the engine: starts the worker lazily (one per recommender), restarts it when
// it died, and never lets a fault reach the page as anything but a named error.

import * as Comlink from 'comlink'
import type { EngineApi, EngineConfig, EngineInfo, EngineRerank } from '../workers/engine'
import type { Progress } from '../workers/loader'
import type { Candidate, RerankOptions } from './ranking/types'
import type { StoredEvent } from './types'
import { describeError, InPageError } from './errors'

export type EngineState = 'idle' | 'loading' | 'ready' | 'error'

export interface EngineStatus {
  state: EngineState
  info?: EngineInfo
  error?: { name: string; message: string }
  progress?: Progress
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

export class EngineClient {
  private worker: Worker | undefined
  private api: Comlink.Remote<EngineApi> | undefined
  private loading: Promise<EngineInfo> | undefined
  status: EngineStatus = { state: 'idle' }

  constructor(
    private readonly config: EngineConfig,
    private readonly workerUrl: string | URL | undefined,
    private readonly onProgress: (p: Progress) => void,
    private readonly onError: (e: { name: string; message: string }) => void,
  ) {}

  /** Rejects when the current worker dies (crash, kill, out of memory). */
  private died: Promise<never> = new Promise(() => {})

  /** Starts the worker and the model load if not yet started; resolves when ready. */
  warmUp(): Promise<EngineInfo> {
    if (this.loading) return this.loading
    this.status = { state: 'loading' }
    const worker = spawnWorker(this.workerUrl)
    this.died = this.watch(worker)
    worker.addEventListener('error', (e) => {
      e.preventDefault()
      this.fail({ name: 'EngineError', message: `the engine worker failed: ${e.message || 'script error'}` })
    })
    this.worker = worker
    this.api = Comlink.wrap<EngineApi>(worker)
    const progress = Comlink.proxy((p: Progress) => {
      this.status = { ...this.status, progress: p }
      this.onProgress(p)
    })
    this.loading = Promise.race([this.api.load(this.config, progress), this.died]).then(
      (info) => {
        this.status = { state: 'ready', info, progress: this.status.progress }
        return info
      },
      (err) => {
        this.fail(describeError(err))
        throw err
      },
    )
    this.loading.catch(() => {}) // observed through status and the 'error' event
    return this.loading
  }

  /**
   * The worker holds a Web Lock for its whole life; asking for the same lock here is granted only
   * when the worker is gone. A dead worker fails its pending calls at once instead of hanging.
   */
  private watch(worker: Worker): Promise<never> {
    const locks = (globalThis.navigator as Navigator & { locks?: LockManager })?.locks
    if (!locks) return new Promise(() => {})
    const name = `inpage-engine:${Math.random().toString(36).slice(2)}`
    const api = Comlink.wrap<EngineApi>(worker)
    const died = api.hold(name).then(
      () =>
        new Promise<never>((_, reject) => {
          void locks.request(name, () => {
            if (this.worker === worker) this.fail({ name: 'EngineError', message: 'the engine worker stopped' })
            reject(new InPageError('EngineError', 'the engine worker stopped'))
          })
        }),
    )
    died.catch(() => {})
    return died
  }

  private fail(error: { name: string; message: string }) {
    this.status = { state: 'error', error }
    this.onError(error)
    this.stop() // the next call starts a fresh worker
  }

  get ready(): boolean {
    return this.status.state === 'ready'
  }

  async rerank(history: StoredEvent[], candidates: Candidate[], options: RerankOptions, persist: boolean): Promise<EngineRerank> {
    await this.warmUp()
    return Promise.race([this.api!.rerank(history, candidates, options, persist), this.died])
  }

  /** Warms the vector cache for these candidates in the background; faults only mean no warm cache. */
  prefetch(candidates: Candidate[], persist: boolean) {
    this.warmUp()
      .then(() => this.api?.prefetch(candidates, persist))
      .catch(() => {})
  }

  /** Direct access for parity checks and benchmarks. */
  async call<K extends 'encode' | 'tokenize' | 'userVectors' | 'itemVector' | 'cacheStats'>(
    name: K,
    ...args: Parameters<EngineApi[K]>
  ): Promise<Awaited<ReturnType<EngineApi[K]>>> {
    await this.warmUp()
    const fn = this.api![name] as unknown as (...a: unknown[]) => Promise<Awaited<ReturnType<EngineApi[K]>>>
    return fn(...args)
  }

  async clear() {
    await this.api?.clear().catch(() => {})
  }

  /** Called when a rerank timed out or the worker stopped answering: start over next time. */
  restart() {
    this.stop()
    this.status = { state: 'idle' }
  }

  stop() {
    this.api?.[Comlink.releaseProxy]()
    this.worker?.terminate()
    this.worker = undefined
    this.api = undefined
    this.loading = undefined
  }
}
