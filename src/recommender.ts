// The facade storefronts hold: createRecommender() and its few verbs.

import { Emitter } from './emitter'
import { InPageError, invalidOptions } from './errors'
import { History, type ExportDocument } from './history/history'
import { validateEvent } from './history/events'
import type { ConsentState, RetentionOptions, StorageKind, TrackEvent } from './types'

export interface RecommenderOptions {
  /** Separates stores of several recommenders on one origin. Default 'default'. */
  name?: string
  /** The site's consent decision, if known now. Default: 'denied' under Global Privacy Control, else 'pending'. */
  consent?: ConsentState
  retention?: RetentionOptions
  /** 'memory' keeps nothing across page loads. Default 'auto' (IndexedDB, memory when unavailable). */
  storage?: 'auto' | 'memory'
}

export interface RecommenderStatus {
  storage: StorageKind
  consent: ConsentState
  /** Events known to this page (stored and in memory). */
  events: number
  /** Stored records of the wrong shape, skipped. */
  skipped: number
  storageFallback?: string
  lastError?: { name: string; message: string }
  disposed: boolean
}

export interface RecommenderEvents extends Record<string, unknown> {
  /** The history changed here ('local') or in another tab ('remote'). */
  history: { source: 'local' | 'remote' }
  consent: { state: ConsentState }
  /** A fault inpage handled (storage, model, worker). The page keeps working. */
  error: { name: string; message: string }
}

export interface Recommender {
  /** Records a shopper event. Throws `InvalidEventError` for bad input (nothing is written); never throws for storage faults. */
  track(event: TrackEvent): Promise<void>
  /** Changes consent: 'granted' stores, 'pending' keeps events in memory only, 'denied' erases and keeps nothing. */
  setConsent(state: ConsentState): Promise<void>
  /** A versioned JSON document of everything inpage stored for this shopper. */
  exportData(): Promise<ExportDocument>
  /** Erases every byte inpage stored: history and caches. */
  forget(): Promise<void>
  status(): RecommenderStatus
  /** Resolves when storage is open (and older data migrated). */
  ready(): Promise<void>
  /** Writes queued events now. */
  flush(): Promise<void>
  on<K extends keyof RecommenderEvents>(name: K, listener: (payload: RecommenderEvents[K]) => void): () => void
  dispose(): Promise<void>
}

const CONSENT: readonly ConsentState[] = ['pending', 'granted', 'denied']

function checkOptions(o: RecommenderOptions) {
  if (o.name !== undefined && (typeof o.name !== 'string' || !/^[\w.-]{1,64}$/.test(o.name)))
    throw invalidOptions('name must be 1-64 letters, digits, "_", "." or "-"')
  if (o.consent !== undefined && !CONSENT.includes(o.consent)) throw invalidOptions(`consent must be one of ${CONSENT.join(', ')}`)
  for (const k of ['maxEvents', 'maxAgeDays'] as const) {
    const v = o.retention?.[k]
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) throw invalidOptions(`retention.${k} must be a positive number`)
  }
  if (o.storage !== undefined && o.storage !== 'auto' && o.storage !== 'memory') throw invalidOptions("storage must be 'auto' or 'memory'")
}

export function createRecommender(options: RecommenderOptions = {}): Recommender {
  checkOptions(options)
  const emitter = new Emitter<RecommenderEvents>()
  let disposed = false
  const history = new History({
    name: options.name ?? 'default',
    retention: options.retention,
    consent: options.consent,
    storage: options.storage,
    onChange: (source) => emitter.emit('history', { source }),
    onConsent: (state) => emitter.emit('consent', { state }),
    onError: (e) => emitter.emit('error', e),
  })
  const alive = () => {
    if (disposed) throw new InPageError('DisposedError', 'this recommender was disposed')
  }

  return {
    track(event) {
      alive()
      return history.add(validateEvent(event))
    },
    async setConsent(state) {
      alive()
      if (!CONSENT.includes(state)) throw new InPageError('ConsentError', `consent must be one of ${CONSENT.join(', ')}`)
      await history.setConsent(state)
    },
    exportData: () => history.export(),
    forget: () => history.forget(),
    status: () => ({ ...history.status(), disposed }),
    ready: () => history.ready,
    flush: () => history.flush(),
    on: (name, listener) => emitter.on(name, listener),
    async dispose() {
      if (disposed) return
      disposed = true
      await history.dispose()
      emitter.clear()
    },
  }
}
