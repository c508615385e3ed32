// The demo storefront: the store server's order beside this shopper's order, reranked in the tab by
// inpage, with a store switcher (each store its own server and catalog pack, one model), a shopper
// simulator, tuning knobs, a privacy panel and "try it on your catalog". Plain TS + DOM.
import { createRecommender, type Candidate, type ConsentState, type Recommender, type RerankResult, type StoredEvent, type Why } from 'inpage'
import { $, download, fill, h, hue } from './dom'
import { MAX_ITEMS, parseCatalog, toCsv, toItemsJsonl, type Product } from './catalog-file'
import type { Shopper } from '../store'
import { MODEL_URL } from '../stores'
import { renderHoldout } from './holdout'

const SHOWN = 20
const CANDIDATES = 60

/** A store's pack as its server describes it (GET /api/store). */
interface PackInfo {
  state: 'building' | 'ready' | 'error'
  url: string
  id?: string
  name?: string
  version?: string
  items?: number
  textVectors?: 'int8' | 'none'
  users?: number
  events?: number
  error?: string
}
interface StoreSummary {
  id: string
  name: string
  tagline: string
  source: string
  uploaded: boolean
  pack: PackInfo
}
interface StorePage extends StoreSummary {
  items: number
  departments: { name: string; count: number }[]
  roots: string[]
}

/** One recommender per store: `name` keeps each store's shopper history apart; `catalog` is its pack. */
let rec: Recommender

// ---- state ---------------------------------------------------------------------------------

const state = {
  stores: [] as StoreSummary[],
  store: undefined as StorePage | undefined,
  upload: undefined as { name: string; items: Product[]; skipped: number } | undefined,
  view: { kind: 'dept', dept: '' } as { kind: 'dept'; dept: string } | { kind: 'search'; q: string },
  candidates: [] as Product[],
  result: undefined as RerankResult | undefined,
  knobs: { personalWeight: 0.8, lambda: 1, maxPerCategory: 0, popularityPrior: true }, // the library's defaults without a query
  shoppers: [] as Shopper[],
  shopper: undefined as Shopper | undefined,
  step: 0,
  playing: undefined as ReturnType<typeof setInterval> | undefined,
  requests: [] as string[],
  /** The last rerank went over budget and was tried again. */
  retried: false,
}
let rerankSeq = 0

/** Every request this page sends to the store server, logged for the privacy panel. */
async function api<T>(path: string, post?: { body: string; note: string }): Promise<T> {
  const line = post ? `POST ${path} · ${post.note}` : `GET ${path}`
  // Repeats (an upload's progress, polled) are counted on one line.
  const last = /^(.*?)(?: ×(\d+))?$/.exec(state.requests[0] ?? '')!
  if (last[1] === line) state.requests[0] = `${line} ×${Number(last[2] ?? 1) + 1}`
  else state.requests.unshift(line)
  state.requests.length = Math.min(state.requests.length, 8)
  renderRequests()
  const res = await fetch(path, post ? { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: post.body } : {})
  const body = await res.json()
  if (!res.ok) throw new Error(body.error ?? `${path}: ${res.status}`)
  return body as T
}

/** The current store's own server. */
const storeApi = <T>(path: string) => api<T>(`/api/${state.store!.id}/${path}`)

const toCandidate = (p: Product): Candidate => ({
  id: p.id,
  title: p.title,
  ...(p.brand ? { brand: p.brand } : {}),
  category: p.category,
  ...(p.description ? { description: p.description } : {}),
  ...(p.price !== undefined ? { price: p.price } : {}),
})

const snapshot = (p: Product) => ({ title: p.title, brand: p.brand, category: p.category, price: p.price })
const leaf = (p: Product) => p.category.at(-1) ?? ''
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

// ---- the store's pages ---------------------------------------------------------------------

/** Loads the current view; a store-server failure is said on the page, never thrown. */
async function loadPage() {
  try {
    await loadView()
  } catch (e) {
    toast(`The store server did not answer: ${(e as Error).message}`)
  }
}

async function loadView() {
  if (state.view.kind === 'search') {
    state.candidates = (await storeApi<{ items: Product[] }>(`search?q=${encodeURIComponent(state.view.q)}&limit=${CANDIDATES}`)).items
  } else {
    state.candidates = (await storeApi<{ items: Product[] }>(`category?dept=${encodeURIComponent(state.view.dept)}&limit=${CANDIDATES}`)).items
  }
  // Until this page's rerank lands, the shopper's column shows the server's order, marked busy.
  state.result = undefined
  state.retried = false
  renderHead()
  renderPersonal()
  await personalize()
}

