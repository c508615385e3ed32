// Names of everything inpage keeps besides the history, so forget() can erase it from any thread.

import { deleteDatabase, hasIndexedDB } from './idb'

/** Cache API entries of model files: `inpage-model:<model>@<version>`. */
export const MODEL_CACHE_PREFIX = 'inpage-model:'

export function vectorDbName(name: string) {
  return `inpage:${name}:vectors`
}

/** Erases the item-vector cache database and every cached model file. */
export async function eraseCaches(name: string): Promise<void> {
  // Cached files first: a vector database blocked by another tab (StorageError) must not keep them.
  if (typeof caches !== 'undefined')
    for (const k of await caches.keys()) if (k.startsWith(MODEL_CACHE_PREFIX)) await caches.delete(k)
  if (hasIndexedDB()) await deleteDatabase(vectorDbName(name))
}
