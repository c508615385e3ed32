// The facade storefronts hold: createRecommender() and its few verbs.

import { validateCandidates, DEFAULT_MAX_CANDIDATES } from './candidates'
import { Emitter } from './emitter'
import { EngineClient, type EngineStatus } from './engine-client'
import { describeError, InPageError, invalidOptions } from './core/errors'
import { eraseCaches, listPackRecords, listVectorCache } from './storage/erase'
import { DEFAULT_RETENTION, ShopperHistory, type ExportDocument } from './history/history'
import { validateEvent, validateEvents } from './history/events'
import { rerankOptions, warmUpOptions, type WarmUpOptions } from './options'
import { BAD, check, custom, defineOptions, identifier, nested, number, oneOf, required, string, type OptionsValidator } from './core/validate'
import { defaults } from './core/defaults'
import { serverOrder } from './ranking/rerank'
import type { Candidate, RerankOptions, RerankResult, Why } from './ranking/types'
import type { ConsentState, RetentionOptions, StorageKind, StoragePersistence, StoredEvent, TrackEvent } from './core/types'
import { faultKind, type BackendPreference, type Progress } from './protocol/engine'
import { itemText } from './ranking/text'
import type { PackKey } from './pack/format'
import { assign, experimentOptions, holdoutResult, type ExperimentOptions, type ExperimentStatus } from './experiment'
import { Analytics, analyticsOptions, type AnalyticsOptions, type ImpressionEvent, type SelectEvent } from './analytics'

/** A catalog pack pinned to its key, like Subresource Integrity: a pack.json with another key is refused. */
export interface CatalogPin {
  /** Base URL of the pack folder (holding pack.json). */
  url: string
  /** The pack's public key, as `npm run catalog` prints it (pack.json's `signature.publicKey`). */
  publicKey: PackKey
}

export interface RecommenderOptions {
  /** Separates stores of several recommenders on one origin. Default 'default'. */
  name?: string
  /** The site's consent decision, if known now. Default: 'denied' under Global Privacy Control, else 'pending'. */
  consent?: ConsentState
  retention?: RetentionOptions
  /** 'memory' keeps nothing across page loads. Default 'auto' (IndexedDB, memory when unavailable). */
  storage?: 'auto' | 'memory'
  /** Base URL of the model folder (holding manifest.json), self-hosted. Without it, rerank() returns the server's order. */
  model?: string
  /**
   * The store's catalog pack (holding pack.json; `npm run catalog` builds it), self-hosted: its base URL, or
   * `{ url, publicKey }` to pin it to its key. The public vectors, popularity and neighbour lists of the page's
   * items, fetched per item and verified; a history item's record is the one taken when its track() call was
   * made, kept with the history (never fetched because of the history). Without it, the model's own tables
   * (its training catalog) are used.
   */
  catalog?: string | CatalogPin
  /** Default 'auto': WebGPU on a real GPU adapter, else WASM. */
  backend?: BackendPreference
  /** Where ORT's wasm files are served (a folder URL). Default: `ort/` beside the worker file. */
  wasmPaths?: string
  /** URL of inpage.worker.js when your bundler does not emit it (default: beside the library file). */
  workerUrl?: string | URL
  /** WASM threads. Default: min(4, cores) when cross-origin isolated, else 1. */
  numThreads?: number
  /**
   * When onnxruntime and the text encoder load if a category page did not need them (a closed-form user model
   * with a catalog pack): 'idle' (default) ahead of need, shortly after the first page's answer, so a search
   * waits for nothing; 'need' at the first call that needs them (metered connections: README "First visit").
   */
  preload?: 'idle' | 'need' 
  /** Largest candidate list accepted. Default 2000. */
  maxCandidates?: number
  /** Defaults for every rerank() call. */
  rerankDefaults?: RerankOptions
  /** A built-in holdout: `{ name, holdout: 0.1 }` shows 10 % of shoppers the server's order (README: "Adopting inpage"). */
  experiment?: ExperimentOptions
  /** `{ ga4: true }` also pushes the impression and select events to `window.dataLayer`. Default: events only. */
  analytics?: AnalyticsOptions
}

export interface RecommenderStatus {
  storage: StorageKind
  consent: ConsentState
  /** Events known to this page (stored and in memory). */
  events: number
  /** Stored records of the wrong shape, skipped. */
  skipped: number
  /** The browser's answer to `navigator.storage.persist()`, asked only under consent `granted`. */
  persistence: StoragePersistence
  storageFallback?: string
  lastError?: { name: string; message: string }
  disposed: boolean
  /** The engine: state, backend that ran and why the others were dropped, threads, load progress. */
  engine: EngineStatus
  /** With the `experiment` option: this shopper's arm (this page's until storage opened: see ready()). */
  experiment?: ExperimentStatus
}