async function personalize() {
  const seq = ++rerankSeq
  const r = rec
  if (!state.candidates.length) {
    state.result = undefined
    renderPersonal()
    return
  }
  const { personalWeight, lambda, maxPerCategory, popularityPrior } = state.knobs
  const col = $('#personal-col')
  col.dataset.state = 'busy'
  const busy = setTimeout(() => col.classList.add('busy'), state.result ? 150 : 0)
  const result = await r.rerank(state.candidates.map(toCandidate), {
    surface: state.view.kind === 'search' ? 'search' : 'category',
    ...(state.view.kind === 'search' ? { query: state.view.q } : {}),
    k: 10,
    budgetMs: 20_000,
    personalWeight,
    popularityPrior,
    diversity: { lambda, ...(maxPerCategory ? { maxPerCategory } : {}) },
  })
  clearTimeout(busy)
  // A newer call, or another store, has taken over this column.
  if (seq !== rerankSeq || r !== rec) return
  col.classList.remove('busy')
  col.dataset.state = 'done'
  state.result = result
  renderPersonal()
  renderBadges()
  if (result.why === 'warming-up') r.warmUp().then(() => void (r === rec && personalize()), () => {})
  // Over budget (a slow machine encoding a new page's texts): the worker finishes and caches the vectors,
  // so one more try shortly after is cheap. Once in a row, so an overloaded device is not kept busy.
  if (result.why !== 'budget') state.retried = false
  else if (!state.retried) {
    state.retried = true
    personalizeSoon(1000)
  }
}

let again: ReturnType<typeof setTimeout> | undefined
/** Reranks soon, once, after a burst of events or knob changes. */
function personalizeSoon(ms = 120) {
  clearTimeout(again)
  again = setTimeout(() => void personalize(), ms)
}

// ---- rendering: header, lists --------------------------------------------------------------

function renderHead() {
  const v = state.view
  const st = state.store
  const noEvents = st?.pack.events === 0
  $('#page-title').textContent = v.kind === 'search' ? `Search results for “${v.q}”` : v.dept || (st?.uploaded ? st.name : 'Popular in the store')
  $('#page-sub').textContent =
    v.kind === 'search'
      ? `${state.candidates.length} results from the store's own search (BM25), reranked here with the query encoded on this device.`
      : noEvents
        ? `${state.candidates.length} products in file order: without an events file the store has no popularity, so this is its server's order.`
        : `Top ${state.candidates.length} by popularity (purchase counts). The first ${Math.min(SHOWN, state.candidates.length)} are shown.`
  for (const b of document.querySelectorAll<HTMLButtonElement>('#departments button')) b.classList.toggle('active', v.kind === 'dept' && b.dataset.dept === v.dept)
}

function tile(p: Product) {
  const initials = (p.brand ?? p.title).replace(/[^A-Za-z0-9 ]/g, '').split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0]!.toUpperCase()).join('')
  const el = h('div', { class: 'tile', 'aria-hidden': 'true' }, initials || '•')
  el.style.setProperty('--h', String(hue(leaf(p) || p.title)))
  return el
}

function productRow(p: Product, rank: number, extra: { chip?: HTMLElement; reasons?: string[]; note?: string } = {}) {
  const actions = h(
    'div',
    { class: 'actions' },
    h('button', { type: 'button', class: 'ghost', title: 'Add to cart', onclick: () => act('add_to_cart', p) }, 'Add to cart'),
    h('button', { type: 'button', class: 'ghost buy', title: 'Buy now', onclick: () => act('purchase', p) }, 'Buy'),
  )
  const meta = [p.brand, leaf(p)].filter(Boolean).join(' · ')
  return h(
    'li',
    { class: 'product', 'data-id': p.id, onmouseenter: () => highlight(p.id, true), onmouseleave: () => highlight(p.id, false) },
    h('span', { class: 'rank' }, String(rank)),
    tile(p),
    h(
      'div',
      { class: 'body' },
      h('button', { type: 'button', class: 'title', title: p.title, onclick: () => act('click', p) }, p.title),
      h('div', { class: 'meta' }, meta, p.price !== undefined ? h('span', { class: 'price' }, ` · $${p.price.toFixed(2)}`) : null),
      ...(extra.reasons ?? []).map((r) => h('div', { class: 'reason', title: r }, r)),
      extra.note ? h('div', { class: 'note' }, extra.note) : null,
      actions,
    ),
    extra.chip ?? null,
  )
}

