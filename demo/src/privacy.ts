// The privacy panel: what inpage sends (nothing) and what the store's own server sees, the consent
// switch, the history stored on this device, export and forget, and the log of this page's requests.
import type { ConsentState, StoredEvent } from 'inpage'
import { $, decode, download, h } from './dom'
import { consentChoice, rec, state } from './state'
import { renderBadges, renderStrip, toast } from './status'
import { personalize } from './lists'
import { renderSimulator, stopPlay } from './simulator'

const VERB: Record<string, string> = { view: 'Viewed', click: 'Opened', add_to_cart: 'Added to cart', purchase: 'Bought', search: 'Searched', dwell: 'Looked at' }

function eventRow(e: StoredEvent) {
  const what = e.type === 'search' ? `“${e.query ?? ''}”` : e.item?.title ? decode(e.item.title) : (e.itemId ?? '')
  const time = new Date(e.ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
  return h('li', {}, h('span', { class: `ev ev-${e.type}` }, VERB[e.type] ?? e.type), h('span', { class: 't', title: what }, what), h('span', { class: 'muted small' }, time))
}

let privacySeq = 0
export async function renderPrivacy() {
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

export function renderRequests() {
  document.getElementById('requests')?.replaceChildren(...state.requests.map((r) => h('li', {}, r)))
  renderStrip()
}

async function setConsent(s: ConsentState) {
  const t0 = performance.now()
  if (state.store) consentChoice.set(state.store.id, s)
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
  // "Forget" is not "remember again from now on": a grant goes back to this visit only, so nothing is written
  // (and no model or pack is fetched again) until the shopper chooses Remember once more.
  const wasGranted = rec.status().consent === 'granted'
  if (wasGranted) {
    if (state.store) consentChoice.set(state.store.id, 'pending')
    await rec.setConsent('pending')
  }
  state.step = 0
  renderSimulator()
  await renderPrivacy()
  renderBadges()
  toast(wasGranted ? 'Everything inpage stored was erased. Back to “This visit”: nothing is written until you choose Remember.' : 'Everything inpage stored was erased.')
  await personalize()
}
