// The uplift view: the current store's test shoppers replayed through the library in this tab, as eval's
// category protocol scores them (npm run eval -- --protocol category --split test --users N --catalog <the
// store's pack>): each shopper's purchases (oldest first) go to rerankFor() with the page of their held-out next
// purchase (its category's 100 most popular items), purchases excluded; we count where that purchase lands in
// the server's order and in the personal one. One recommender of its own (`storage: 'memory'`): nothing of the
// replay is stored, and the shopper's own history is never read. The model runs in the worker; the page
// replays a few shoppers per slice, so it stays responsive and the bar moves.
// Split by variant: each replayed shopper is put in an arm by inpage's own holdout coin (src/experiment.ts
// assign(), keyed here by the dataset's shopper id, so a run is reproducible), and each arm is scored on the
// order it would be shown: what the store's holdout (`experiment: { holdout }`) measures on these shoppers.
import { createRecommender, type Recommender, type TrackEvent, type Variant } from 'inpage'
import { assign, type ExperimentOptions } from '../../src/experiment'
import { $, fill, h } from './dom'
import type { UpliftData } from '../store'
import { MODEL_URL } from '../stores'
import { state, storeApi, toCandidate } from './state'

/** Shoppers replayed by default (`?uplift=<n>` changes it): tens of seconds on a laptop. "Run all" replays every test shopper. */
const SAMPLE = Math.max(1, Number(new URLSearchParams(location.search).get('uplift')) || 500)
/** Shoppers per slice: then the page renders and takes input. */
const SLICE = 10
const MISS = Number.POSITIVE_INFINITY
/** The holdout the split shows: half and half, the most precise split for a difference between the arms. */
const EXPERIMENT: ExperimentOptions = { name: 'demo-uplift', holdout: 0.5 }

/** Where one shopper's held-out purchase landed (1-based; MISS: not on the page, or bought before), and their arm. */
interface Row {
  server: number
  personal: number
  arm: Variant
}

interface Run {
  store: string
  rows: Row[]
  planned: number
  total: number
  running: boolean
  stop: boolean
  notPersonal: number
  seconds: number
  error?: string
}
let run: Run | undefined

const hit = (r: number) => (r <= 10 ? 1 : 0)
const ndcg = (r: number) => (r <= 10 ? 1 / Math.log2(r + 1) : 0)

/** Mean and the half-width of its 95 % interval, normal approximation (1.96 standard errors). */
function meanCi(xs: readonly number[]): { mean: number; ci: number } {
  const n = xs.length
  if (!n) return { mean: Number.NaN, ci: Number.NaN }
  const mean = xs.reduce((a, b) => a + b, 0) / n
  const v = n > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0
  return { mean, ci: 1.96 * Math.sqrt(v / n) }
}

/** The figures of the rows so far: each metric for both orders and the paired difference. */
export function upliftFigures(rows: readonly Row[]) {
  const metric = (f: (r: number) => number) => ({
    server: meanCi(rows.map((r) => f(r.server))),
    personal: meanCi(rows.map((r) => f(r.personal))),
    diff: meanCi(rows.map((r) => f(r.personal) - f(r.server))),
  })
  const onPage = rows.filter((r) => r.server !== MISS)
  return {
    n: rows.length,
    hit: metric(hit),
    ndcg: metric(ndcg),
    onPage: onPage.length,
    /** Places the held-out purchase moved up (server rank − personal rank), shoppers whose purchase is on the page. */
    moved: meanCi(onPage.map((r) => r.server - r.personal)),
    up: onPage.filter((r) => r.personal < r.server).length,
    down: onPage.filter((r) => r.personal > r.server).length,
    arms: armFigures(rows),
  }
}

/**
 * The split by variant: each arm scored on the order it is shown (personalized: inpage's, holdout: the server's),
 * both orders kept per arm (the arms are alike when the other order scores the same in both), and the
 * difference between the arms with its unpaired 95 % interval: each shopper sees one order, as in the store.
 */
function armFigures(rows: readonly Row[]) {
  const arm = (v: Variant) => {
    const rs = rows.filter((r) => r.arm === v)
    const of = (f: (r: number) => number) => ({ server: meanCi(rs.map((r) => f(r.server))), personal: meanCi(rs.map((r) => f(r.personal))) })
    return { n: rs.length, hit: of(hit), ndcg: of(ndcg) }
  }
  const p = arm('personalized')
  const h0 = arm('holdout')
  const between = (a: { mean: number; ci: number }, b: { mean: number; ci: number }) => ({ mean: a.mean - b.mean, ci: Math.hypot(a.ci, b.ci) })
  return { personalized: p, holdout: h0, diff: { hit: between(p.hit.personal, h0.hit.server), ndcg: between(p.ndcg.personal, h0.ndcg.server) } }
}

const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '–')
const signed = (x: number, d = 3) => {
  if (!Number.isFinite(x)) return '–'
  const t = Math.abs(x).toFixed(d)
  // A difference that rounds to zero has no sign ("-0.000" read as a loss).
  return `${Number(t) === 0 ? '' : x > 0 ? '+' : '-'}${t}`
}