function highlight(id: string, on: boolean) {
  for (const el of document.querySelectorAll(`.product[data-id="${CSS.escape(id)}"]`)) el.classList.toggle('hover', on)
}

function renderServer() {
  const personalRank = new Map(state.result?.personalized ? state.result.items.map((it, i) => [it.id, i] as const) : [])
  $('#server-list').replaceChildren(
    ...state.candidates.slice(0, SHOWN).map((p, i) => {
      const now = personalRank.get(p.id)
      const chip = now === undefined || now === i ? undefined : h('span', { class: 'chip quiet', title: `Now #${now + 1} for this shopper` }, `now #${now + 1}`)
      return productRow(p, i + 1, { chip })
    }),
  )
  if (!state.candidates.length) $('#server-list').append(h('li', { class: 'empty' }, 'No products here.'))
}

function movement(from: number, to: number) {
  const d = from - to
  if (d > 0) return h('span', { class: 'chip up', title: `Server rank #${from + 1}` }, from >= SHOWN ? `▲ from #${from + 1}` : `▲ ${d}`)
  if (d < 0) return h('span', { class: 'chip down', title: `Server rank #${from + 1}` }, `▼ ${-d}`)
  return h('span', { class: 'chip same', title: 'Same place as the server order' }, '=')
}

function renderPersonal() {
  const res = state.result
  const byId = new Map(state.candidates.map((p) => [p.id, p]))
  const list = $('#personal-list')
  list.classList.toggle('plain', !res?.personalized)
  if (!res) {
    list.replaceChildren(...state.candidates.slice(0, SHOWN).map((p, i) => productRow(p, i + 1)))
    renderServer()
    renderHint()
    return renderWhy()
  }
  list.replaceChildren(
    ...res.items.slice(0, SHOWN).map((it, i) => {
      const p = byId.get(it.id)!
      const reasons = res.personalized ? it.reasons.slice(0, 1).map((r) => r.text) : []
      return productRow(p, i + 1, { chip: res.personalized ? movement(it.serverRank, i) : undefined, reasons })
    }),
  )
  renderServer()
  renderWhy()
  renderNextPurchase()
  renderHint()
}

const HINT: Partial<Record<Why, string>> = {
  'no-history': 'No history yet, so this shopper sees the server’s order. Pick a shopper in the simulator, or open and buy a few products, and watch this column change.',
  consent: 'Personalization is off for this shopper (privacy panel). Nothing is stored, and the server’s order is shown.',
  'model-error': 'The model could not be loaded, so the server’s order is shown. The store keeps working.',
  'engine-error': 'The engine hit a fault, so the server’s order is shown. The store keeps working.',
}

function renderHint() {
  const text = state.result ? HINT[state.result.why] : undefined
  const el = $('#personal-hint')
  el.hidden = !text
  el.textContent = text ?? ''
}

const WHY: Record<Why, string> = {
  personalized: 'Personalized for this shopper',
  'no-history': 'No history yet: server order',
  consent: 'Personalization is off: server order',
  'warming-up': 'Model still loading: server order for now',
  budget: 'Over the latency budget: server order',
  'model-error': 'Model unavailable: server order',
  'engine-error': 'Engine fault: server order',
  'no-model': 'No model configured: server order',
  holdout: 'In the experiment’s holdout: server order',
}

function renderWhy() {
  const res = state.result
  const why = $('#why')
  if (!res) return why.replaceChildren()
  const moved = res.items.slice(0, SHOWN).filter((it, i) => it.serverRank !== i).length
  fill(
    why,
    h('span', { class: `pill ${res.personalized ? 'ok' : 'neutral'}`, 'data-testid': 'why', 'data-why': res.why }, WHY[res.why]),
    res.personalized ? h('span', { class: 'muted small' }, `${moved} of the top ${SHOWN} moved · top ${res.coverage.k} spans ${plural(res.coverage.categories, 'category', 'categories')}, ${plural(res.coverage.brands, 'brand')}`) : null,
    res.error ? h('span', { class: 'muted small' }, res.error.message) : null,
  )
}

