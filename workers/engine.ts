// The engine: runs in a Web Worker, exposed with comlink. Loads and verifies the model, picks the
// backend, keeps item vectors cached, and answers rerank calls. No model work ever runs on the page.

import * as Comlink from 'comlink'
import * as ort from 'onnxruntime-web/webgpu'
import { describeError, InPageError } from '../src/core/errors'
import { itemText } from '../src/ranking/text'
import type { Candidate, RerankOptions } from '../src/ranking/types'
import type { StoredEvent } from '../src/core/types'
import { chooseBackend, wasmThreads, type BackendChoice } from './backend'
import { dropOtherVersions, loadFiles, loadManifest, modelFiles } from './loader'
import { coreFiles, encoderFiles, type Manifest } from '../src/model/manifest'
import { RUNTIME, runtimeFile, runtimeFor, startRuntime } from './runtime'
import { packDbName, vectorDbName } from '../src/storage/erase'
import { InpageModel, type TextEncoderParts } from '../src/model/model'
import type { OrtSession } from '../src/model/ort'
import { BoundedMap, modelReads, NO_HISTORY, PersonalizeCaches, score, type CatalogLookup } from '../src/ranking/personalize'
import { rankCandidates, serverOrder } from '../src/ranking/rerank'
import { type PackItem, type PackManifest, type PackRecord, type ScoreSettings } from '../src/pack/format'
import { decodeRecord } from './decoded'
import { PackSource } from './pack'
import { RecordStore, type KeptRecord } from './records'
import { VectorCache } from './vector-cache'
import { defaults } from '../src/core/defaults'
import { codeOfError, type CatalogReport, type EngineApi, type EngineConfig, type EngineInfo, type EngineRerank, type Progress, type RejectedRecord, type RerankRequest, type TrackedItem, type WorkerStorage } from '../src/protocol/engine'

class Engine implements EngineApi {
  private model: InpageModel | undefined
  private cache: VectorCache | undefined
  private loading: Promise<EngineInfo> | undefined
  private information: EngineInfo | undefined
  /** User vectors, item vectors and query vectors of recent calls. */
  private readonly caches = new PersonalizeCaches()
  private pack: PackSource | undefined
  /** Pack records servers attached to candidates, by id (bounded, checked): a track() about one keeps it. */
  private readonly attached = new BoundedMap<string, PackRecord>(5000)
  /** The records of the shopper's history items, kept under the history's consent rules. */
  private records: RecordStore | undefined
  /** Records refused since the worker started (newest last, bounded): reported in status(). */
  private readonly rejected: RejectedRecord[] = []
  /** track() calls' records still being fetched: a rerank right after a track() waits for them. */
  private remembering: Promise<void> = Promise.resolve()

  ping(): true {
    return true
  }

  /** Takes the life lock; resolves once it is held (the page then waits on it). */
  async hold(lock: string): Promise<void> {
    const locks = (self.navigator as Navigator & { locks?: LockManager }).locks
    if (!locks) return
    await new Promise<void>((held) => void locks.request(lock, () => (held(), new Promise<never>(() => {}))))
  }

  load(cfg: EngineConfig, onProgress?: (p: Progress) => void, onRuntime?: () => void): Promise<EngineInfo> {
    this.loading ??= this.doLoad(cfg, onProgress, onRuntime).catch((err) => {
      this.loading = undefined // a later call may try again (e.g. after the file is fixed)
      throw err
    })
    return this.loading
  }

