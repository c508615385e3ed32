// "Try it on your catalog": a catalog file (and optionally the store's events) read and checked in the
// tab, sent to the store server, the pack build followed from its log, then the new store opened.
import { $, download, fill, h } from './dom'
import { checkEvents, parseCatalog, toCsv, toItemsJsonl } from './catalog-file'
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
  const input = h('input', { type: 'file', id: 'catalog-file', accept: '.json,.jsonl,.ndjson,.csv,application/json,text/csv', onchange: () => void readCatalog(input.files?.[0]) })
  const events = h('input', { type: 'file', id: 'events-file', accept: '.csv,text/csv', onchange: () => void readEvents() })
  // Keep a chosen events file and the typed name across re-renders.
  const old = document.getElementById('events-file') as HTMLInputElement | null
  if (old?.files?.length) events.files = old.files
  const eventsName = events.files?.[0]?.name
  const typed = (document.getElementById('store-name-input') as HTMLInputElement | null)?.value
  const name = h('input', { type: 'text', id: 'store-name-input', 'aria-label': 'Store name', maxlength: 60, placeholder: 'Your store’s name', value: typed ?? u?.storeName ?? '' })
  fill(
    $('#own-catalog'),
    h('h3', { id: 'own-h' }, 'Try it on your catalog'),
    h(
      'p',
      { class: 'muted small' },
      'Products as eval convert’s items JSONL ({"id", "title", "brand", "categories", "description"} a line), a JSON array with the same keys, or a CSV with id, title, brand, category (“Root > Sub > Leaf”), price; optionally your events as eval convert’s CSV: user, item, timestamp.',
    ),
    h('label', { class: 'file' }, input, h('span', {}, u ? `${u.name} · ${u.items.length} products (${u.format}), read in this tab` : '1. Choose a catalog file…')),
    h('label', { class: 'file' }, events, h('span', {}, eventsName ? `Events: ${eventsName}` : '2. Events CSV (optional: popularity and neighbours)')),
    h('label', { class: 'knob' }, h('span', { class: 'small' }, '3. Your store’s name'), name),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'button', class: 'primary', id: 'catalog-upload', disabled: !u || uploading, onclick: () => void upload() }, uploading ? 'Building its pack…' : '4. Upload and build its pack'),
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

/** The store's default name: its file's, without the extension. */
const baseName = (file: string) => file.replace(/\.(jsonl|ndjson|json|csv|txt)$/i, '') || file

/** What the tab dropped while reading the catalog, by reason: the first lines of the upload's log. */
let readLog: string[] = []

async function readCatalog(file?: File) {
  if (!file) return
  const nameInput = document.getElementById('store-name-input') as HTMLInputElement | null
  try {
    const { items, skipped, reasons, format } = parseCatalog(file.name, await file.text())
    // A new file names the store anew, unless the user typed a name of their own.
    if (nameInput && (!nameInput.value || nameInput.value === state.upload?.storeName)) nameInput.value = baseName(file.name)
    state.upload = { name: file.name, storeName: baseName(file.name), items, skipped, format }
    readLog = reasons.map((r) => `skipped in this tab: ${r.count} × ${r.reason} (first at ${r.first})`)
    const why = reasons.map((r) => `${r.count} ${r.reason}, first at ${r.first}`).join('; ')
    renderOwnCatalog({ text: `Read ${items.length} products${skipped ? `, skipped ${skipped} (${why})` : ''}. Add an events file, or upload it as it is.` }, readLog)
  } catch (e) {
    state.upload = undefined
    readLog = []
    renderOwnCatalog({ text: (e as Error).message, bad: true })
  }
}

async function readEvents() {
  const f = (document.getElementById('events-file') as HTMLInputElement | null)?.files?.[0]
  if (!f) return renderOwnCatalog()
  try {
    const { rows } = checkEvents(f.name, await f.text())
    renderOwnCatalog({ text: `Events: ${rows.toLocaleString('en')} rows with user, item, timestamp.` }, readLog)
  } catch (e) {
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
    const rows = events ? checkEvents(eventsFile!.name, events).rows : 0
    const storeName = (document.getElementById('store-name-input') as HTMLInputElement | null)?.value.trim() || u.storeName
    const body = JSON.stringify({ name: storeName, itemsFile: u.name, items: toItemsJsonl(u.items), ...(events ? { events, eventsFile: eventsFile!.name } : {}) })
    const note = `${u.items.length} products${events ? `, ${rows} store events` : ''}; no shopper data`
    const { id } = await api<{ id: string }>('/api/upload', { body, note })
    // Progress: the server's build log, polled.
    let st: UploadStatus
    for (;;) {
      st = await api<UploadStatus>(`/api/upload/${id}`)
      if (st.pack.state !== 'building') break
      renderOwnCatalog({ text: `Building the pack of ${storeName} on the store server…` }, [...readLog, ...st.log])
      await sleep(300)
    }
    const log = [...readLog, ...st.log]
    if (st.pack.state === 'error') throw new Error(`the pack could not be built: ${st.pack.error}`)
    uploading = false
    // That store is made: the next file is named anew.
    const input = document.getElementById('store-name-input') as HTMLInputElement | null
    if (input) input.value = ''
    renderOwnCatalog({ text: `Pack ${st.pack.id} ready: ${st.pack.items} items, ${st.pack.events ? `aggregates from ${st.pack.events} events` : 'no events (popularity 0, no neighbours)'}.` }, log)
    await refreshStores()
    await openStore(st.id)
  } catch (e) {
    uploading = false
    renderOwnCatalog({ text: (e as Error).message, bad: true })
  }
}