// ---- status: badges and the download progress ------------------------------------------------

function badge(label: string, value: string, tone = '') {
  return h('span', { class: `badge ${tone}` }, h('span', { class: 'badge-k' }, label), h('span', { class: 'badge-v' }, value))
}

const kB = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`)

function renderBadges() {
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
  const catBadge = badge(
    'Last rerank read',
    cat ? `${cat.asked} items · ${cat.missing} missing · ${plural(cat.files, 'file')} · ${kB(cat.bytes)}${cat.fromNetwork < cat.files ? ` (${cat.fromNetwork} from network)` : ''} · text ${cat.textVectors ? 'from pack' : 'encoded here'}` : '…',
    cat ? (cat.missing ? 'wait' : 'ok') : '',
  )
  catBadge.dataset.testid = 'catalog'
  catBadge.title = 'status().engine.catalog: the items this rerank looked up in the pack (the page and the history), those the pack does not hold, and the pack files (pack.json, shards) and bytes it read.'
  $('#badges').replaceChildren(
    badge('Engine', engineText, e.state === 'ready' ? 'ok' : e.state === 'error' ? 'bad' : 'wait'),
    badge('Backend', (e.info?.backend === 'webgpu' ? 'WebGPU' : (e.info?.backend ?? (res?.backend !== 'none' ? res?.backend : undefined) ?? '…').toUpperCase()) + (e.info ? ` · ${e.info.threads} thread${e.info.threads === 1 ? '' : 's'}` : '')),
    badge('Rerank', res ? `${Math.round(res.latencyMs)} ms` : '…', res && res.latencyMs < 300 ? 'ok' : ''),
    // The first personalized call encodes the page's item texts; later calls hit the vector cache.
    badge('Model load', e.info ? `${(e.info.loadMs / 1000).toFixed(1)} s${e.info.fromCache ? ' · cached' : ''}` : '…'),
    badge('History', `${plural(st.events, 'event')} · ${st.consent === 'denied' ? 'off' : st.consent === 'pending' ? 'this visit only' : st.storage === 'indexeddb' ? 'IndexedDB' : 'memory'}`),
    packBadge,
    catBadge,
  )
  const info = e.info
  const name = (b: string) => (b === 'webgpu' ? 'WebGPU' : b.toUpperCase())
  if (info?.dropped.length)
    $('#badges').append(h('span', { class: 'muted small', title: info.dropped.map((d) => `${name(d.backend)}: ${d.reason}`).join('\n') }, `${info.dropped.map((d) => name(d.backend)).join(', ')} not used (hover for why)`))
}

const mb = (n: number) => (n / 1e6).toFixed(1)

/** The page's listeners on one store's recommender. */
function wire(r: Recommender) {
  r.on('progress', (p) => {
    if (r !== rec) return
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

// ---- shopper actions ------------------------------------------------------------------------

async function act(type: 'click' | 'add_to_cart' | 'purchase', p: Product) {
  const surface = state.view.kind === 'search' ? 'search' : 'category'
  if (type === 'click') await rec.track({ type: 'view', itemId: p.id, item: snapshot(p), surface })
  await rec.track({ type, itemId: p.id, item: snapshot(p), surface })
  toast(type === 'purchase' ? `Bought “${p.title.slice(0, 48)}”` : type === 'add_to_cart' ? 'Added to cart' : `Viewed “${p.title.slice(0, 48)}”`)
  personalizeSoon()
}

function toast(text: string) {
  const t = h('div', { class: 'toast', role: 'status' }, text)
  document.body.append(t)
  setTimeout(() => t.classList.add('out'), 1600)
  setTimeout(() => t.remove(), 2000)
}

// ---- shopper simulator ----------------------------------------------------------------------

function renderSimulator() {
  const card = $('#simulator')
  const s = state.shopper
  const select = h(
    'select',
    { id: 'shopper', 'aria-label': 'Shopper to replay', onchange: (e: Event) => pickShopper((e.target as HTMLSelectElement).value) },
    h('option', { value: '' }, 'Pick a real shopper to replay…'),
    ...state.shoppers.map((x) => h('option', { value: x.id, selected: x.id === s?.id, title: x.label }, x.label)),
  )
  const total = s?.history.length ?? 0
  const controls = h(
    'div',
    { class: 'row' },
    h('button', { type: 'button', id: 'sim-step', class: 'primary', disabled: !s || state.step >= total, onclick: () => void simStep() }, state.step === 0 ? 'Start' : 'Next purchase'),
    h('button', { type: 'button', id: 'sim-play', disabled: !s || state.step >= total, onclick: togglePlay }, state.playing ? 'Pause' : 'Play all'),
    h('button', { type: 'button', id: 'sim-reset', class: 'ghost', disabled: !s, onclick: () => void resetShopper() }, 'Reset'),
  )
  const timeline = s
    ? h(
        'ol',
        { class: 'timeline' },
        ...s.history.map((p, i) => h('li', { class: i < state.step ? 'done' : i === state.step ? 'current' : '' }, h('span', { class: 'dot' }), h('span', { class: 't' }, p.title))),
      )
    : null
  fill(
    card,
    h('h3', { id: 'sim-h' }, 'Shopper simulator'),
    h('p', { class: 'muted small' }, 'Replays a real purchase history from the dataset’s test split, one purchase at a time (a view, then a purchase), and reranks after each step.'),
    select,
    controls,
    s ? h('div', { class: 'small', id: 'sim-progress' }, `Step ${state.step} of ${total}`) : null,
    h('div', { id: 'next-purchase' }),
    timeline,
  )
  renderNextPurchase()
}

/** Where the shopper's real next purchase (held out by the dataset) sits in both orders. */
function renderNextPurchase() {
  const box = document.getElementById('next-purchase')
  const s = state.shopper
  if (!box || !s || state.step === 0) return box?.replaceChildren()
  const server = state.candidates.findIndex((p) => p.id === s.next.id)
  const personal = state.result?.items.findIndex((it) => it.id === s.next.id) ?? -1
  box.replaceChildren(
    h(
      'div',
      { class: 'next' },
      h('div', { class: 'small muted' }, 'Their real next purchase'),
      h('div', { class: 't' }, s.next.title),
      server < 0
        ? h('div', { class: 'small' }, 'Not on this page. ', nextPage(s.next))
        : h('div', { class: 'small' }, 'Server ', h('strong', {}, `#${server + 1}`), ' → this shopper ', h('strong', { class: personal < server ? 'ok-text' : '' }, `#${personal + 1}`)),
    ),
  )
}