export function renderUplift() {
  const card = $('#uplift')
  const store = state.store
  const r = run && run.store === store?.id ? run : undefined
  const f = r && r.rows.length ? upliftFigures(r.rows) : undefined
  const cell = (m: { mean: number; ci: number }, key: string, d = 3) => h('td', { 'data-value': String(m.mean), 'data-ci': String(m.ci), 'data-testid': key }, `${fmt(m.mean, d)} ± ${fmt(m.ci, d)}`)
  const diffCell = (m: { mean: number; ci: number }, key: string, d = 3) =>
    h('td', { 'data-value': String(m.mean), 'data-ci': String(m.ci), 'data-testid': key, class: m.mean - m.ci > 0 ? 'ok-text' : '' }, `${signed(m.mean, d)} ± ${fmt(m.ci, d)}`)
  const table = f
    ? h(
        'table',
        { class: 'holdout-table uplift-table', 'data-testid': 'uplift-table' },
        h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, 'server'), h('th', {}, 'personal'), h('th', {}, 'difference'))),
        h(
          'tbody',
          {},
          h('tr', {}, h('th', {}, 'hit@10'), cell(f.hit.server, 'hit-server'), cell(f.hit.personal, 'hit-personal'), diffCell(f.hit.diff, 'hit-diff')),
          h('tr', {}, h('th', {}, 'NDCG@10'), cell(f.ndcg.server, 'ndcg-server'), cell(f.ndcg.personal, 'ndcg-personal'), diffCell(f.ndcg.diff, 'ndcg-diff')),
        ),
      )
    : null
  const ranks = f
    ? h(
        'p',
        { class: 'small', 'data-testid': 'uplift-ranks' },
        `Rank of the next purchase, for the ${f.onPage} shoppers whose purchase is on its page: moved up ${fmt(f.moved.mean, 1)} ± ${fmt(f.moved.ci, 1)} places on average; up for ${f.up}, down for ${f.down}, unchanged for ${f.onPage - f.up - f.down}.`,
      )
    : null
  const split = f && f.arms.personalized.n && f.arms.holdout.n ? splitTable(f.arms, cell, diffCell) : null
  const done = r ? r.rows.length : 0
  const bar = r?.running
    ? h('div', { class: 'progress-track', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': r.planned, 'aria-valuenow': done, 'data-testid': 'uplift-progress' }, h('div', { class: 'progress-fill', style: `width:${(100 * done) / Math.max(1, r.planned)}%` }))
    : null
  const summary = r
    ? h(
        'p',
        { class: 'small', 'data-testid': 'uplift-count', 'data-shoppers': done, 'data-state': r.running ? 'running' : r.error ? 'error' : 'done' },
        r.error
          ? `Stopped by an error: ${r.error}`
          : `${r.running ? 'Replaying' : 'Replayed'} ${done} of ${r.planned} shoppers (the store has ${r.total} test shoppers)${r.running ? '…' : ` in ${r.seconds.toFixed(0)} s`}.` +
              (r.notPersonal ? ` ${r.notPersonal} answered with the server's order (the model was not ready or over budget): counted as such.` : ''),
      )
    : null
  fill(
    card,
    h('h3', { id: 'uplift-h' }, 'Uplift over test shoppers'),
    h(
      'p',
      { class: 'muted small' },
      `Replays the store's real test shoppers in this tab with rerankFor(): each one's purchases, then the category page of their real next purchase (held out by the dataset; its 100 best sellers, their purchases left out). Nothing is stored; your own history is not read. The same shoppers as npm run eval -- --protocol category --split test --users N.`,
    ),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'button', id: 'uplift-run', class: 'primary', disabled: !store || !!r?.running, onclick: () => void start(false) }, `Replay ${SAMPLE} shoppers`),
      h('button', { type: 'button', id: 'uplift-all', disabled: !store || !!r?.running, onclick: () => void start(true) }, 'Run all'),
      h('button', { type: 'button', id: 'uplift-stop', class: 'ghost', disabled: !r?.running, onclick: () => r && (r.stop = true) }, 'Stop'),
    ),
    bar,
    summary,
    table,
    ranks,
    split,
    f
      ? h(
          'p',
          { class: 'muted small', 'data-testid': 'uplift-key' },
          'hit@10: the share of shoppers whose next purchase is in the first 10 of the page. NDCG@10: the same, weighted by place (1 at #1, 0.63 at #2, 0.29 at #10, 0 below). Server: the store’s order; personal: inpage’s, on this device. ± is a 95 % confidence interval (normal approximation over shoppers; the difference is paired, shopper by shopper): a green difference is above zero beyond chance.',
        )
      : null,
  )
}

type Cell = (m: { mean: number; ci: number }, key: string, d?: number) => HTMLTableCellElement

