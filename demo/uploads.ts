// "Try it on your catalog", the store server's side: the page posts a catalog (parsed in the tab into
// items JSONL) and, optionally, the store's events CSV (user,item,timestamp). A pack job converts them
// into eval's format (node/convert.ts) and builds a catalog pack with the same code as the demo's stores;
// this server then serves the catalog as one more store. Nothing of the shopper is in the upload: it is the store's
// data, as a store's own catalog and logs would reach its own server.
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { convert } from '../node/convert.js'
import { PACKS_DIR, textVectorsSetting } from './packs.js'
import { addStore, packInfo, type Registry } from './registry.js'

export interface UploadBody {
  /** The store's name, as the user typed it. */
  name: string
  /** The files' names, for the messages that name a line of them. */
  itemsFile?: string
  eventsFile?: string
  /** One JSON object per line: {id, title, brand?, categories?, description?, price?}. */
  items: string
  /** The store's events CSV (user,item,timestamp), optional: without it the pack has no aggregates. */
  events?: string
}

const MAX_BYTES = 32 * 1024 * 1024
const EMPTY_EVENTS = 'user,item,timestamp\n'

type Send = (res: ServerResponse, status: number, body: unknown) => void

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_BYTES) {
        fail(new Error(`the upload is over ${MAX_BYTES / 1024 / 1024} MB`))
        req.destroy()
      } else chunks.push(c)
    })
    req.on('end', () => ok(Buffer.concat(chunks).toString('utf8')))
    req.on('error', fail)
  })
}

const fileName = (v: unknown, def: string) => (typeof v === 'string' && v.trim() ? v.replace(/[^\w .()-]/g, '').slice(0, 80) : def)

/** Uploads live as long as the server process that built them: a new process starts without them. */
export function forgetUploads() {
  rmSync(join(PACKS_DIR, '.uploads'), { recursive: true, force: true })
  let names: string[] = []
  try {
    names = readdirSync(PACKS_DIR)
  } catch {}
  for (const n of names) if (n.startsWith('upload-')) rmSync(join(PACKS_DIR, n), { recursive: true, force: true })
}

/** POST /api/upload: converts at once (a bad file is a 400 with the reason), then builds the pack in the background. */
export async function handleUpload(req: IncomingMessage, res: ServerResponse, registry: Registry, send: Send) {
  let body: UploadBody
  try {
    body = JSON.parse(await readBody(req)) as UploadBody
    if (typeof body.name !== 'string' || typeof body.items !== 'string' || (body.events !== undefined && typeof body.events !== 'string'))
      throw new Error('expected {name, items, events?} as strings')
  } catch (e) {
    return send(res, 400, { error: `not an upload: ${(e as Error).message}` })
  }
  const events = body.events?.trim() ? body.events : EMPTY_EVENTS
  // The same files make the same store: an upload already built by this server is reused.
  const id = `upload-${createHash('sha256').update(body.name).update('\0').update(body.items).update('\0').update(events).digest('hex').slice(0, 12)}`
  const known = registry.get(id)
  if (known && known.pack.state !== 'error') return send(res, 200, { id, pack: packInfo(known), reused: true })

  const prices = new Map<string, number>()
  let lines = 0
  try {
    for (const line of body.items.split('\n')) {
      if (!line.trim()) continue
      const o = JSON.parse(line) as { id?: unknown; price?: unknown }
      lines++
      if (typeof o.price === 'number' && Number.isFinite(o.price)) prices.set(String(o.id), o.price)
    }
  } catch (e) {
    return send(res, 400, { error: `items: ${(e as Error).message}` })
  }
  if (!lines) return send(res, 400, { error: 'items: no product' })
  // Every line checked now, as the pack job will convert them: a bad events file is refused with its name,
  // the line and what was expected, before any build starts.
  try {
    convert(events, body.items, { eventsFile: fileName(body.eventsFile, 'events.csv'), itemsFile: fileName(body.itemsFile, 'items.jsonl') })
  } catch (e) {
    return send(res, 400, { error: (e as Error).message })
  }
  // The store's files as it would hand them over; the pack job converts them (node/convert.ts) into data/.
  const dir = join(PACKS_DIR, '.uploads', id)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(join(dir, 'data'), { recursive: true })
  writeFileSync(join(dir, 'items.jsonl'), body.items)
  writeFileSync(join(dir, 'events.csv'), events)
  const name = body.name.replace(/[^\w .,&'()-]/g, '').trim().slice(0, 60) || 'your catalog'
  const entry = addStore(registry, {
    info: { id, dataset: join(dir, 'data'), name, tagline: 'Your catalog, uploaded to this store server', source: `Uploaded from this page: ${name}.` },
    dir: join(dir, 'data'),
    convert: { events: join(dir, 'events.csv'), items: join(dir, 'items.jsonl') },
    // As the demo's stores: text vectors encoded here (cached), aggregates from the events file.
    textVectors: textVectorsSetting(),
    prices,
    uploaded: true,
  })
  if (!body.events?.trim()) entry.pack.log.push('no events file: the pack has no popularity and no neighbours (still a valid pack)')
  send(res, 202, { id, pack: packInfo(entry) })
}

/** GET /api/upload/<id>: where the pack build is, with its log. */
export function uploadStatus(id: string, res: ServerResponse, registry: Registry, send: Send) {
  const e = registry.get(id)
  if (!e?.uploaded) return send(res, 404, { error: `no upload ${id}` })
  send(res, 200, { id, name: e.info.name, pack: packInfo(e), log: e.pack.log })
}
