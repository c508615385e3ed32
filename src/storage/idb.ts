// A custom idb-keyval store that lets go of its connection when another tab deletes or upgrades
// the database (idb-keyval alone keeps it open and blocks that tab's forget()).

import { type UseStore } from 'idb-keyval'
import { InPageError } from '../core/errors'
import { defaults } from '../core/defaults'

export const STORE_NAME = 'kv'
const OPEN_TIMEOUT_MS = defaults.openTimeoutMs
const BLOCKED_GRACE_MS = defaults.blockedGraceMs

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
    // An open queues behind another tab's pending delete (blocked by a tab that never closes): give
    // up after a while instead of hanging every write; if it opens later, let go at once.
    let late = false
    req.onupgradeneeded = () => {
      if (late) req.transaction?.abort() // creates nothing nobody waits for
      else req.result.createObjectStore(STORE_NAME)
    }
    const opened = new Promise<IDBDatabase>((resolve, reject) => {
      const timer = setTimeout(() => {
        late = true
        reject(new InPageError('StorageError', `${dbName}: opening waits on another tab that keeps the database open`))
      }, OPEN_TIMEOUT_MS)
      req.onsuccess = () => {
        clearTimeout(timer)
        if (late) req.result.close()
        else resolve(req.result)
      }
      req.onerror = () => {
        clearTimeout(timer)
        reject(req.error)
      }
    })
    dbp = opened.then((db) => {
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

/**
 * Deletes a whole database. Resolves when gone. Tabs running inpage close on versionchange; a tab
 * that keeps its connection anyway (an old build, devtools) blocks the delete: after `graceMs` this
 * rejects with StorageError, and the browser deletes the database as soon as that tab lets go.
 */
export function deleteDatabase(dbName: string, graceMs = BLOCKED_GRACE_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(dbName)
    let timer: ReturnType<typeof setTimeout> | undefined
    req.onsuccess = () => {
      clearTimeout(timer)
      resolve()
    }
    req.onerror = () => {
      clearTimeout(timer)
      reject(req.error)
    }
    req.onblocked = () => {
      timer ??= setTimeout(
        () => reject(new InPageError('StorageError', `${dbName}: another tab keeps the database open; it is deleted as soon as that tab closes`)),
        graceMs,
      )
    }
  })
}

/** True unless the browser can tell that the database does not exist. */
export async function databaseExists(dbName: string): Promise<boolean> {
  if (typeof indexedDB.databases !== 'function') return true
  return (await indexedDB.databases()).some((d) => d.name === dbName)
}

/**
 * Every key of an existing database's store, read without ever creating the database (an open that
 * would create it is aborted). [] when there is no such database or it cannot be read.
 */
export async function readKeysIfExists(dbName: string): Promise<IDBValidKey[]> {
  if (!hasIndexedDB()) return []
  // WebKit keeps (and lists) a database whose creating open was aborted: never open one that is not there.
  if (!(await databaseExists(dbName))) return []
  return new Promise((resolve) => {
    const req = indexedDB.open(dbName)
    req.onupgradeneeded = () => req.transaction?.abort()
    req.onerror = () => resolve([])
    req.onblocked = () => resolve([])
    req.onsuccess = () => {
      const db = req.result
      try {
        const keys = db.transaction(STORE_NAME, 'readonly').objectStore(STORE_NAME).getAllKeys()
        keys.onsuccess = () => (db.close(), resolve(keys.result))
        keys.onerror = () => (db.close(), resolve([]))
      } catch {
        db.close()
        resolve([])
      }
    }
  })
}