// Every event of RecommenderEvents, and only those: the type checker refuses a list that misses one.
const EVENT_NAMES = Object.keys({ history: 1, consent: 1, error: 1, progress: 1, impression: 1, select: 1 } satisfies Record<keyof RecommenderEvents, 1>) as (keyof RecommenderEvents)[]

export interface RecommenderEvents {
  /** The history changed here ('local') or in another tab ('remote'). */
  history: { source: 'local' | 'remote' }
  consent: { state: ConsentState }
  /** A fault inpage handled (storage, model, worker). The page keeps working. */
  error: { name: string; message: string }
  /** Model download progress: `loaded` never decreases; the last event has percent 100. */
  progress: Progress
  /** A rerank() answered: the list as it is to be shown, with the arm. For the site's analytics. */
  impression: ImpressionEvent
  /** track() recorded a click on an item of a list shown: its list, position and arm. */
  select: SelectEvent
}

export interface Recommender {
  /**
   * Reorders the server's candidates for this shopper, on the device. Never rejects for engine or model
   * faults: it returns the server's order with `personalized: false` and `why` saying what happened.
   * Rejects with `InvalidCandidatesError` for candidates it cannot rank, `InvalidOptionsError` for bad options.
   */
  rerank(candidates: Candidate[], options?: RerankOptions): Promise<RerankResult>
  /**
   * For evaluation and QA (a demo's uplift view, a store's offline check): reorders `candidates` for the history
   * `events` the caller supplies (track() events, oldest first), by the same path as rerank() (the page selects the
   * events the model reads; the worker scores), without reading or writing the stored history. The events' items
   * take their catalog pack records as track() would, so the answer is the one rerank() gives after tracking them.
   * Needs a recommender created with `storage: 'memory'`: what the worker derives (item vectors, pack records)
   * then stays in its memory. Runs under any consent, 'denied' included (it reads nothing stored and stores
   * nothing). No experiment arm (always the personal order) and no impression event. Rejects with
   * `InvalidEventError` (naming the event's index), `InvalidCandidatesError` or `InvalidOptionsError`; never for
   * engine or model faults.
   */
  rerankFor(events: TrackEvent[], candidates: Candidate[], options?: RerankOptions): Promise<RerankResult>
  /**
   * Starts the worker and model download now (e.g. at idle time) instead of at the first rerank. With
   * `{ encoder: true }` it also loads the text encoder, which waits for its first use when a catalog pack
   * gives the page's text vectors (e.g. when the shopper focuses the search box).
   */
  warmUp(options?: WarmUpOptions): Promise<void>
  /** Records a shopper event. Rejects with `InvalidEventError` for bad input (nothing is written); never for storage faults. */
  track(event: TrackEvent): Promise<void>
  /** Changes consent: 'granted' stores, 'pending' keeps events in memory only, 'denied' erases and keeps nothing. */
  setConsent(state: ConsentState): Promise<void>
  /** A versioned JSON document of everything inpage stored for this shopper, item-vector cache keys included. */
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

const CONSENT = oneOf<ConsentState>(['pending', 'granted', 'denied'])

const packKey = defineOptions<PackKey>('catalog.publicKey', {
  kty: required(oneOf(['EC'])),
  crv: required(oneOf(['P-256'])),
  x: required(string({ pattern: /^[\w-]{43}$/, what: "the key's x, 43 base64url characters" })),
  y: required(string({ pattern: /^[\w-]{43}$/, what: "the key's y, 43 base64url characters" })),
})

const catalogPin = defineOptions<CatalogPin>('catalog', {
  url: required(string({ nonEmpty: true, what: 'the URL of the catalog pack folder' })),
  publicKey: required(nested(packKey, 'the pack\'s P-256 public key as a JWK ({ kty: "EC", crv: "P-256", x, y }), as pack.json gives it')),
})

/** createRecommender()'s options: every key checked once, here, rerankDefaults included. */
export const recommenderOptions: OptionsValidator<RecommenderOptions> = defineOptions<RecommenderOptions>('createRecommender options', {
  name: identifier(),
  consent: CONSENT,
  retention: nested(defineOptions<RetentionOptions>('retention', { maxEvents: number({ above: 0 }), maxAgeDays: number({ above: 0 }) })),
  storage: oneOf(['auto', 'memory']),
  model: string({ nonEmpty: true, what: 'the URL of the model folder' }),
  catalog: custom('the URL of the catalog pack folder, or { url, publicKey }', (v, path) =>
    typeof v === 'string' ? (v === '' ? BAD : v) : v !== null && typeof v === 'object' && !Array.isArray(v) ? catalogPin.parse(v, path) : BAD,
  ),
  backend: oneOf<BackendPreference>(['auto', 'webgpu', 'wasm']),
  wasmPaths: string(),
  workerUrl: custom('the URL of inpage.worker.js (a string or a URL)', (v) =>
    (typeof v === 'string' && v !== '') || (typeof URL !== 'undefined' && v instanceof URL) ? v : BAD,
  ),
  numThreads: number({ int: true, min: 1 }),
  preload: oneOf(['idle', 'need']),
  maxCandidates: number({ int: true, min: 1 }),
  rerankDefaults: nested(rerankOptions),
  experiment: nested(experimentOptions),
  analytics: nested(analyticsOptions),
})

/** A worker's fault is 'engine-error' (a fresh worker may do); the model's files and a call's data are 'model-error'. */
const faultWhy = (err: unknown): Why => (faultKind(err) === 'worker' ? 'engine-error' : 'model-error')
const DEFAULT_BUDGET_MS = defaults.rerank.budgetMs

/** A timer to race against; `clear()` it once the race is decided. */
function timeout(ms: number): { promise: Promise<'timeout'>; clear: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined
  const promise = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)))
  return { promise, clear: () => clearTimeout(timer) }
}