  private async doLoad(cfg: EngineConfig, onProgress?: (p: Progress) => void, onRuntime?: () => void): Promise<EngineInfo> {
    const t0 = performance.now()
    const base = new URL(cfg.modelUrl, self.location.href).href
    this.pack = cfg.catalogUrl ? new PackSource(new URL(cfg.catalogUrl, self.location.href).href, cfg.catalogKey) : undefined
    const retention = cfg.retention ?? defaults.retention
    // Kept records come from a pack's track() calls: without a pack there is nothing to keep (and no database).
    this.records = this.pack ? new RecordStore(packDbName(cfg.name), retention.maxEvents, retention.maxAgeDays * 86_400_000) : undefined
    this.persist(this.persistent)
    const [manifest, choice, packInfo] = await Promise.all([loadManifest(base), chooseBackend(cfg.backend), this.pack?.info().catch(() => undefined)])
    const { threads, reason: threadsReason } = wasmThreads({
      requested: cfg.numThreads,
      isolated: self.crossOriginIsolated === true,
      sharedMemory: typeof SharedArrayBuffer === 'function',
      cores: navigator.hardwareConcurrency,
      max: defaults.maxThreads,
    })
    const wasmPaths = new URL(cfg.wasmPaths ?? './ort/', self.location.href).href
    const runtime = runtimeFor(choice.order[0]!)
    // With a pack of this model's text vectors, a category page needs no encoding: the encoder and its
    // tokenizer wait for their first use. Without one (or if pack.json cannot be read now) every item is
    // encoded, so they load now.
    const eager = !(packInfo && packHasTextVectors(packInfo, manifest))
    // A user model declared as its closed form is computed here: with the encoder waiting too, nothing needs
    // onnxruntime yet, and neither its wasm nor any model file is fetched before the first personal answer.
    const deferred = !eager && !InpageModel.needsUserSession(manifest)
    const names = [...coreFiles(manifest, { neighbors: !this.pack }), ...(eager ? encoderFiles(manifest) : [])]
    let fromCache = true
    const { bytes: files, modules } = await loadFiles([...(deferred ? [] : [runtimeFile(runtime, wasmPaths)]), ...modelFiles(base, manifest, names)], (p) => {
      fromCache &&= p.fromCache
      onProgress?.({ ...p, stage: 'model' })
    })
    const tFiles = performance.now()
    void dropOtherVersions(RUNTIME.name, RUNTIME.version).catch(() => {})
    void dropOtherVersions(manifest.name, manifest.version).catch(() => {})
    const ortStart: OrtStart = { runtime, wasmPaths, threads, choice, onRuntime }

    let backend: 'webgpu' | 'wasm' = choice.order[0]!
    let dropped: EngineInfo['dropped'] = [...choice.dropped]
    let encoder: OrtSession | (() => Promise<TextEncoderParts>) = () => this.fetchEncoder(base, manifest, onProgress)
    let user: OrtSession | undefined
    if (!deferred) {
      startRuntime(runtime, wasmPaths, modules.get(runtime.wasm)!, threads, () => void onRuntime?.())
      const started = await this.sessions(ortStart, [...(InpageModel.needsUserSession(manifest) ? [files.get(manifest.user.file)!] : []), ...(eager ? [files.get(manifest.encoder.file)!] : [])])
      ;({ backend, dropped } = started)
      user = InpageModel.needsUserSession(manifest) ? started.sessions.shift() : undefined
      if (eager) encoder = started.sessions[0]!
      this.ort = Promise.resolve(started)
    } else this.ortStart = ortStart
    this.model = InpageModel.fromFiles(manifest, ort, encoder, user, (f) => files.get(f)!)
    const model = this.model
    this.cache = new VectorCache(vectorDbName(cfg.name), `${manifest.name}@${manifest.version}`, manifest.dims.text, (texts) => model.encode(texts))
    this.persist(this.persistent)
    this.information = {
      model: { name: manifest.name, version: manifest.version },
      backend,
      dropped,
      ...(choice.adapter ? { adapter: choice.adapter } : {}),
      threads,
      threadsReason,
      runtime: runtime.wasm,
      runtimeLoaded: !deferred,
      userModel: InpageModel.needsUserSession(manifest) ? 'onnx' : 'closed-form',
      encoderLoaded: eager,
      loadMs: performance.now() - t0,
      // ORT's wasm compiles while it downloads (filesMs); the first session creation includes starting its threads.
      loadTimings: { filesMs: tFiles - t0, sessionsMs: performance.now() - tFiles },
      fromCache,
      reads: modelReads(model),
    }
    this.preload = deferred && (cfg.preload ?? defaults.preload) === 'idle'
    if (this.preload) this.preloadAfter(defaults.preloadMs.afterLoad)
    return this.information
  }