/** A page where the held-out purchase may be: its department, or in a store without departments, a search for its title. */
function nextPage(p: Product) {
  const dept = p.category[1]
  if (dept && state.store?.departments.some((d) => d.name === dept)) return h('button', { type: 'button', class: 'link', onclick: () => goDept(dept) }, 'Open its department')
  const q = p.title.split(/\s+/).slice(0, 4).join(' ')
  return h('button', { type: 'button', class: 'link', onclick: () => goSearch(q) }, `Search “${q}”`)
}

async function pickShopper(id: string) {
  stopPlay()
  state.shopper = state.shoppers.find((s) => s.id === id)
  state.step = 0
  renderSimulator()
}

async function simStep() {
  const s = state.shopper
  if (!s || state.step >= s.history.length) return stopPlay()
  if (rec.status().consent === 'denied') {
    toast('Personalization is off: turn it on in the privacy panel first.')
    return stopPlay()
  }
  const p = s.history[state.step]!
  await rec.track({ type: 'view', itemId: p.id, item: snapshot(p), surface: 'product' })
  await rec.track({ type: 'purchase', itemId: p.id, item: snapshot(p), surface: 'product' })
  state.step++
  if (state.step >= s.history.length) stopPlay()
  renderSimulator()
  await personalize()
}

function togglePlay() {
  if (state.playing) return stopPlay()
  state.playing = setInterval(() => void simStep(), 1800)
  void simStep()
}

function stopPlay() {
  clearInterval(state.playing)
  state.playing = undefined
  renderSimulator()
}

async function resetShopper() {
  stopPlay()
  await rec.forget()
  state.step = 0
  renderSimulator()
  await renderPrivacy()
  await personalize()
}

// ---- tuning knobs ---------------------------------------------------------------------------

