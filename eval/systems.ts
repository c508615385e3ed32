// The systems' shared parts: their metrics per run, the baselines' tables (built once per context), the
// text-only user vector, and a memoising encoder for repeated search queries.

import type { Neighbors } from '../src/ranking/score'
import type { InpageModel } from '../src/model/model'
import { itemKnnNeighbors, transitions, type ItemKnnSettings } from './baselines'
import { Exposure, metricsFromRanks, type RankMetrics } from './metrics'
import type { Context } from './context'
import { ListQuality, ReasonQuality, type CatalogFacts, type ListMetrics, type ReasonMetrics } from './exposure'

/** Reason rows (ReasonMetrics) come with the inpage systems that explain (category and search protocols). */
export interface SystemMetrics extends RankMetrics, ListMetrics, Partial<ReasonMetrics> {
  'coverage@10': number
  'gini@10': number
  rows: number
}

/** Recency-weighted mean of history text vectors (most recent weight 1, then decay^p). */
export function textUser(ctx: Context, hist: readonly number[], decay: number): Float32Array {
  const u = new Float32Array(ctx.model.dims.text)
  hist.forEach((i, j) => {
    const w = decay ** (hist.length - 1 - j)
    const v = ctx.textVecs[i]!
    for (let k = 0; k < u.length; k++) u[k]! += w * v[k]!
  })
  return u
}

/** A model whose encoder remembers the texts it has seen (search queries repeat across rows). */
export function memoEncoder(model: InpageModel): InpageModel {
  const cache = new Map<string, Float32Array>()
  const m = Object.create(model) as InpageModel
  m.encode = async (texts: readonly string[], batchSize?: number) => {
    const missing = [...new Set(texts.filter((t) => !cache.has(t)))]
    if (missing.length) (await model.encode(missing, batchSize)).forEach((v, i) => cache.set(missing[i]!, v))
    return texts.map((t) => cache.get(t)!)
  }
  return m
}

class SystemStats {
  readonly ranks: number[] = []
  readonly exposure: Exposure
  readonly lists: ListQuality
  readonly reasons = new ReasonQuality()
  constructor(nItems: number, facts: CatalogFacts) {
    this.exposure = new Exposure(nItems)
    this.lists = new ListQuality(facts)
  }
  /** One row's top 10 (item indices) against its history. */
  top(items: readonly number[], hist: readonly number[]) {
    this.exposure.add(items)
    this.lists.add(items, hist)
  }
  result(): SystemMetrics {
    return {
      ...metricsFromRanks(this.ranks),
      'coverage@10': this.exposure.coverage(),
      'gini@10': this.exposure.gini(),
      rows: this.ranks.length,
      ...this.lists.result(),
      ...this.reasons.result(),
    }
  }
}

/** Each system's ranks and exposure over a run. */
export class Stats {
  private readonly by = new Map<string, SystemStats>()
  constructor(
    private readonly nItems: number,
    private readonly facts: CatalogFacts,
  ) {}
  get(name: string): SystemStats {
    let s = this.by.get(name)
    if (!s) this.by.set(name, (s = new SystemStats(this.nItems, this.facts)))
    return s
  }
  results(): Record<string, SystemMetrics> {
    return Object.fromEntries([...this.by].map(([k, v]) => [k, v.result()]))
  }
}

const knnTables = new WeakMap<Context, Map<string, Neighbors>>()
/** The item-kNN baseline's neighbour lists from the context's training histories, built once per settings. */
export function itemKnnTable(ctx: Context, s: ItemKnnSettings): Neighbors {
  let byKey = knnTables.get(ctx)
  if (!byKey) knnTables.set(ctx, (byKey = new Map()))
  const { decay: _, ...build } = s
  const key = JSON.stringify(build)
  let t = byKey.get(key)
  if (!t) byKey.set(key, (t = itemKnnNeighbors(ctx.train, ctx.ids, build)))
  return t
}

const nextTables = new WeakMap<Context, Map<number, number>[]>()
/** The next-item baseline's transitions from the context's training histories, built once. */
export function nextTable(ctx: Context): Map<number, number>[] {
  let t = nextTables.get(ctx)
  if (!t) nextTables.set(ctx, (t = transitions(ctx.train, ctx.ids.length)))
  return t
}