  /** onnxruntime once started: the backend whose sessions could be created, and the sessions. */
  private ort: Promise<{ backend: 'webgpu' | 'wasm'; dropped: EngineInfo['dropped'] }> | undefined
  /** What starting onnxruntime later needs, while it waits (closed-form user model with a pack). */
  private ortStart: OrtStart | undefined

  /** Sessions from verified model bytes, on the first backend of the choice that can create them all. */
  private async sessions(o: OrtStart, models: ArrayBuffer[]): Promise<{ backend: 'webgpu' | 'wasm'; dropped: EngineInfo['dropped']; sessions: OrtSession[] }> {
    const dropped = [...o.choice.dropped]
    for (const ep of o.choice.order) {
      try {
        const sessions: OrtSession[] = []
        for (const bytes of models) sessions.push(await ort.InferenceSession.create(new Uint8Array(bytes), sessionOptions(ep)))
        return { backend: ep, dropped, sessions }
      } catch (err) {
        dropped.push({ backend: ep, reason: `session creation failed: ${describeError(err).message}` })
      }
    }
    throw new InPageError('ModelLoadError', `no backend could run the model: ${dropped.map((d) => `${d.backend}: ${d.reason}`).join('; ')}`)
  }

  /**
   * Loads onnxruntime and the encoder ahead of need, `ms` from now, once: a later search or unknown item then
   * waits for nothing. The moments are fixed by the load and the page's calls, never by the history, so the
   * requests say nothing of it (SECURITY.md).
   */
  private preloadAfter(ms: number) {
    const due = performance.now() + ms
    if (!this.preload || this.preloadDue <= due) return
    clearTimeout(this.preloading)
    this.preloadDue = due
    this.preloading = setTimeout(() => {
      this.preload = false
      void this.model?.encoderReady().catch(() => {})
    }, ms)
  }
  private preload = false
  private preloadDue = Infinity
  private preloading: ReturnType<typeof setTimeout> | undefined

  /**
   * The encoder and its tokenizer, at their first use: fetched in the background of the call that needs them,
   * verified and cached like the rest, with their own progress series (stage 'encoder'); its 100 % comes once
   * the session exists, so a page shows the encoder ready only when it is.
   */
  private async fetchEncoder(base: string, manifest: Manifest, onProgress?: (p: Progress) => void): Promise<TextEncoderParts> {
    let fromCache = true
    const start = this.ortStart
    const specs = [...(start && !this.ort ? [runtimeFile(start.runtime, start.wasmPaths)] : []), ...modelFiles(base, manifest, encoderFiles(manifest))]
    const { bytes: files, modules } = await loadFiles(specs, (p) => {
      fromCache &&= p.fromCache
      if (p.percent < 100) onProgress?.({ ...p, stage: 'encoder' })
    })
    let session: OrtSession
    if (!this.ort && start) {
      // onnxruntime starts now, its backend chosen by the encoder's session (as the user session chooses it otherwise).
      const t = performance.now()
      startRuntime(start.runtime, start.wasmPaths, modules.get(start.runtime.wasm)!, start.threads, () => void start.onRuntime?.())
      const started = this.model!.exclusive(() => this.sessions(start, [files.get(manifest.encoder.file)!]))
      this.ort = started
      const { backend, dropped, sessions } = await started.catch((err) => {
        this.ort = undefined
        throw err
      })
      session = sessions[0]!
      Object.assign(this.information!, { backend, dropped, runtimeLoaded: true, runtimeMs: performance.now() - t })
    } else {
      const { backend } = await this.ort!
      session = await this.model!.exclusive(() => ort.InferenceSession.create(new Uint8Array(files.get(manifest.encoder.file)!), sessionOptions(backend)))
    }
    const tokenizer = InpageModel.tokenizerFrom((f) => files.get(f)!)
    const total = specs.reduce((s, f) => s + f.bytes, 0)
    // The last report says where the model now runs (the page's status updates its engine info from it).
    const { backend, dropped, runtimeMs } = this.information!
    onProgress?.({ stage: 'encoder', file: '', loaded: total, total, percent: 100, fromCache, runtime: { backend, dropped, ...(runtimeMs !== undefined ? { runtimeMs } : {}) } })
    return { session, tokenizer }
  }

