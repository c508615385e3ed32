// Names of everything inpage keeps besides the history, so forget() can erase it from any thread.

import { deleteDatabase, hasIndexedDB, readKeysIfExists } from './idb'

/** Cache API entries of model files: `inpage-model:<model>@<version>`. */
export const MODEL_CACHE_PREFIX = 'inpage-model:'
/** Cache API entries of catalog pack files: `inpage-pack:<pack>@<version>`. */
export const PACK_CACHE_PREFIX = 'inpage-pack:'

export function vectorDbName(name: string) {
  return `inpage:${name}:vectors`
}

/** The catalog pack records of the shopper's history items (workers/records.ts). */
export function packDbName(name: string) {
  return `inpage:${name}:pack`
}

/**
 * Erases the item-vector cache database, then every cached model and catalog pack file (public, but forget() leaves
 * nothing of inpage's behind; they are shared by this origin's recommenders, which download them again).
 */
export async function eraseCaches(name: string): Promise<void> {
  let blocked: unknown
  // The vector and pack-record databases name items this shopper saw: they go first. Blocked by another tab, it is
  // deleted when that tab lets go; the model files go meanwhile.
  if (hasIndexedDB()) for (const db of [vectorDbName(name), packDbName(name)]) await deleteDatabase(db).catch((err) => (blocked ??= err))
  if (typeof caches !== 'undefined')
    for (const k of await caches.keys()) if (k.startsWith(MODEL_CACHE_PREFIX) || k.startsWith(PACK_CACHE_PREFIX)) await caches.delete(k)
  if (blocked) throw blocked
}

/** The item-vector cache's entries as exportData() shows them: which model, which item. */
export async function listVectorCache(name: string): Promise<{ model: string; itemId: string }[]> {
  const keys = await readKeysIfExists(vectorDbName(name))
  return keys
    .filter((k): k is string => typeof k === 'string')
    .map((k) => {
      // `<model>@<version>|<itemId>|<text hash>`: the id may itself hold '|'.
      const first = k.indexOf('|')
      const last = k.lastIndexOf('|')
      return { model: k.slice(0, first), itemId: k.slice(first + 1, last) }
    })
}

/** The kept pack records as exportData() shows them: which item (the values are the pack's public data). */
export async function listPackRecords(name: string): Promise<{ itemId: string }[]> {
  const keys = await readKeysIfExists(packDbName(name))
  return keys.filter((k): k is string => typeof k === 'string').map((itemId) => ({ itemId }))
}