function slider(id: string, label: string, hint: string, min: number, max: number, step: number, value: number, fmt: (v: number) => string, set: (v: number) => void) {
  const out = h('output', { for: id }, fmt(value))
  const input = h('input', { id, type: 'range', min, max, step, value, oninput: () => {
    const v = Number(input.value)
    out.textContent = fmt(v)
    set(v)
    personalizeSoon(200)
  } })
  return h('label', { class: 'knob' }, h('span', { class: 'knob-head' }, h('span', {}, label), out), input, h('span', { class: 'muted small' }, hint))
}

function renderTuning() {
  const k = state.knobs
  const cap = h(
    'select',
    { id: 'max-per-category', onchange: () => ((k.maxPerCategory = Number(cap.value)), personalizeSoon()) },
    ...[0, 1, 2, 3, 4, 5].map((n) => h('option', { value: n, selected: n === k.maxPerCategory }, n ? `at most ${n} per category` : 'no cap')),
  )
  $('#tuning').replaceChildren(
    h('h3', { id: 'tune-h' }, 'Tuning'),
    slider('personal-weight', 'Personalization strength', '0 = the server’s order, 1 = this shopper’s taste only.', 0, 1, 0.05, k.personalWeight, (v) => v.toFixed(2), (v) => (k.personalWeight = v)),
    slider('lambda', 'Relevance vs variety', 'MMR λ: 1 = relevance only, lower = more varied top 10.', 0, 1, 0.05, k.lambda, (v) => v.toFixed(2), (v) => (k.lambda = v)),
    h('label', { class: 'knob' }, h('span', { class: 'knob-head' }, h('span', {}, 'Category cap in the top 10')), cap),
    h(
      'label',
      { class: 'knob' },
      h('span', { class: 'knob-head' }, h('span', {}, 'Popularity prior')),
      h('input', { id: 'popularity-prior', type: 'checkbox', checked: k.popularityPrior, onchange: (e: Event) => ((k.popularityPrior = (e.target as HTMLInputElement).checked), personalizeSoon()) }),
      h('span', { class: 'muted small' }, 'Off: less weight on best-sellers, wider exposure of the catalog.'),
    ),
  )
}

// ---- privacy panel --------------------------------------------------------------------------

const VERB: Record<string, string> = { view: 'Viewed', click: 'Opened', add_to_cart: 'Added to cart', purchase: 'Bought', search: 'Searched', dwell: 'Looked at' }

function eventRow(e: StoredEvent) {
  const what = e.type === 'search' ? `“${e.query ?? ''}”` : e.item?.title ?? e.itemId ?? ''
  const time = new Date(e.ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
  return h('li', {}, h('span', { class: `ev ev-${e.type}` }, VERB[e.type] ?? e.type), h('span', { class: 't', title: what }, what), h('span', { class: 'muted small' }, time))
}

let privacySeq = 0
async function renderPrivacy() {
  const seq = ++privacySeq
  const doc = await rec.exportData()
  if (seq !== privacySeq) return
  const consent = rec.status().consent
  const choice = (value: ConsentState, label: string, hint: string) =>
    h('button', { type: 'button', class: consent === value ? 'seg active' : 'seg', 'aria-pressed': String(consent === value), 'data-consent': value, title: hint, onclick: () => void setConsent(value) }, label)
  const events = [...doc.events].reverse()
  const where =
    consent === 'denied' ? 'nothing is kept' : consent === 'pending' || rec.status().storage !== 'indexeddb' ? 'in this tab’s memory only, nothing written' : 'in this browser’s IndexedDB'
  $('#privacy').replaceChildren(
    h('h3', { id: 'privacy-h' }, 'Privacy'),
    h(
      'p',
      { class: 'small' },
      h('strong', {}, 'inpage sends nothing. '),
      'Your history, the model’s scores, the reranking and the reasons are computed and kept in this tab. The model and ORT files are downloads like images.',
    ),
    h(
      'p',
      { class: 'small muted' },
      'This store’s own server is not personalized: it sees the department you open and the words you type in its search box, as any store’s search does. It never sees the history below.',
    ),
    h('div', { class: 'segmented', role: 'group', 'aria-label': 'Consent' }, choice('denied', 'Off', 'Nothing stored; server order'), choice('pending', 'This visit', 'Kept in memory until you leave'), choice('granted', 'Remember', 'Stored in this browser')),
    h('div', { class: 'stored-head' }, h('strong', { 'data-testid': 'stored-count' }, `${events.length} event${events.length === 1 ? '' : 's'} stored`), h('span', { class: 'muted small' }, ` · ${where}`), h('div', { class: 'muted small' }, `Kept at most ${doc.retention.maxAgeDays} days and ${doc.retention.maxEvents} events.`)),
    events.length
      ? h('ul', { class: 'events', 'data-testid': 'stored-events' }, ...events.slice(0, 60).map(eventRow))
      : h('p', { class: 'empty small', 'data-testid': 'stored-events-empty' }, 'Nothing is stored about you.'),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'button', id: 'export', onclick: () => void exportJson() }, 'Export JSON'),
      h('button', { type: 'button', id: 'forget', class: 'danger', onclick: () => void forget() }, 'Forget everything'),
    ),
    h('details', { class: 'requests' }, h('summary', { class: 'small' }, 'Requests this page sent to the store server'), h('ul', { id: 'requests', class: 'small mono' })),
  )
  renderRequests()
}