  private loaded(): InpageModel {
    if (!this.model) throw new InPageError('EngineError', 'the model is not loaded')
    return this.model
  }

  /** Whether anything may be kept beyond this worker's memory: as the page last said (setStorage), false until then. */
  private persistent = false

  /** The page sends this at the start and whenever consent or its storage changes; it applies from the next message on. */
  setStorage(storage: WorkerStorage): void {
    this.persist(storage.persist === true)
  }

  private persist(on: boolean) {
    this.persistent = on
    if (this.cache) this.cache.persistent = on
    if (this.records) this.records.persistent = on
    if (this.pack) this.pack.persistent = on
  }

  async rerank(req: RerankRequest): Promise<EngineRerank> {
    const model = this.loaded()
    const historyIds = req.events.map((e) => e.itemId!)
    // The runtime may come after this page's own requests, off their path; timed from the page's call, not the history.
    this.preloadAfter(defaults.preloadMs.afterPage)
    const pack = await this.lookup(model, req.candidates, historyIds, req.timeoutMs)
    // A history item with no text vector here, while the encoder waits for its first use, is left out of the user
    // vector: loading the encoder because of the history would be a request the history chose.
    let unavailable: Set<string> | undefined
    if (!model.encoderLoaded && !this.information!.encoderLoaded) {
      const lacking = req.events.filter((e) => !pack?.lookup.get(e.itemId!)?.text)
      const have = lacking.length ? await this.cache!.cached(lacking.map((e) => ({ id: e.itemId!, text: itemText({ title: e.item!.title, brand: e.item!.brand, category: e.item!.category }) }))) : []
      unavailable = new Set(lacking.filter((_, i) => !have[i]).map((e) => e.itemId!))
    }
    // The page sent the events the model reads (selectModelEvents, on the side that owns the history): used as they are.
    const { query, popularityPrior } = req.options
    // A search before the encoder is here is ranked by the server's relevance and the history (QueryPath 'server':
    // as accurate on valid, eval/README.md); the encoder loads now, for the searches after it. The query is the
    // page's, so this request says nothing of the history.
    const queryVector = !query || model.encoderLoaded || this.information!.encoderLoaded
    if (!queryVector) void model.encoderReady().catch(() => {})
    const scores = await score(model, req.events, req.candidates, { source: this.cache!, caches: this.caches, catalog: pack?.lookup, unavailable, query, queryVector, popularityPrior, settings: pack?.settings })
    const out =
      scores === NO_HISTORY
        ? { ...serverOrder(req.candidates, req.options.k), personalized: false, why: NO_HISTORY }
        : { ...rankCandidates(scores, req.options, new Set(req.purchased)), personalized: true, why: 'personalized' as const }
    return { ...out, backend: this.information!.runtimeLoaded ? this.information!.backend : 'js', ...(pack ? { catalog: pack.report } : {}) }
  }

