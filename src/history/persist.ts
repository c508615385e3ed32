// Persistent storage: asked for only once the shopper granted consent, so that a browser under storage
// pressure keeps the history; never before (asking would be storing intent the shopper did not give).

import type { StoragePersistence } from '../core/types'

/** Asks `navigator.storage.persist()` (after `persisted()`, which never prompts) and says what the browser answered. */
export async function requestPersistence(): Promise<StoragePersistence> {
  const storage = (globalThis.navigator as Navigator | undefined)?.storage
  if (typeof storage?.persist !== 'function') return 'unsupported'
  try {
    if (typeof storage.persisted === 'function' && (await storage.persisted())) return 'persistent'
    return (await storage.persist()) ? 'persistent' : 'best-effort'
  } catch {
    // Refused outright (e.g. an opaque origin): the browser treats this storage as best-effort.
    return 'best-effort'
  }
}
