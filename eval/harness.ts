// The evaluation harness: the shipped ONNX files through onnxruntime-node, and the same TypeScript
// the browser runs (score() in src/ranking/personalize.ts, rankCandidates in src/ranking/rerank.ts). Protocols and
// metrics: eval/README.md. The parts: options.ts (settings), context.ts (data and model, built once), systems.ts
// (metrics and baseline tables), protocols.ts (one row of each protocol); this file runs a protocol over a split.

import { coverageWarning, rows, type Context, type ModelCoverage, type ModelInfo, type PackInfo } from './context'
import { metricsFromRanks } from './metrics'
import type { EvalOptions, GridPoint, Protocol, Split } from './options'
import { makeEnv, RUN_ROW } from './protocols'
import { Stats, type SystemMetrics } from './systems'
import { catalogFacts } from './exposure'

/** Category protocol: how the catalogue splits into pages. */
export interface PageStats {
  pages: number
  /** Catalogue items per page before the pageSize cut (mean). */
  meanItems: number
  /** Share of the rows whose target is on its page (before history exclusion): the ceiling of recall@10. */
  targetOnPage: number
}

export interface EvalResult {
  protocol: Protocol
  split: Split
  users: number
  data: string
  model: ModelInfo
  modelCoverage: ModelCoverage
  /** The catalog pack inpage read (`--catalog`): which, and how much of the data it covers. */
  catalog?: PackInfo
  /** Printed to stderr by the CLI and kept here: what makes a row of this result weaker than it looks. */
  warnings: string[]
  categoryPages?: PageStats
  excludeHistory: boolean
  semiSynthetic?: string
  settings: Record<string, unknown>
  systems: Record<string, SystemMetrics>
  grid?: GridPoint[]
  best?: Record<string, number>
  seconds: number
}

export async function evaluate(ctx: Context, o: EvalOptions): Promise<EvalResult> {
  const t0 = performance.now()
  const data = rows(ctx, o.split, o.users)
  const stats = new Stats(ctx.ids.length, catalogFacts(ctx.ds.items, ctx.ds.pop, ctx.textVecs))
  const grid = new Map<string, { point: Omit<GridPoint, 'metrics'>; ranks: number[] }>()
  const gridRank = (point: Omit<GridPoint, 'metrics'>, rank: number) => {
    const key = JSON.stringify(point)
    let g = grid.get(key)
    if (!g) grid.set(key, (g = { point, ranks: [] }))
    g.ranks.push(rank)
  }
  const knn = ctx.settings?.knn ?? ctx.model.manifest.scoring?.knn
  const nb = ctx.neighbors
  const run = RUN_ROW[o.protocol]
  const env = makeEnv(ctx, o)
  const warnings: string[] = []
  // With a pack, unknown ids get its popularity and neighbours: the model's own tables' coverage is no longer a warning.
  const cw = ctx.packInfo ? undefined : coverageWarning(ctx.coverage, ctx.modelInfo)
  if (cw) warnings.push(cw)
  let categoryPages: PageStats | undefined
  if (o.protocol === 'category') {
    const sizes = [...env.pageSizes.values()]
    categoryPages = {
      pages: env.pages.size,
      meanItems: sizes.reduce((a, b) => a + b, 0) / Math.max(sizes.length, 1),
      targetOnPage: data.filter((row) => env.pages.get(ctx.ds.catKeys[row.target]!)?.includes(row.target)).length / Math.max(data.length, 1),
    }
    if (env.pages.size === 1)
      warnings.push(
        `one category page: every item has the category key "${ctx.ds.catKeys[0]}", so the category protocol reranks the catalogue's ` +
          `${o.pageSize} most popular items (a bestseller page); ${(100 * categoryPages.targetOnPage).toFixed(1)} % of the targets are on it. ` +
          'Not comparable with a dataset that has category pages.',
      )
  }
  for (let r = 0; r < data.length; r++) {
    await run(ctx, o, env, data[r]!, r, stats, gridRank)
    o.progress?.(r + 1, data.length)
  }
  const gridOut = [...grid.values()].map((g) => ({ ...g.point, metrics: metricsFromRanks(g.ranks) }))
  const result: EvalResult = {
    protocol: o.protocol,
    split: o.split,
    users: data.length,
    data: ctx.ds.dir,
    model: ctx.modelInfo,
    modelCoverage: ctx.coverage,
    ...(ctx.packInfo ? { catalog: ctx.packInfo } : {}),
    warnings,
    ...(categoryPages ? { categoryPages } : {}),
    excludeHistory: o.excludeHistory,
    settings: {
      personalWeight: o.personalWeight,
      queryWeight: o.protocol === 'search' ? o.queryWeight : undefined,
      searchServerPersonalWeight: o.protocol === 'search' ? o.searchServerPersonalWeight : undefined,
      diversity: o.diversity,
      textDecay: o.textDecay,
      itemKnn: o.itemKnn,
      knn: knn && nb ? knn : undefined,
      ...(ctx.catalog && ctx.settings?.next?.weight ? { next: ctx.settings.next } : {}),
      ...(ctx.settings?.user ? { user: ctx.settings.user } : {}),
      pageSize: o.protocol === 'full' ? undefined : o.pageSize,
      popularityPrior: o.popularityPrior,
      calibration: o.calibration,
      nearDuplicates: o.nearDuplicates,
      ...(ctx.catalog ? { historyRecords: o.historyRecords } : {}),
    },
    systems: stats.results(),
    seconds: (performance.now() - t0) / 1000,
  }
  if (o.protocol === 'search')
    result.semiSynthetic =
      'SEMI-SYNTHETIC: the data has no search queries; the query is the target item\'s leaf category name (even rows) or brand (odd rows, leaf category when it has none), candidates = top-100 items by BM25 over item text.'
  if (gridOut.length) {
    result.grid = gridOut
    const best = (f: (g: GridPoint) => number | undefined) =>
      gridOut.filter((g) => f(g) !== undefined && g.system === 'inpage-int8').sort((a, b) => b.metrics['ndcg@10'] - a.metrics['ndcg@10'])[0]
    const b: Record<string, number> = {}
    const pw = best((g) => g.personalWeight)
    if (o.protocol === 'category' && pw?.personalWeight !== undefined) b.personalWeight = pw.personalWeight
    const qw = best((g) => g.queryWeight)
    if (qw?.queryWeight !== undefined) b.queryWeight = qw.queryWeight
    const sw = gridOut.filter((g) => g.system === 'inpage-int8-server-query').sort((a, c) => c.metrics['ndcg@10'] - a.metrics['ndcg@10'])[0]
    if (sw?.personalWeight !== undefined) b.searchServerPersonalWeight = sw.personalWeight
    const td = gridOut.filter((g) => g.system === 'text-only').sort((a, c) => c.metrics['ndcg@10'] - a.metrics['ndcg@10'])[0]
    if (td?.textDecay !== undefined) b.textDecay = td.textDecay
    result.best = b
  }
  return result
}