  /**
   * The pack data of a call. Candidates: the record the server attached, else the pack's shards (fetched: the
   * item is on the page). History items: only what this device holds (records kept from track() calls, attached
   * records, shards this worker read for the page); never a request. A record of the wrong shape is dropped and
   * named in the report (a signed shard's fails the call: the pack itself is broken).
   */
  private async lookup(model: InpageModel, candidates: readonly Candidate[], historyIds: readonly string[], timeoutMs?: number): Promise<{ lookup: CatalogLookup; report: CatalogReport; settings?: ScoreSettings } | undefined> {
    // A track() call's record still on its way waits with this call's budget at most (its own fetch is bounded too).
    await Promise.race([this.remembering, new Promise((r) => setTimeout(r, timeoutMs ?? defaults.packFetchMs))])
    const current = `${model.manifest.name}@${model.manifest.version}`
    const rejected: RejectedRecord[] = []
    const items = new Map<string, PackItem>()
    const take = (id: string, r: unknown, source: string, text: boolean) => {
      try {
        const rec = r as Record<string, unknown>
        items.set(id, decodeRecord(rec, text, model.dims.text))
        return true
      } catch (err) {
        this.reject(rejected, { id, source, reason: (err as Error).message })
        return false
      }
    }
    for (const c of candidates)
      if (c.pack !== undefined && take(c.id, c.pack, 'attached', true)) this.attached.set(c.id, c.pack)
    const candIds = [...new Set(candidates.map((c) => c.id))].filter((id) => !items.has(id))
    const histIds = [...new Set(historyIds)].filter((id) => !items.has(id) && !candIds.includes(id))
    const asked = new Set([...candidates.map((c) => c.id), ...historyIds]).size
    const kept = (await this.records?.get(histIds)) ?? new Map<string, KeptRecord>()
    for (const [id, k] of kept) take(id, k.r, k.pack, k.pack === 'attached' || k.model === current)
    for (const id of histIds) if (!items.has(id) && this.attached.has(id)) take(id, this.attached.get(id), 'attached', true)
    if (!this.pack && !items.size) return undefined
    let name = 'attached'
    let textVectors = true
    let stats = { files: 0, bytes: 0, fromNetwork: 0 }
    let settings: ScoreSettings | undefined
    /** History ids whose record may exist in the pack but is not on this device. */
    const unknown = new Set<string>()
    if (this.pack) {
      const m = await this.pack.info()
      name = `${m.name}@${m.version}`
      textVectors = packHasTextVectors(m, model.manifest)
      // Settings chosen on the store's data with this model; another model's are not this one's.
      if (m.model === current) settings = m.tuning
      const got = await this.pack.get(candIds, { timeoutMs })
      const rest = histIds.filter((id) => !items.has(id))
      const local = await this.pack.get(rest, { network: false })
      for (const id of rest) if (!local.items.has(id) && !this.pack.holdsShardOf(m, id)) unknown.add(id) // its shard was never read here
      for (const [id, r] of [...got.items, ...local.items])
        if (!take(id, r, name, textVectors)) throw new InPageError('CatalogDataError', `${name}: the record of "${id}" ${rejected.at(-1)!.reason}`)
      stats = got.stats
    }
    const lookup: CatalogLookup = { get: (id) => items.get(id), unknown: (id) => unknown.has(id) }
    return {
      lookup,
      report: { pack: name, asked, missing: asked - items.size, ...stats, textVectors, ...(settings ? { tuned: true } : {}), ...(this.rejected.length ? { rejected: [...this.rejected] } : {}) },
      settings,
    }
  }

  private reject(now: RejectedRecord[], r: RejectedRecord) {
    now.push(r)
    this.rejected.push(r)
    if (this.rejected.length > 20) this.rejected.shift()
  }

  /**
   * A track() call's items: their pack records are taken now (the item is on the page: the request is the
   * track() call's, not the history's) and kept with the history. An item the pack does not cover (or whose
   * text vector is another model's) is encoded now, so later pages score it without any request.
   */
  remember(tracked: TrackedItem[]): Promise<void> {
    const run = async () => {
      const model = this.loaded()
      const current = `${model.manifest.name}@${model.manifest.version}`
      const keep: [string, Omit<KeptRecord, 'ts'>][] = []
      let got = new Map<string, PackRecord>()
      let m: PackManifest | undefined
      const fromServer = tracked.filter((t) => this.attached.has(t.id))
      for (const t of fromServer) keep.push([t.id, { pack: 'attached', model: current, r: this.attached.get(t.id)! }])
      if (this.pack) {
        m = await this.pack.info()
        got = (await this.pack.get(tracked.filter((t) => !this.attached.has(t.id)).map((t) => t.id))).items
        for (const [id, r] of got) keep.push([id, { pack: `${m.name}@${m.version}`, model: m.model, r }])
      }
      await this.records?.put(keep)
      const withText = m && packHasTextVectors(m, model.manifest)
      const encode = tracked.filter((t) => !this.attached.get(t.id)?.t && !(withText && got.get(t.id)?.t))
      if (encode.length) await this.cache!.textVectors(encode.map((t) => ({ id: t.id, text: t.text })))
    }
    const p = this.remembering.then(run, run)
    this.remembering = p.catch(() => {})
    return p
  }

