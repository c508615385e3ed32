// Status: the badges (engine, backend, rerank time, model load, history, pack, what the last rerank
// read), the model's download progress, and the toasts that confirm a shopper's action.
import type { RecommenderEvents } from 'inpage'
import { $, h } from './dom'
import { SHOWN, plural, rec, state } from './state'

function badge(label: string, value: string, tone = '') {
  return h('span', { class: `badge ${tone}` }, h('span', { class: 'badge-k' }, label), h('span', { class: 'badge-v' }, value))
}

/** Green only for a page this shopper got personalized, fast; otherwise it says the server's order was shown. */
function rerankBadge(empty: boolean) {
  const res = state.result
  const text = empty ? 'nothing to rerank' : !res ? '…' : res.personalized ? `${Math.round(res.latencyMs)} ms` : `server order · ${Math.round(res.latencyMs)} ms`
  const b = badge('Rerank', text, res?.personalized && !empty && res.latencyMs < 300 ? 'ok' : '')
  b.dataset.testid = 'rerank'
  b.title = res && !res.personalized ? `Not personalized (${res.why}): the page shows the server's order.` : ''
  return b
}

const kB = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`)

export function renderBadges() {
  const st = rec.status()
  const e = st.engine
  const res = state.result
  const engineText = e.state === 'ready' ? `ready${e.info ? ` · ${e.info.model.name} ${e.info.model.version}` : ''}` : e.state === 'error' ? 'error' : e.state
  // The pack the engine read for the last rerank (status().engine.catalog), else the one the store serves.
  const cat = e.catalog
  const pack = state.store?.pack
  const packId = cat?.pack ?? pack?.id ?? '…'
  const packBadge = badge('Pack', packId, cat ? 'ok' : '')
  packBadge.dataset.testid = 'pack'
  packBadge.title = pack
    ? `${state.store!.name}'s catalog pack, served by its store server at ${pack.url}: ${pack.items ?? '?'} items, aggregates from ${pack.events ?? '?'} events of ${pack.users ?? '?'} shoppers; ` +
      (pack.textVectors === 'int8' ? 'text vectors in the pack.' : 'no text vectors in the pack: this tab encodes item text with the model.')
    : ''
  // A page with nothing to rerank (a search without results) has no rerank to report: no stale figures.
  const empty = !state.candidates.length && !!state.store?.items
  const catBadge = badge(
    'Last rerank read',
    empty ? 'nothing to rerank' : cat ? `${cat.asked} items · ${cat.missing} missing · ${plural(cat.files, 'file')} · ${kB(cat.bytes)}${cat.fromNetwork < cat.files ? ` (${cat.fromNetwork} from network)` : ''} · text ${cat.textVectors ? 'from pack' : 'encoded here'}` : '…',
    empty ? '' : cat ? (cat.missing ? 'wait' : 'ok') : '',
  )
  catBadge.dataset.testid = 'catalog'
  catBadge.title = 'status().engine.catalog: the items this rerank looked up in the pack (the page and the history), those the pack does not hold, and the pack files (pack.json, shards) and bytes it read.'
  $('#badges').replaceChildren(
    badge('Engine', engineText, e.state === 'ready' ? 'ok' : e.state === 'error' ? 'bad' : 'wait'),
    badge('Backend', (e.info?.backend === 'webgpu' ? 'WebGPU' : (e.info?.backend ?? (res?.backend !== 'none' ? res?.backend : undefined) ?? '…').toUpperCase()) + (e.info ? ` · ${e.info.threads} thread${e.info.threads === 1 ? '' : 's'}` : '')),
    rerankBadge(empty),
    // The first personalized call encodes the page's item texts; later calls hit the vector cache.
    badge('Model load', e.info ? `${(e.info.loadMs / 1000).toFixed(1)} s${e.info.fromCache ? ' · cached' : ''}` : '…'),
    badge('History', `${plural(st.events, 'event')} · ${st.consent === 'denied' ? 'off' : st.consent === 'pending' ? 'this visit only' : st.storage === 'indexeddb' ? 'IndexedDB' : 'memory'}`),
    packBadge,
    catBadge,
  )
  renderStrip()
  const info = e.info
  const name = (b: string) => (b === 'webgpu' ? 'WebGPU' : b.toUpperCase())
  if (info?.dropped.length)
    $('#badges').append(h('span', { class: 'muted small', title: info.dropped.map((d) => `${name(d.backend)}: ${d.reason}`).join('\n') }, `${info.dropped.map((d) => name(d.backend)).join(', ')} not used (hover for why)`))
}

