// The shopper simulator: replays a real purchase history from the dataset's test split, one purchase at
// a time (Start / Next purchase / Play all / Reset), reranks after each step, and shows where the
// shopper's real next purchase sits in the server's order and in theirs.
import { $, decode, fill, h } from './dom'
import type { Shopper } from '../store'
import { hooks, rec, snapshot, state } from './state'
import { toast } from './status'
import { goDept, goSearch, personalize } from './lists'

export function renderSimulator() {
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
        ...s.history.map((p, i) => h('li', { class: i < state.step ? 'done' : i === state.step ? 'current' : '' }, h('span', { class: 'dot' }), h('span', { class: 't' }, decode(p.title)))),
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
export function renderNextPurchase() {
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
      h('div', { class: 't' }, decode(s.next.title)),
      server < 0
        ? h('div', { class: 'small' }, 'Not on this page. ', nextPage(s))
        : h('div', { class: 'small' }, 'Server ', h('strong', {}, `#${server + 1}`), ' → this shopper ', h('strong', { class: personal < server ? 'ok-text' : '' }, `#${personal + 1}`)),
    ),
  )
}

/** The page that holds the held-out purchase, as the store server found it (its department, else a search
 * for its title); none when no page of this store lists it. */
function nextPage(s: Shopper) {
  const to = s.nextPage
  if (!to) return h('span', { class: 'muted' }, 'No page of this store lists it in its first 60.')
  if ('dept' in to) return h('button', { type: 'button', class: 'link', 'data-testid': 'next-page', onclick: () => goDept(to.dept) }, `Open its department (${to.dept})`)
  return h('button', { type: 'button', class: 'link', 'data-testid': 'next-page', onclick: () => goSearch(to.q) }, `Search “${decode(to.q)}”`)
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

export function stopPlay() {
  clearInterval(state.playing)
  state.playing = undefined
  renderSimulator()
}

async function resetShopper() {
  stopPlay()
  await rec.forget()
  state.step = 0
  renderSimulator()
  await hooks.renderPrivacy()
  await personalize()
}
