// The holdout, shown: real test shoppers of the dataset replay their purchase history, each as a fresh
// device with its own recommender under `experiment: { holdout: 0.5 }`, so inpage itself assigns the arm.
// Each is then shown the department page of their real next purchase (held out by the dataset), and we
// count where that purchase landed: NDCG@10 and a click when it is in the top 10. The history stays in
// memory (`storage: 'memory'`); under the simulation's grant only the item-vector cache is written, shared
// by the simulated devices so each does not encode the same pages again, and deleted when the run ends.
// Each simulated device starts its own engine, as a real one would; with the pack's text vectors and a
// closed-form user model it loads no runtime (4 shoppers in 1 s on 2 shared cores; 26 s each without vectors).

import { createRecommender, type Candidate, type Variant } from 'inpage'
import { $, fill, h } from './dom'
import type { Product } from './catalog-file'
import type { Shopper } from '../store'

export interface HoldoutDeps {
  storeApi: <T>(path: string) => Promise<T>
  toCandidate: (p: Product) => Candidate
  snapshot: (p: Product) => { title: string; brand?: string; category?: string[]; price?: number }
  model: string
  catalog: string | undefined
  candidates: number
}

interface Row {
  arm: Variant
  ndcg: number
  click: boolean
}

/** `?holdout=<n>` replays fewer (the e2e test) or more shoppers. */
const SHOPPERS = Math.max(2, Math.min(200, Number(new URLSearchParams(location.search).get('holdout')) || 12))
const NAME = 'holdout-sim'
let running = false
let rows: Row[] = []
let done = 0

export function renderHoldout(deps: HoldoutDeps) {
  const byArm = (['personalized', 'holdout'] as const).map((arm) => {
    const r = rows.filter((x) => x.arm === arm)
    const ndcg = r.length ? r.reduce((s, x) => s + x.ndcg, 0) / r.length : Number.NaN
    return { arm, n: r.length, ndcg, clicks: r.filter((x) => x.click).length }
  })
  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '–')
  const [p, hd] = byArm as [(typeof byArm)[number], (typeof byArm)[number]]
  const table = rows.length
    ? h(
        'table',
        { class: 'holdout-table', 'data-testid': 'holdout-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'arm'), h('th', {}, 'shoppers'), h('th', {}, 'NDCG@10'), h('th', {}, 'clicks'))),
        h(
          'tbody',
          {},
          ...byArm.map((a) => h('tr', { 'data-arm': a.arm }, h('td', {}, a.arm), h('td', {}, String(a.n)), h('td', {}, fmt(a.ndcg)), h('td', {}, `${a.clicks} of ${a.n}`))),
          h('tr', { class: 'diff' }, h('td', {}, 'difference'), h('td', {}, ''), h('td', {}, p.n && hd.n ? `${p.ndcg - hd.ndcg >= 0 ? '+' : ''}${fmt(p.ndcg - hd.ndcg)}` : '–'), h('td', {}, p.n && hd.n ? `${(100 * (p.clicks / p.n - hd.clicks / hd.n)).toFixed(0)} points` : '–')),
        ),
      )
    : null
  fill(
    $('#holdout'),
    h('h3', { id: 'holdout-h' }, 'Holdout experiment'),
    h(
      'p',
      { class: 'muted small' },
      `${SHOPPERS} real test shoppers replay their purchases, each a fresh device under experiment { holdout: 0.5 }: inpage assigns the arm, the holdout sees the server’s order. Each is shown the department of their real next purchase; a click is that purchase in the top 10. A sample this small shows the method, not a verdict: see npm run eval -- uplift.`,
    ),
    h('button', { type: 'button', id: 'holdout-run', class: 'primary', disabled: running, onclick: () => void run(deps) }, running ? `Replaying ${done} of ${SHOPPERS}…` : rows.length ? 'Run again' : 'Run the holdout'),
    table,
  )
}

async function run(deps: HoldoutDeps) {
  running = true
  rows = []
  done = 0
  renderHoldout(deps)
  try {
    const { shoppers } = await deps.storeApi<{ shoppers: Shopper[] }>(`replay?count=${SHOPPERS}`)
    for (const s of shoppers) {
      rows.push(await replay(deps, s))
      done++
      renderHoldout(deps)
    }
  } finally {
    // The simulated devices' shared item-vector cache (the only thing they wrote): gone with the run.
    await new Promise((done) => {
      const q = indexedDB.deleteDatabase(`inpage:${NAME}:vectors`)
      q.onsuccess = q.onerror = q.onblocked = done
    })
    running = false
    renderHoldout(deps)
  }
}

async function replay(deps: HoldoutDeps, s: Shopper): Promise<Row> {
  const rec = createRecommender({
    name: NAME,
    model: deps.model,
    wasmPaths: '/ort/',
    ...(deps.catalog ? { catalog: deps.catalog } : {}),
    consent: 'granted',
    storage: 'memory',
    experiment: { name: 'demo-holdout', holdout: 0.5 },
  })
  try {
    for (const p of s.history) {
      await rec.track({ type: 'view', itemId: p.id, item: deps.snapshot(p), surface: 'product' })
      await rec.track({ type: 'purchase', itemId: p.id, item: deps.snapshot(p), surface: 'product' })
    }
    const dept = s.next.category[1] ?? ''
    const { items } = await deps.storeApi<{ items: Product[] }>(`category?dept=${encodeURIComponent(dept)}&limit=${deps.candidates}`)
    await rec.warmUp().catch(() => {})
    const res = await rec.rerank(items.map(deps.toCandidate), { budgetMs: 30_000, surface: 'category' })
    const rank = res.items.findIndex((it) => it.id === s.next.id)
    const top = rank >= 0 && rank < 10
    return { arm: res.variant ?? 'personalized', ndcg: top ? 1 / Math.log2(rank + 2) : 0, click: top }
  } finally {
    await rec.dispose()
  }
}