  /** Fetches the pack entries of the page's candidates while the model loads, so the first rerank finds them in memory. */
  warmPack(ids: string[]): void {
    void this.pack?.get(ids).catch(() => {})
  }

  /** Readies candidates ahead of need (a first visit has no history yet): their pack entries, else their text vectors. */
  async prefetch(candidates: Candidate[]): Promise<void> {
    const model = this.loaded()
    const pack = await this.lookup(model, candidates, [])
    const todo = candidates.filter((c) => !pack?.lookup.get(c.id)?.text)
    if (todo.length) await this.cache!.textVectors(todo.map((c) => ({ id: c.id, text: itemText(c) })))
  }

  /** Loads the text encoder now if it waits for its first use (a search box the shopper focused). */
  async loadEncoder(): Promise<void> {
    await this.loaded().encoderReady()
  }

  /** Text vectors straight from the encoder (parity checks, benchmarks); moved to the page, not copied. */
  async encode(texts: string[]): Promise<Float32Array[]> {
    return moved(await this.loaded().encode(texts))
  }

  tokenize(text: string): Promise<number[]> {
    return this.loaded().tokenize(text)
  }

  async userVectors(histories: { vecs: Float32Array[]; types: number[] }[]): Promise<Float32Array[]> {
    return moved(await this.loaded().userVectors(histories))
  }

  itemVector(text: Float32Array, id: string): Float32Array {
    const m = this.loaded()
    const v = m.itemVector(text, m.collabVector(id))
    return Comlink.transfer(v, [v.buffer as ArrayBuffer])
  }

  cacheStats() {
    return { hits: this.cache?.hits ?? 0, misses: this.cache?.misses ?? 0 }
  }
}

/** What starting onnxruntime needs: its build, where its files are, threads, the backends to try, the page's hook. */
interface OrtStart {
  runtime: ReturnType<typeof runtimeFor>
  wasmPaths: string
  threads: number
  choice: BackendChoice
  onRuntime?: () => void
}

/** Text vectors made with another encoder would not match this model's: those items are encoded instead. */
function packHasTextVectors(m: PackManifest, manifest: Manifest): boolean {
  return m.textVectors === 'int8' && m.model === `${manifest.name}@${manifest.version}` && m.dims.text === manifest.dims.text
}

function sessionOptions(ep: 'webgpu' | 'wasm') {
  return { executionProviders: [ep], graphOptimizationLevel: 'all' as const }
}

/** Transfers fresh vectors (each owns its buffer) to the page instead of copying them. */
function moved(vecs: Float32Array[]): Float32Array[] {
  return Comlink.transfer(vecs, vecs.map((v) => v.buffer as ArrayBuffer))
}

// Errors cross to the page with their fault code (comlink sends only name, message and stack): the page decides
// from the code. The page's side rebuilds the error with every field it was sent.
const thrown = Comlink.transferHandlers.get('throw')!
Comlink.transferHandlers.set('throw', {
  canHandle: thrown.canHandle,
  serialize(value) {
    const [wire, transfer] = thrown.serialize(value)
    const w = wire as { isError?: boolean; value?: { name?: unknown; code?: string } }
    if (w.isError && w.value) w.value.code = codeOfError(String(w.value.name))
    return [wire, transfer]
  },
  deserialize: thrown.deserialize,
})

Comlink.expose(new Engine())
