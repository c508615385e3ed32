// The store switcher: the demo's stores (each its own server and catalog pack, one model), opening one
// with its own recommender (and so its own shopper history), the page's listeners on that recommender,
// and the store's header, departments and footer.
import { createRecommender, type Recommender, type StoredEvent } from 'inpage'
import { $, h } from './dom'
import type { Shopper } from '../store'
import { MODEL_URL } from '../stores'
import { renderHoldout } from './holdout'
import { renderUplift } from './uplift'
import { CANDIDATES, api, consentChoice, rec, setRec, snapshot, state, storeApi, toCandidate, type StorePage, type StoreSummary } from './state'
import { renderBadges, renderProgress } from './status'
import { dropRerank, goDept, loadPage, personalizeSoon, renderHead } from './lists'
import { renderSimulator, stopPlay } from './simulator'
import { renderPrivacy } from './privacy'

export async function refreshStores() {
  state.stores = (await api<{ stores: StoreSummary[] }>('/api/store')).stores
  renderStores()
}

function renderStores() {
  $('#stores').replaceChildren(
    h('span', { class: 'stores-k' }, 'Demo stores · one model, a catalog pack each:'),
    ...state.stores.map((s) =>
      h(
        'button',
        { type: 'button', class: s.id === state.store?.id ? 'store active' : 'store', 'data-store': s.id, 'aria-pressed': String(s.id === state.store?.id), title: `${s.tagline} · pack ${s.pack.id ?? s.pack.state}`, onclick: () => void openStore(s.id) },
        h('strong', {}, s.name),
        h('span', {}, s.uploaded ? 'your catalog' : s.tagline),
      ),
    ),
  )
}

/** The page's listeners on one store's recommender. */
function wire(r: Recommender) {
  r.on('progress', (p) => {
    if (r !== rec) return
    renderProgress(p)
    renderBadges()
  })
  r.on('history', () => {
    if (r !== rec) return
    void renderPrivacy()
    renderBadges()
  })
  // The consent state changes before setConsent() has finished erasing: rerank at once.
  r.on('consent', () => {
    if (r !== rec) return
    void renderPrivacy()
    renderBadges()
    personalizeSoon(0)
  })
  r.on('error', () => r === rec && renderBadges())
}

/** Each store's history of this visit (consent pending), while another store is open: in this tab only. */
const visit = new Map<string, StoredEvent[]>()

/** Gives a store's recommender back this visit's history, if it is still "this visit" there. */
async function restoreVisit(r: Recommender, id: string) {
  const events = visit.get(id)
  visit.delete(id)
  if (!events?.length) return
  await r.ready()
  if (r.status().consent !== 'pending') return
  for (const { ts, ...e } of events) await r.track({ ...e, timestamp: ts })
}

let storeSeq = 0
/** Opens a store: its server, its pack, its own recommender (and so its own shopper history). */
export async function openStore(id: string) {
  const seq = ++storeSeq
  stopPlay()
  const summary = state.stores.find((s) => s.id === id) ?? state.stores[0]!
  const old = rec as Recommender | undefined
  // This visit's history (consent pending) lives in the old recommender's memory: kept in the tab for the
  // store's next opening, as a shopper who goes back expects. Nothing is written.
  const oldId = state.store?.id
  const kept = old && oldId && !old.status().disposed && old.status().consent === 'pending' ? old.exportData().then((d) => d.events, () => []) : undefined
  const consent = consentChoice.get(summary.id)
  setRec(createRecommender({ name: `demo-${summary.id}`, model: MODEL_URL, wasmPaths: '/ort/', catalog: summary.pack.url, ...(consent ? { consent } : {}) }))
  wire(rec)
  dropRerank()
  if (kept) void kept.then((events) => (events.length ? visit.set(oldId!, events) : visit.delete(oldId!)))
  void (kept ?? Promise.resolve()).then(() => old?.dispose())
  const replay = restoreVisit(rec, summary.id)
  // Until the new store's first page is reranked, its column is busy (what e2e waits on).
  $('#personal-col').dataset.state = 'busy'
  state.store = { ...summary, items: 0, departments: [], roots: [] }
  state.shopper = undefined
  state.step = 0
  state.shoppers = []
  state.result = undefined
  state.view = { kind: 'dept', dept: '' }
  ;($('#q') as HTMLInputElement).value = ''
  document.body.dataset.store = summary.id
  history.replaceState(null, '', `?store=${encodeURIComponent(summary.id)}`)
  renderStores()
  renderBadges()
  void renderPrivacy()
  void rec.warmUp().then(renderBadges, renderBadges)
  const [page, shoppers] = await Promise.all([storeApi<StorePage>('store'), storeApi<{ shoppers: Shopper[] }>('shoppers'), replay])
  if (seq !== storeSeq) return
  state.store = page
  state.shoppers = shoppers.shoppers
  renderStoreChrome()
  renderSimulator()
  renderUplift()
  renderHoldout({ storeApi, toCandidate, snapshot, model: MODEL_URL, catalog: summary.pack.url, candidates: CANDIDATES })
  renderBadges()
  await loadPage()
}

/** Header, departments and footer of the current store. */
function renderStoreChrome() {
  const st = state.store!
  $('#store-name').textContent = st.name
  $('#store-sub').textContent = `${st.tagline} · ${st.items.toLocaleString('en')} products`
  $('#logo').textContent = st.name.replace(/[^A-Za-z]/g, '').slice(0, 1).toUpperCase() || '•'
  ;($('#q') as HTMLInputElement).placeholder = `Search ${st.name}`
  $('#footer-source').textContent = `Catalog: ${st.source}${st.hidden ? ` ${st.hidden} rows with a junk title (markup or a category name) are not listed.` : ''}`
  const nav = $('#departments')
  nav.replaceChildren(
    h('button', { type: 'button', 'data-dept': '', onclick: () => goDept('') }, st.departments.length ? 'All departments' : 'All products'),
    ...st.departments.map((d) => h('button', { type: 'button', 'data-dept': d.name, title: `${d.count} products`, onclick: () => goDept(d.name) }, d.name)),
  )
  // A catalog with one root category and nothing below it (Beauty) has no departments: say so, point to search.
  if (!st.departments.length)
    nav.append(h('span', { class: 'muted small nav-note', 'data-testid': 'no-departments' }, `${st.roots.length ? `One category (${st.roots.join(', ')})` : 'No categories'} in this catalog, so no departments: search to narrow it.`))
  renderHead()
}
