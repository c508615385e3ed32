// The model itself, independent of where it runs: tokenizer + two ONNX sessions + public item data.
// The browser worker builds it with onnxruntime-web; eval builds it in Node with onnxruntime-node.

import { Tokenizer } from '@huggingface/tokenizers'
import type { Neighbors } from '../core/types'
import { InPageError } from '../core/errors'
import { closedFormUser, packSettings, type ClosedForm, type Manifest } from './manifest'
import type { ScoreSettings } from '../pack/format'
import { floatOutput, type OrtRuntime, type OrtSession } from './ort'

/** Item events the sequence model reads, mapped to the manifest's event types. */
const MODEL_TYPE: Record<string, string> = { view: 'view', dwell: 'view', click: 'click', add_to_cart: 'add_to_cart', purchase: 'purchase' }

/** What turns text into a text vector: the tokenizer and the encoder session. */
export interface TextEncoderParts {
  session: OrtSession
  tokenizer: Tokenizer
}

export class InpageModel {
  private readonly collabIndex = new Map<string, number>()
  readonly neighbors: Neighbors | undefined
  private encoderParts: Promise<TextEncoderParts> | undefined
  private encoderDone: TextEncoderParts | undefined

  /**
   * `encoder` is called once, at the first need of it (a query, an item without a pack vector): the browser
   * fetches the encoder only then. A failed load stays failed for this model (no download on every call).
   */
  constructor(
    readonly manifest: Manifest,
    private readonly ort: OrtRuntime,
    private readonly encoder: () => Promise<TextEncoderParts>,
    /** The user graph's session; none when the manifest declares its closed form (computed here, no onnxruntime). */
    private readonly user: OrtSession | undefined,
    files: {
      collabIndex?: { ids: string[]; layout?: { prior?: [number, number] } }
      collab?: ArrayBuffer
      neighbors?: unknown
    },
  ) {
    if (files.collab && files.collabIndex) {
      this.collab = new Float32Array(files.collab)
      files.collabIndex.ids.forEach((id, i) => this.collabIndex.set(id, i))
      const prior = files.collabIndex.layout?.prior
      if (prior) this.priorRange = [this.dims.text + prior[0], this.dims.text + prior[1]]
    } else if (manifest.aggregates && this.dims.collab === 1) {
      // Contract 3 (catalog-independent): the public part of an item vector is the popularity prior alone.
      this.priorRange = [this.dims.text, this.dims.text + 1]
    }
    this.neighbors = files.neighbors ? readNeighbors(files.neighbors) : undefined
  }
  /** Session runs, one at a time. */
  private runs: Promise<unknown> = Promise.resolve()

  /**
   * onnxruntime-web's WASM backend cannot run two inferences at once (its sessions share one wasm
   * instance: overlapping reranks in the worker failed inside ORT); every run, and the encoder's session
   * creation, waits for the one before.
   */
  exclusive<T>(run: () => Promise<T>): Promise<T> {
    const next = this.runs.then(run, run)
    this.runs = next.catch(() => {})
    return next
  }

  /** The tokenizer of the model's files. */
  static tokenizerFrom(file: (name: string) => ArrayBuffer): Tokenizer {
    return new Tokenizer(readJson(file, 'tokenizer.json') as object, readJson(file, 'tokenizer_config.json') as object)
  }

  /** Builds the model from its verified files: the worker's come from fetch, eval's from disk. */
  static fromFiles(
    manifest: Manifest,
    ort: OrtRuntime,
    encoder: OrtSession | (() => Promise<TextEncoderParts>),
    user: OrtSession | undefined,
    file: (name: string) => ArrayBuffer,
  ): InpageModel {
    const json = (f: string) => readJson(file, f)
    const parts = typeof encoder === 'function' ? encoder : () => Promise.resolve({ session: encoder, tokenizer: InpageModel.tokenizerFrom(file) })
    return new InpageModel(manifest, ort, parts, user, {
      collabIndex: manifest.collab ? (json(manifest.collab.index) as { ids: string[] }) : undefined,
      collab: manifest.collab ? file(manifest.collab.file) : undefined,
      neighbors: manifest.scoring?.knn?.file && file(manifest.scoring.knn.file) ? json(manifest.scoring.knn.file) : undefined,
    })
  }