/** The arms' table: each arm on the order it is shown; the order it is not shown says the arms are alike. */
function splitTable(a: ReturnType<typeof armFigures>, cell: Cell, diffCell: Cell) {
  const shown = (v: Variant) => (v === 'personalized' ? 'personal' : 'server')
  const row = (v: Variant) =>
    h(
      'tr',
      { 'data-arm': v, 'data-n': a[v].n, 'data-hit-server': a[v].hit.server.mean, 'data-hit-personal': a[v].hit.personal.mean, 'data-ndcg-server': a[v].ndcg.server.mean, 'data-ndcg-personal': a[v].ndcg.personal.mean },
      h('th', {}, v === 'personalized' ? 'personalized · inpage’s order' : 'holdout · server’s order'),
      h('td', {}, String(a[v].n)),
      cell(a[v].hit[shown(v)], `arm-${v}-hit`),
      cell(a[v].ndcg[shown(v)], `arm-${v}-ndcg`),
    )
  return h(
    'div',
    { 'data-testid': 'uplift-split' },
    h('h4', {}, 'Split by variant'),
    h(
      'p',
      { class: 'muted small' },
      `As the store’s holdout would measure these shoppers: inpage’s holdout coin (experiment { holdout: ${EXPERIMENT.holdout} }, keyed by each shopper) puts each in an arm, scored on the order that arm is shown. Each shopper counts once, so the difference’s interval is wider than the paired one above.`,
    ),
    h(
      'table',
      { class: 'holdout-table uplift-table', 'data-testid': 'uplift-split-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'arm'), h('th', {}, 'shoppers'), h('th', {}, 'hit@10'), h('th', {}, 'NDCG@10'))),
      h('tbody', {}, row('personalized'), row('holdout'), h('tr', { class: 'diff' }, h('th', {}, 'difference'), h('td', {}, ''), diffCell(a.diff.hit, 'arm-diff-hit'), diffCell(a.diff.ndcg, 'arm-diff-ndcg'))),
    ),
    h(
      'p',
      { class: 'muted small', 'data-testid': 'uplift-balance' },
      `Balance check (alike when the coin is fair, within noise): the server’s order scores NDCG@10 ${fmt(a.personalized.ndcg.server.mean)} in the personalized arm and ${fmt(a.holdout.ndcg.server.mean)} in the holdout; inpage’s ${fmt(a.personalized.ndcg.personal.mean)} and ${fmt(a.holdout.ndcg.personal.mean)}.`,
    ),
  )
}


async function start(all: boolean) {
  const store = state.store
  if (!store || run?.running) return
  const r: Run = (run = { store: store.id, rows: [], planned: 0, total: 0, running: true, stop: false, notPersonal: 0, seconds: 0 })
  const t0 = performance.now()
  renderUplift()
  let rec: Recommender | undefined
  try {
    const data = await storeApi<UpliftData>(all ? 'uplift' : `uplift?count=${SAMPLE}`)
    r.planned = data.shoppers.length
    r.total = data.total
    // A recommender of its own, in memory: the replay never touches this shopper's history or the store's worker.
    rec = createRecommender({ name: 'demo-uplift', model: MODEL_URL, wasmPaths: '/ort/', catalog: store.pack.url, storage: 'memory', consent: 'pending' })
    await rec.warmUp()
    for (let i = 0; i < data.shoppers.length && !r.stop; i += SLICE) {
      for (const s of data.shoppers.slice(i, i + SLICE)) r.rows.push(await replay(rec, data, s, r))
      if (run !== r) return // another store opened meanwhile
      renderUplift()
      await new Promise((go) => setTimeout(go, 0))
    }
  } catch (e) {
    r.error = (e as Error).message
  } finally {
    r.running = false
    r.seconds = (performance.now() - t0) / 1000
    await rec?.dispose()
    if (run === r) renderUplift()
  }
}

/** One shopper, as eval's category protocol scores them (eval/protocols.ts listRow). */
async function replay(rec: Recommender, data: UpliftData, s: UpliftData['shoppers'][number], r: { notPersonal: number }): Promise<Row> {
  // eval's history: each item a purchase, oldest first (eval/context.ts historyEvents).
  const events: TrackEvent[] = s.history.map((id, j) => {
    const p = data.products[id]!
    return { type: 'purchase', itemId: id, item: { title: p.title, ...(p.brand ? { brand: p.brand } : {}), category: p.category }, timestamp: j }
  })
  const page = data.pages[s.page] ?? []
  const res = await rec.rerankFor(events, page.map((id) => toCandidate(data.products[id]!)), { k: 10, excludePurchased: true, budgetMs: 60_000, surface: 'category' })
  if (!res.personalized) r.notPersonal++
  const bought = new Set(s.history)
  const arm = assign(s.id, EXPERIMENT)
  if (bought.has(s.target)) return { server: MISS, personal: MISS, arm }
  const at = (ids: string[]) => {
    const p = ids.indexOf(s.target)
    return p < 0 ? MISS : p + 1
  }
  return { server: at(page.filter((id) => !bought.has(id))), personal: at(res.items.map((it) => it.id).filter((id) => !bought.has(id))), arm }
}