/**
 * "What you are looking at": the privacy boundary, what moved and why, and where the numbers come from,
 * in a line each, from the page's own state (after every rerank and every request).
 */
export function renderStrip() {
  const el = document.getElementById('explain')
  const st = state.store
  if (!el || !st) return
  const res = state.result
  const events = rec.status().events
  const moved = res?.personalized ? res.items.slice(0, SHOWN).filter((it, i) => it.serverRank !== i).length : 0
  const zero = state.knobs.personalWeight === 0
  const what = !state.candidates.length
    ? 'Nothing on this page, so nothing to rerank.'
    : !res
      ? 'Reranking this page for this shopper…'
      : res.personalized && !zero
        ? `${moved} of the top ${Math.min(SHOWN, state.candidates.length)} moved, because of this shopper’s ${plural(events, 'event')} in this tab: items like what they viewed and bought go up (each says why), the rest keep the server’s order.`
        : `Nothing moved: ${zero ? 'personalization strength is 0' : res.why === 'no-history' ? 'no history yet' : res.why === 'consent' ? 'personalization is off' : `the page shows the server’s order (${res.why})`}.`
  const sent = state.sent
  el.replaceChildren(
    h('div', {}, h('strong', {}, 'Privacy boundary'), `Nothing about this shopper leaves the page: history, scores and reasons stay in this tab. The store’s server got ${plural(sent.get, 'GET')}${sent.post ? ` and ${plural(sent.post, 'upload')}` : ''}: departments and search words, never the history.`),
    h('div', { 'data-testid': 'explain-moved' }, h('strong', {}, 'What moved and why'), what),
    h(
      'div',
      {},
      h('strong', {}, 'Where the numbers come from'),
      `Left: ${st.name}’s server, ${st.pack.events === 0 ? 'file order' : 'popularity (purchase counts) or BM25 search'}. Right: ${rec.status().engine.info?.model.name ?? 'the model'} with the store’s pack ${st.pack.id ?? ''}, run in this tab; times measured here. Shoppers and next purchases: the dataset’s held-out test split.`,
    ),
  )
}

const mb = (n: number) => (n / 1e6).toFixed(1)

/** The download bar, from the current recommender's `progress` events (stores.ts listens). */
export function renderProgress(p: RecommenderEvents['progress']) {
  const box = $('#progress')
  box.hidden = false
  box.dataset.percent = String(Math.floor(p.percent))
  $('#progress-fill').style.width = `${p.percent}%`
  // Two series: the model, then (with a pack of text vectors) the text encoder at the first search.
  const what = p.stage === 'encoder' ? 'text encoder' : 'model'
  $('#progress-label').textContent = p.percent >= 100
    ? `${what === 'model' ? 'Model' : 'Text encoder'} ready (${mb(p.total)} MB${p.fromCache ? ', from this browser’s cache' : ''})`
    : `${p.fromCache ? `Loading ${what} from cache` : `Downloading ${what}`} · ${Math.floor(p.percent)}% · ${mb(p.loaded)} of ${mb(p.total)} MB`
  if (p.percent >= 100) setTimeout(() => (box.hidden = true), 1500)
}

export function toast(text: string) {
  const t = h('div', { class: 'toast', role: 'status' }, text)
  document.body.append(t)
  setTimeout(() => t.classList.add('out'), 1600)
  setTimeout(() => t.remove(), 2000)
}