function renderRequests() {
  document.getElementById('requests')?.replaceChildren(...state.requests.map((r) => h('li', {}, r)))
}

async function setConsent(s: ConsentState) {
  const t0 = performance.now()
  await rec.setConsent(s)
  if (performance.now() - t0 > 1000) console.info(`inpage demo: setConsent('${s}') took ${Math.round(performance.now() - t0)} ms`)
  await renderPrivacy()
  renderBadges()
  await personalize()
}

async function exportJson() {
  download(`inpage-export-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.json`, JSON.stringify(await rec.exportData(), null, 2))
}

async function forget() {
  stopPlay()
  await rec.forget()
  state.step = 0
  renderSimulator()
  await renderPrivacy()
  renderBadges()
  toast('Everything inpage stored was erased.')
  await personalize()
}

// ---- try it on your catalog -----------------------------------------------------------------

interface UploadStatus {
  id: string
  pack: PackInfo
  log: string[]
}

let uploading = false

function renderOwnCatalog(message?: { text: string; bad?: boolean }, log?: string[]) {
  const u = state.upload
  const input = h('input', { type: 'file', id: 'catalog-file', accept: '.json,.csv,application/json,text/csv', onchange: () => void readCatalog(input.files?.[0]) })
  const events = h('input', { type: 'file', id: 'events-file', accept: '.csv,text/csv', onchange: () => renderOwnCatalog(message) })
  // Keep a chosen events file across re-renders.
  const old = document.getElementById('events-file') as HTMLInputElement | null
  if (old?.files?.length) events.files = old.files
  const eventsName = events.files?.[0]?.name
  fill(
    $('#own-catalog'),
    h('h3', { id: 'own-h' }, 'Try it on your catalog'),
    h('p', { class: 'muted small' }, 'A JSON array or a CSV with id, title, brand, category (“Root > Sub > Leaf”), price; optionally your events as a CSV with user, item, timestamp.'),
    h('label', { class: 'file' }, input, h('span', {}, u ? `${u.name} · ${u.items.length} products, read in this tab` : '1. Choose a catalog file…')),
    h('label', { class: 'file' }, events, h('span', {}, eventsName ? `Events: ${eventsName}` : '2. Events CSV (optional: popularity and neighbours)')),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'button', class: 'primary', id: 'catalog-upload', disabled: !u || uploading, onclick: () => void upload() }, uploading ? 'Building its pack…' : '3. Upload and build its pack'),
      h('button', { type: 'button', class: 'ghost', onclick: () => download('sample-catalog.csv', toCsv(state.candidates.slice(0, 30)), 'text/csv') }, 'Sample CSV'),
    ),
    h(
      'p',
      { class: 'muted small' },
      'What runs where: the file is read and checked in this tab; catalog and events go to this demo’s store server (as a store’s own catalog and logs would), which converts them and builds a catalog pack with the same code as the stores above. Nothing of the shopper is sent: the history stays in this tab.',
    ),
    message ? h('p', { class: `small ${message.bad ? 'error' : 'ok-text'}`, role: 'status', 'data-testid': 'upload-message' }, message.text) : null,
    log?.length ? h('ol', { class: 'build-log small mono', 'data-testid': 'upload-log' }, ...log.map((l) => h('li', {}, l))) : null,
  )
}