  /** Whether the text encoder is loaded (it loads at its first use, or with encoderReady()). */
  get encoderLoaded(): boolean {
    return this.encoderDone !== undefined
  }

  /** Loads the encoder now if it is not loaded yet; rejects with the load's named error. */
  encoderReady(): Promise<TextEncoderParts> {
    this.encoderParts ??= this.encoder().then((p) => (this.encoderDone = p))
    return this.encoderParts
  }

  private collab: Float32Array | undefined
  /** Where the popularity prior sits in an item vector, if the model ships one (collab.json `layout`). */
  readonly priorRange: readonly [number, number] | undefined

  /**
   * A public vector from a catalog pack's popularity alone: zeros but the prior, log1p(pop) / priorScale
   * (the collaborative part has no meaning outside the model's training catalog). Undefined when the
   * model has no prior.
   */
  publicFromPopularity(pop: number): Float32Array | undefined {
    if (!this.priorRange) return undefined
    const v = new Float32Array(this.dims.collab)
    v.fill(Math.log1p(Math.max(0, pop)) / packSettings(this.manifest).priorScale, this.priorRange[0] - this.dims.text, this.priorRange[1] - this.dims.text)
    return v
  }

  /** The item vector without its popularity prior (the same vector when the model has none). */
  withoutPrior(v: Float32Array): Float32Array {
    if (!this.priorRange) return v
    const out = v.slice()
    out.fill(0, this.priorRange[0], this.priorRange[1])
    return out
  }

  get dims() {
    return this.manifest.dims
  }

  /** Token ids exactly as the Python tokenizer makes them: [CLS] … [SEP], cut to maxTokens. */
  async tokenize(text: string): Promise<number[]> {
    return this.tokens((await this.encoderReady()).tokenizer, text)
  }

  private tokens(tokenizer: Tokenizer, text: string): number[] {
    const ids = tokenizer.encode(text).ids
    const max = this.manifest.encoder.maxTokens
    return ids.length > max ? [...ids.slice(0, max - 1), ids[ids.length - 1]!] : ids
  }

  /**
   * Text vectors. One text per run by default: int8 dynamic quantization scales activations by the
   * whole batch, so batching would make an item's vector depend on its batch-mates (and on padding),
   * and a cached vector would differ from a fresh one. On WASM one-by-one costs nothing measurable
   * (50 texts: 814 ms at batch 1, 821 ms at batch 32). Larger batches are sorted by length and padded
   * to the longest.
   */
  async encode(texts: readonly string[], batchSize = 1): Promise<Float32Array[]> {
    const { session, tokenizer } = await this.encoderReady()
    const out = new Array<Float32Array>(texts.length)
    const toks = texts.map((t) => this.tokens(tokenizer, t))
    // Similar lengths together: less padding, less work.
    const order = toks.map((_, i) => i).sort((a, b) => toks[b]!.length - toks[a]!.length)
    const d = this.dims.text
    for (let s = 0; s < order.length; s += batchSize) {
      const idx = order.slice(s, s + batchSize)
      const len = idx.reduce((m, i) => Math.max(m, toks[i]!.length), 0)
      const ids = new BigInt64Array(idx.length * len)
      const mask = new BigInt64Array(idx.length * len)
      idx.forEach((i, r) => toks[i]!.forEach((t, c) => {
        ids[r * len + c] = BigInt(t)
        mask[r * len + c] = 1n
      }))
      const res = await this.exclusive(() => session.run({
        input_ids: new this.ort.Tensor('int64', ids, [idx.length, len]),
        attention_mask: new this.ort.Tensor('int64', mask, [idx.length, len]),
      }))
      const data = floatOutput(res, this.manifest.encoder.output)
      idx.forEach((i, r) => (out[i] = data.slice(r * d, (r + 1) * d)))
    }
    return out
  }