export function createRecommender(raw: RecommenderOptions = {}): Recommender {
  // From here on only the checked copy is read: the page's object may change or hold anything.
  const options = recommenderOptions.parse(raw)
  const emitter = new Emitter<RecommenderEvents>()
  let disposed = false
  const history = new ShopperHistory({
    name: options.name ?? 'default',
    retention: options.retention,
    consent: options.consent,
    storage: options.storage,
    shopperKey: options.experiment !== undefined,
    onChange: (source) => emitter.emit('history', { source }),
    onConsent: (state) => consentChanged(state),
    onError: (e) => emitter.emit('error', e),
  })
  const alive = () => {
    if (disposed) throw new InPageError('DisposedError', 'this recommender was disposed')
  }
  const name = options.name ?? 'default'
  const experiment = options.experiment
  const analytics = new Analytics(
    { impression: (e) => emitter.emit('impression', e), select: (e) => emitter.emit('select', e) },
    options.analytics,
  )
  // Checked once with the other options; each call checks only its own.
  const defaults = options.rerankDefaults ?? {}
  const catalog: { url: string; publicKey?: PackKey } | undefined = typeof options.catalog === 'string' ? { url: options.catalog } : options.catalog
  const engine = options.model
    ? new EngineClient(
        {
          modelUrl: new URL(options.model, globalThis.location?.href).href,
          ...(catalog ? { catalogUrl: new URL(catalog.url, globalThis.location?.href).href } : {}),
          ...(catalog?.publicKey ? { catalogKey: { kty: 'EC', crv: 'P-256', x: catalog.publicKey.x, y: catalog.publicKey.y } as PackKey } : {}),
          retention: { ...DEFAULT_RETENTION, ...options.retention },
          wasmPaths: options.wasmPaths,
          backend: options.backend ?? 'auto',
          name,
          numThreads: options.numThreads,
          ...(options.preload ? { preload: options.preload } : {}),
        },
        options.workerUrl,
        (p) => emitter.emit('progress', p),
        (e) => emitter.emit('error', e),
      )
    : undefined

  /** Whether the worker may keep what it derives (item vectors, pack records, shards): under a grant, and only where the history itself is stored. */
  const keeps = () => history.consent === 'granted' && history.status().storage === 'indexeddb'
  /**
   * Tells the worker what it may keep, when that may have changed: the history opened (its storage known),
   * consent changed (here or in another tab), a grant opened the store (or fell back to memory).
   */
  function storageChanged() {
    engine?.setStorage({ persist: keeps() })
  }
  function consentChanged(state: ConsentState) {
    // Another tab's denial stops this page's worker too (this page's own setConsent() does the same at once).
    if (state === 'denied') cancelEngine()
    storageChanged()
    emitter.emit('consent', { state })
  }
  /** Bumped by forget() and a denial: a rerank that started before answers as if it had not run. */
  let epoch = 0
  /** Erases what inpage derived besides the history (item vectors, cached model files); reports faults. */
  async function eraseDerived() {
    await eraseCaches(name).catch((err) => emitter.emit('error', describeError(err)))
  }
  /** Ends the worker's work in progress (e.g. encoding a long page) and its hold on the vector database. */
  function cancelEngine() {
    epoch++
    engine?.restart()
  }
  // Denied at start (the site's option, or Global Privacy Control): leftovers of an earlier grant go too.
  void history.opened
    .then(() => {
      storageChanged()
      return history.consent === 'denied' ? eraseDerived() : undefined
    })
    .catch(() => {})

  async function rerank(raw: Candidate[], callOptions?: RerankOptions): Promise<RerankResult> {
    alive()
    const t0 = performance.now()
    const candidates = validateCandidates(raw, options.maxCandidates ?? DEFAULT_MAX_CANDIDATES)
    const o: RerankOptions = { ...defaults, ...rerankOptions.parse(callOptions) }
    // Both arms run the model the same way; the holdout's answer is then swapped for the server's order.
    let result = await rank(candidates, o, t0)
    const key = experiment && (await history.shopperKey())
    const variant = key ? assign(key.id, experiment) : 'personalized'
    if (key) result = variant === 'holdout' ? holdoutResult(result, candidates, o.k) : { ...result, variant }
    if (!disposed) analytics.impression(result, o.surface, variant)
    return result
  }

  async function rerankFor(rawEvents: TrackEvent[], raw: Candidate[], callOptions?: RerankOptions): Promise<RerankResult> {
    alive()
    const t0 = performance.now()
    // Anything the worker derives from these events must stay in its memory: only a memory recommender promises that.
    if (options.storage !== 'memory')
      throw invalidOptions("rerankFor() needs a recommender created with storage: 'memory' (what it derives from the events then stays in the worker's memory)")
    const events = validateEvents(rawEvents, options.retention?.maxEvents ?? DEFAULT_RETENTION.maxEvents)
    const candidates = validateCandidates(raw, options.maxCandidates ?? DEFAULT_MAX_CANDIDATES)
    const o: RerankOptions = { ...defaults, ...rerankOptions.parse(callOptions) }
    // The events' items take their pack records now, as their track() calls would have (the worker bounds the queue).
    if (engine) for (const e of events.filter((x) => x.itemId && x.item).slice(-100)) engine.remember({ id: e.itemId!, text: itemText({ title: e.item!.title, brand: e.item!.brand, category: e.item!.category }) })
    return rank(candidates, o, t0, events)
  }

  /** `supplied`: rerankFor's history, read instead of the stored one (and under any consent: nothing stored is read). */
  async function rank(candidates: Candidate[], o: RerankOptions, t0: number, supplied?: StoredEvent[]): Promise<RerankResult> {
    const started = epoch
    const plain = (why: Why, error?: { name: string; message: string }): RerankResult => ({
      ...serverOrder(candidates, o.k),
      personalized: false,
      why,
      backend: engine?.status.info?.backend ?? 'none',
      latencyMs: performance.now() - t0,
      ...(error ? { error } : {}),
    })
    // History erased or consent denied while this call ran: what it computed is of a history that is gone.
    // Disposed meanwhile: the worker is gone; say so by name rather than as a worker fault.
    const stale = () =>
      disposed
        ? plain('engine-error', { name: 'DisposedError', message: 'this recommender was disposed while the call ran' })
        : history.consent === 'denied' && !supplied
          ? plain('consent')
          : plain('no-history')
    if (!supplied && history.consent === 'denied') return plain('consent')
    if (!engine) return plain('no-model')
    const deadline = timeout(Math.max(0, (o.budgetMs ?? DEFAULT_BUDGET_MS) - (performance.now() - t0)))
    try {
      const events = supplied ?? (await history.events())
      if (started !== epoch) return stale()
      // Another tab's grant may have opened the store (or fallen back to memory) since: sent only if it changed.
      storageChanged()
      const failed = engine.failure
      const fault = failed && faultKind(failed) !== 'worker' ? describeError(failed) : undefined
      // The same requests at the same moment whatever the history holds (SECURITY.md, "Requests"): the model and
      // the page's pack entries start loading now, with or without a history, and not after a model fault.
      if (!fault) engine.warmPage(candidates)
      if (!events.some((e) => e.itemId)) {
        // No history yet: these candidates' vectors get ready for the first event.
        if (!fault) engine.prefetch(candidates)
        return plain('no-history')
      }
      if (fault) return plain('model-error', fault)
      if (!engine.isLoaded) {
        const warm = engine.warmUp().then(() => 'ready' as const, (err: unknown) => ({ err }))
        const first = await Promise.race([warm, deadline.promise])
        if (started !== epoch) return stale()
        if (first === 'timeout') return plain('warming-up')
        if (first !== 'ready') return plain(faultWhy(first.err), describeError(first.err))
      }
      const left = (o.budgetMs ?? DEFAULT_BUDGET_MS) - (performance.now() - t0)
      const res = await Promise.race([engine.rerank(events, candidates, o, Math.max(1, left)), deadline.promise])
      if (started !== epoch) return stale()
      // Still fetching the encoder this call needs (its first search, with a pack): it keeps loading.
      if (res === 'timeout') return plain(engine.status.encoder === 'loading' ? 'warming-up' : 'budget')
      return { items: res.items, coverage: res.coverage, personalized: res.personalized, why: res.why, backend: res.backend, ...(res.query ? { query: res.query } : {}), latencyMs: performance.now() - t0 }
    } catch (err) {
      if (started !== epoch) return stale()
      // A call's own fault that arrives past its budget (the worker bounds a hung shard by the same budget, and a
      // busy page's timer can fire after the worker's) is the budget's answer, as if the deadline had won the race.
      if (faultWhy(err) === 'model-error' && performance.now() - t0 >= (o.budgetMs ?? DEFAULT_BUDGET_MS)) return plain('budget')
      const e = describeError(err)
      emitter.emit('error', e)
      // Numbers the model cannot rank (NaN output, overflow, a vector of the wrong size), a catalog pack
      // that cannot be read or verified and an encoder that cannot be loaded (at its first use, with a pack)
      // are this call's fault, not the worker's: it keeps serving calls that need none of them.
      if (faultWhy(err) === 'model-error') return plain('model-error', e)
      engine.restart()
      return plain('engine-error', e)
    } finally {
      deadline.clear()
    }
  }

  function experimentStatus(): { experiment?: ExperimentStatus } {
    const key = experiment && history.keyNow()
    return key ? { experiment: { ...experiment, variant: assign(key.id, experiment), kept: key.kept } } : {}
  }

  return {
    rerank,
    rerankFor,
    async warmUp(raw) {
      alive()
      const o = warmUpOptions.parse(raw)
      if (!engine) throw invalidOptions('warmUp() needs the model option')
      if (engine.status.state === 'error') engine.restart()
      await (o.encoder ? engine.warmEncoder() : engine.warmUp())
    },
    // async: bad input rejects (never a synchronous throw from a Promise-returning call).
    async track(event) {
      alive()
      const e = validateEvent(event)
      analytics.track(e)
      await history.add(e)
      // The item is on the page: its pack record is taken now and kept with the history (never fetched later for it).
      if (engine && e.itemId && e.item && history.consent !== 'denied')
        engine.remember({ id: e.itemId, text: itemText({ title: e.item.title, brand: e.item.brand, category: e.item.category }) })
    },
    async setConsent(state) {
      alive()
      // A bad state is the same mistake as a bad `consent` option, and gets the same name.
      check(CONSENT, state, 'consent')
      // Synchronously, in this order: the history stops (memory now, database next), then the worker's work.
      const erased = history.setConsent(state)
      if (state === 'denied') cancelEngine(), analytics.clear()
      await erased
      storageChanged() // a grant opened the store, or found none
      // The item-vector cache is keyed by the ids of items this shopper saw: denied keeps none of it.
      if (state === 'denied') await eraseDerived()
    },
    async exportData() {
      const doc = await history.export()
      return { ...doc, itemVectorCache: await listVectorCache(name), packRecords: await listPackRecords(name) }
    },
    async forget() {
      const erased = history.forget()
      cancelEngine()
      analytics.clear()
      await erased
      await eraseDerived()
    },
    status: () => ({ ...history.status(), disposed, engine: engine?.status ?? { state: 'idle' }, ...experimentStatus() }),
    ready: () => history.opened,
    flush: () => history.flush(),
    on(name, listener) {
      // A misspelt event name would never fire: refused like a misspelt option.
      if (!EVENT_NAMES.includes(name)) throw invalidOptions(`unknown event "${String(name)}"; inpage emits: ${EVENT_NAMES.join(', ')}`)
      if (typeof listener !== 'function') throw invalidOptions(`the listener of "${name}" must be a function`)
      return emitter.on(name, listener)
    },
    async dispose() {
      if (disposed) return
      disposed = true
      epoch++ // calls still running answer with the server's order at once
      engine?.stop()
      await history.dispose()
      emitter.clear()
    },
  }
}