async function readCatalog(file?: File) {
  if (!file) return
  try {
    const { items, skipped } = parseCatalog(file.name, await file.text())
    state.upload = { name: file.name, items, skipped }
    renderOwnCatalog({ text: `Read ${items.length} products${skipped ? `, skipped ${skipped} (no id/title, duplicate, or over ${MAX_ITEMS.toLocaleString('en')})` : ''}. Add an events file, or upload it as it is.` })
  } catch (e) {
    state.upload = undefined
    renderOwnCatalog({ text: (e as Error).message, bad: true })
  }
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms))

/** Sends the catalog (and events) to the store server, follows the pack build, then opens the new store. */
async function upload() {
  const u = state.upload
  if (!u || uploading) return
  uploading = true
  const eventsFile = (document.getElementById('events-file') as HTMLInputElement | null)?.files?.[0]
  try {
    renderOwnCatalog({ text: 'Uploading…' })
    const events = eventsFile ? await eventsFile.text() : undefined
    const rows = events ? events.trim().split('\n').length - 1 : 0
    const body = JSON.stringify({ name: u.name, items: toItemsJsonl(u.items), ...(events ? { events } : {}) })
    const note = `${u.items.length} products${events ? `, ${rows} store events` : ''}; no shopper data`
    const { id } = await api<{ id: string }>('/api/upload', { body, note })
    // Progress: the server's build log, polled.
    let st: UploadStatus
    for (;;) {
      st = await api<UploadStatus>(`/api/upload/${id}`)
      if (st.pack.state !== 'building') break
      renderOwnCatalog({ text: `Building the pack of ${u.name} on the store server…` }, st.log)
      await sleep(300)
    }
    const log = st.log
    if (st.pack.state === 'error') throw new Error(`the pack could not be built: ${st.pack.error}`)
    uploading = false
    renderOwnCatalog({ text: `Pack ${st.pack.id} ready: ${st.pack.items} items, ${st.pack.events ? `aggregates from ${st.pack.events} events` : 'no events (popularity 0, no neighbours)'}.` }, log)
    await refreshStores()
    await openStore(st.id)
  } catch (e) {
    uploading = false
    renderOwnCatalog({ text: (e as Error).message, bad: true })
  }
}

// ---- stores ---------------------------------------------------------------------------------

async function refreshStores() {
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

let storeSeq = 0
/** Opens a store: its server, its pack, its own recommender (and so its own shopper history). */
async function openStore(id: string) {
  const seq = ++storeSeq
  stopPlay()
  const summary = state.stores.find((s) => s.id === id) ?? state.stores[0]!
  const old = rec as Recommender | undefined
  rec = createRecommender({ name: `demo-${summary.id}`, model: MODEL_URL, wasmPaths: '/ort/', catalog: summary.pack.url })
  wire(rec)
  ++rerankSeq
  void old?.dispose()
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
  const [page, shoppers] = await Promise.all([storeApi<StorePage>('store'), storeApi<{ shoppers: Shopper[] }>('shoppers')])
  if (seq !== storeSeq) return
  state.store = page
  state.shoppers = shoppers.shoppers
  renderStoreChrome()
  renderSimulator()
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
  $('#footer-source').textContent = `Catalog: ${st.source}`
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

// ---- start ----------------------------------------------------------------------------------

function goDept(dept: string) {
  state.view = { kind: 'dept', dept }
  ;($('#q') as HTMLInputElement).value = ''
  void loadPage()
}

function goSearch(q: string) {
  ;($('#q') as HTMLInputElement).value = q
  state.view = { kind: 'search', q }
  void rec.track({ type: 'search', query: q, surface: 'search' }).catch(() => {})
  void loadPage()
}

async function start() {
  $('#search').addEventListener('submit', (e) => {
    e.preventDefault()
    const q = ($('#q') as HTMLInputElement).value.trim()
    // The query is part of the shopper's history too, on the device only.
    if (q) goSearch(q)
    else goDept('')
  })
  renderTuning()
  renderOwnCatalog()
  await refreshStores()
  const wanted = new URLSearchParams(location.search).get('store')
  await openStore(state.stores.some((s) => s.id === wanted) ? wanted! : state.stores[0]!.id)
  document.body.dataset.ready = 'true'
}

void start().catch((e) => {
  document.body.dataset.ready = 'error'
  $('#page-sub').textContent = `The store server failed: ${(e as Error).message}`
})
