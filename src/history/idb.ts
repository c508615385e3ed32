// A custom idb-keyval store that lets go of its connection when another tab deletes or upgrades
// the database (idb-keyval alone keeps it open and blocks that tab's forget()).

import { promisifyRequest, type UseStore } from 'idb-keyval'

export const STORE_NAME = 'kv'

export interface KvStore {
  use: UseStore
  /** Closes the connection; the next use reopens. */
  close(): void
}

export function hasIndexedDB(): boolean {
  try {
    return typeof indexedDB !== 'undefined' && indexedDB !== null && typeof indexedDB.open === 'function'
  } catch {
    return false // some privacy modes throw on mere access
  }
}

export function openKvStore(dbName: string): KvStore {
  let dbp: Promise<IDBDatabase> | undefined
  const getDB = () => {
    if (dbp) return dbp
    const req = indexedDB.open(dbName)
    req.onupgradeneeded = () => req.result.createObjectStore(STORE_NAME)
    dbp = promisifyRequest(req).then((db) => {
      db.onversionchange = () => {
        db.close()
        dbp = undefined
      }
      db.onclose = () => (dbp = undefined)
      return db
    })
    dbp.catch(() => (dbp = undefined))
    return dbp
  }
  return {
    use: (mode, callback) => getDB().then((db) => callback(db.transaction(STORE_NAME, mode).objectStore(STORE_NAME))),
    close() {
      const p = dbp
      dbp = undefined
      p?.then((db) => db.close(), () => {})
    },
  }
}

/** Deletes a whole database. Resolves when gone; `blocked` only delays it (other tabs close on versionchange). */
export function deleteDatabase(dbName: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(dbName)
    req.onsuccess = () => resolve()
    req.onerror = () => reject(req.error)
  })
}