  /** The public collaborative vector shipped for an item, if any. */
  collabVector(id: string): Float32Array | undefined {
    const i = this.collabIndex.get(id)
    const d = this.dims.collab
    return i === undefined || !this.collab ? undefined : this.collab.subarray(i * d, (i + 1) * d)
  }

  /** item vector = [text vector, public vector or zeros]. */
  itemVector(text: Float32Array, collab?: ArrayLike<number>): Float32Array {
    const v = new Float32Array(this.dims.item)
    v.set(text.subarray(0, this.dims.text))
    if (collab && collab.length === this.dims.collab) v.set(collab, this.dims.text)
    return v
  }

  eventTypeId(type: string): number | undefined {
    const t = MODEL_TYPE[type]
    return t === undefined ? undefined : this.manifest.user.eventTypes[t]
  }

  /**
   * User vectors, one run per history. Not one padded batch: int8 dynamic quantization scales
   * activations by the whole input tensor, so a batch would change each row's result and a
   * reason's contribution would no longer be the exact drop when its event is left out.
   * Each history: item vectors oldest first, with their event type ids.
   */
  async userVectors(histories: readonly { vecs: readonly Float32Array[]; types: readonly number[] }[], settings?: ScoreSettings['user']): Promise<Float32Array[]> {
    const cf = this.closedForm(settings)
    if (cf) return histories.map((h) => closedFormUser(cf, h.vecs, this.dims.item))
    const out: Float32Array[] = []
    for (const h of histories) out.push((await this.userBatch([h]))[0]!)
    return out
  }

  private async userBatch(histories: readonly { vecs: readonly Float32Array[]; types: readonly number[] }[]): Promise<Float32Array[]> {
    const d = this.dims.item
    const L = Math.max(1, ...histories.map((h) => h.vecs.length))
    const B = histories.length
    const vecs = new Float32Array(B * L * d)
    const types = new BigInt64Array(B * L)
    const mask = new BigInt64Array(B * L)
    histories.forEach((h, b) => {
      const pad = L - h.vecs.length
      h.vecs.forEach((v, j) => {
        vecs.set(v, (b * L + pad + j) * d)
        types[b * L + pad + j] = BigInt(h.types[j]!)
        mask[b * L + pad + j] = 1n
      })
    })
    const user = this.user
    if (!user) throw new InPageError('ModelLoadError', 'the user model has no session and no closed form')
    const res = await this.exclusive(() => user.run({
      hist_vecs: new this.ort.Tensor('float32', vecs, [B, L, d]),
      hist_types: new this.ort.Tensor('int64', types, [B, L]),
      hist_mask: new this.ort.Tensor('int64', mask, [B, L]),
    }))
    const data = floatOutput(res, this.manifest.user.output)
    return histories.map((_, b) => data.slice(b * d, (b + 1) * d))
  }

  /**
   * The declared closed form, with a store's settings (a pack's `tuning.user`) in place of its recency decay and its
   * prior weight (the bias in the prior dimension). Undefined for a model without one (its graph decides).
   */
  closedForm(settings?: ScoreSettings['user']): ClosedForm | undefined {
    const cf = this.manifest.user.closedForm
    if (!cf || !settings) return cf
    const prior = this.priorRange?.[0]
    const bias = cf.bias.filter(([d]) => d !== prior)
    return { ...cf, decay: settings.decay, bias: prior === undefined ? bias : [...bias, [prior, settings.prior]] }
  }

  /** Whether user vectors need onnxruntime (no closed form declared). */
  static needsUserSession(manifest: Manifest): boolean {
    return !manifest.user.closedForm
  }

  async release() {
    if (this.encoderParts) await (await this.encoderParts.catch(() => undefined))?.session.release?.()
    await this.user?.release?.()
  }
}

function readJson(file: (name: string) => ArrayBuffer, name: string): unknown {
  return JSON.parse(new TextDecoder().decode(file(name)))
}

export function readNeighbors(raw: unknown): Neighbors {
  const items = (raw as { items?: Record<string, [string, number][]> })?.items ?? {}
  const out = new Map<string, Map<string, number>>()
  for (const [h, row] of Object.entries(items)) out.set(h, new Map(row.map(([i, w]) => [i, w])))
  return out
}
