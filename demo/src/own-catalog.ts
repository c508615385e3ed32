// "Try it on your catalog": a catalog file (and optionally the store's events) read and checked in the
// tab, sent to the store server, the pack build followed from its log, then the new store opened.
import { $, download, fill, h } from './dom'
import { MAX_ITEMS, parseCatalog, toCsv, toItemsJsonl } from './catalog-file'
import { api, state, type PackInfo } from './state'
import { openStore, refreshStores } from './stores'

interface UploadStatus {
  id: string
  pack: PackInfo
  log: string[]
}

let uploading = false

export function renderOwnCatalog(message?: { text: string; bad?: boolean }, log?: string[]) {
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
