// The stores the demo serves (demo/stores.ts and uploaded catalogs): each with its pack's build state.
import type { PackManifest } from '../src/pack/format.js'
import { ensurePack, type PackState, type TextVectors } from './packs.js'
import type { Store } from './store.js'
import { MODEL, type StoreInfo } from './stores.js'

/** A store this server runs: its catalog (loaded on first use) and its pack (built at start). */
export interface StoreEntry {
  info: StoreInfo
  dir: string
  textVectors: TextVectors
  /** An upload's files, converted into `dir` by the pack job. */
  convert?: { events: string; items: string }
  pack: PackState
  packReady: Promise<PackManifest>
  prices?: Map<string, number>
  store?: Store
  /** An uploaded catalog (not one of demo/stores.ts). */
  uploaded?: boolean
}

export type Registry = Map<string, StoreEntry>

/** Registers a store and starts building its pack (one build at a time: the machine may be small). */
let queue: Promise<unknown> = Promise.resolve()
export function addStore(registry: Registry, entry: Omit<StoreEntry, 'pack' | 'packReady'>): StoreEntry {
  const pack: PackState = { state: 'building', log: [] }
  const packReady = queue.then(() => ensurePack(entry.info.id, { data: entry.dir, model: MODEL, textVectors: entry.textVectors, ...(entry.convert ? { convert: entry.convert } : {}) }, pack))
  queue = packReady.catch(() => {})
  packReady.catch((e: Error) => console.error(`inpage demo: the pack of ${entry.info.id} failed: ${e.message}`))
  const full: StoreEntry = { ...entry, pack, packReady }
  registry.set(entry.info.id, full)
  return full
}

export const packInfo = (e: StoreEntry) => {
  const m = e.pack.manifest
  return {
    state: e.pack.state,
    url: `/packs/${e.info.id}/`,
    ...(m ? { name: m.name, version: m.version, id: `${m.name}@${m.version}`, items: m.items, textVectors: m.textVectors, model: m.model, shards: m.shards.count, users: m.aggregates.users, events: m.aggregates.events } : {}),
    ...(e.pack.error ? { error: e.pack.error } : {}),
  }
}
