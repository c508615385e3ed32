// The store's lists: the page the shopper is on (a department or a search), the server's order beside
// this shopper's order reranked in the tab, the hint and the "why" line, and the shopper's actions on a
// product (open, add to cart, buy), which are tracked and rerank the page.
import type { Why } from 'inpage'
import { $, decode, fill, h, hue } from './dom'
import type { Product } from './catalog-file'
import { CANDIDATES, SHOWN, hooks, plural, rec, snapshot, state, storeApi, toCandidate } from './state'
import { renderBadges, toast } from './status'
import { renderWhyOrder } from './why'

let rerankSeq = 0

const leaf = (p: Product) => p.category.at(-1) ?? ''

/** Loads the current view; a store-server failure is said on the page, never thrown. */
export async function loadPage() {
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

export async function personalize() {
  const seq = ++rerankSeq
  const r = rec
  if (!state.candidates.length) {
    state.result = undefined
    $('#personal-col').dataset.state = 'done'
    renderPersonal()
    renderBadges()
    return
  }
  const { personalWeight, lambda, maxPerCategory, popularityPrior, calibration } = state.knobs
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
    calibration,
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

/** Another store has been opened: a rerank still running for the old one must not land. */
export function dropRerank() {
  ++rerankSeq
}

let again: ReturnType<typeof setTimeout> | undefined
/** Reranks soon, once, after a burst of events or knob changes. */
export function personalizeSoon(ms = 120) {
  clearTimeout(again)
  again = setTimeout(() => void personalize(), ms)
}

// ---- navigation ------------------------------------------------------------------------------

export function goDept(dept: string) {
  state.view = { kind: 'dept', dept }
  ;($('#q') as HTMLInputElement).value = ''
  void loadPage()
}

export function goSearch(q: string) {
  ;($('#q') as HTMLInputElement).value = q
  state.view = { kind: 'search', q }
  void rec.track({ type: 'search', query: q, surface: 'search' }).catch(() => {})
  void loadPage()
}

// ---- rendering: header, lists --------------------------------------------------------------

export function renderHead() {
  const v = state.view
  const st = state.store
  const noEvents = st?.pack.events === 0
  $('#page-title').textContent = v.kind === 'search' ? `Search results for “${v.q}”` : v.dept || (st?.uploaded ? st.name : 'Popular in the store')
  $('#page-sub').textContent =
    v.kind === 'search' && !state.candidates.length
      ? 'No results from the store’s own search: nothing to rerank.'
      : v.kind === 'search'
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
      h('button', { type: 'button', class: 'title', title: decode(p.title), onclick: () => act('click', p) }, decode(p.title)),
      h('div', { class: 'meta' }, decode(meta), p.price !== undefined ? h('span', { class: 'price' }, ` · $${p.price.toFixed(2)}`) : null),
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

export function renderPersonal() {
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
  renderWhyOrder()
  hooks.renderNextPurchase()
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
  // Strength 0 asks for the server's order: the library still runs (data-why stays its answer), but the page
  // is not personalized and must not say so.
  const zero = res.personalized && state.knobs.personalWeight === 0
  const shown = res.personalized && !zero
  // Brands only where the catalog has them (Beauty has none): coverage counts items with a brand.
  const spans = [plural(res.coverage.categories, 'category', 'categories'), ...(res.coverage.brands ? [plural(res.coverage.brands, 'brand')] : [])].join(', ')
  fill(
    why,
    h('span', { class: `pill ${shown ? 'ok' : 'neutral'}`, 'data-testid': 'why', 'data-why': res.why }, zero ? 'Strength 0: server order' : WHY[res.why]),
    shown ? h('span', { class: 'muted small', 'data-testid': 'why-detail' }, `${moved} of the top ${SHOWN} moved · top ${res.coverage.k} spans ${spans}`) : null,
    res.error ? h('span', { class: 'muted small' }, res.error.message) : null,
  )
}

// ---- shopper actions ------------------------------------------------------------------------

async function act(type: 'click' | 'add_to_cart' | 'purchase', p: Product) {
  const surface = state.view.kind === 'search' ? 'search' : 'category'
  if (type === 'click') await rec.track({ type: 'view', itemId: p.id, item: snapshot(p), surface })
  await rec.track({ type, itemId: p.id, item: snapshot(p), surface })
  toast(type === 'purchase' ? `Bought “${decode(p.title).slice(0, 48)}”` : type === 'add_to_cart' ? 'Added to cart' : `Viewed “${decode(p.title).slice(0, 48)}”`)
  personalizeSoon()
}
