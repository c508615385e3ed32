// Code that runs inside a test page, shared by the Chromium specs (Playwright's page.evaluate) and the
// cross-engine suite (scripts/engines.mjs run()). Each function travels as its source: it may use only
// its argument and the page's globals, never an import or a variable of this file.
import type * as InPage from '../src/index'

type Win = Window & { inpage: typeof InPage; rec: InPage.Recommender }

/** Waits until the harness page's module has set window.inpage (engines without waitForFunction). */
export async function libraryLoaded(): Promise<true> {
  for (let i = 0; i < 600 && !(window as unknown as Win).inpage; i++) await new Promise((r) => setTimeout(r, 50))
  if (!(window as unknown as Win).inpage) throw new Error('window.inpage never appeared')
  return true
}

/** Deletes every IndexedDB database and Cache Storage entry of this origin: a fresh shopper, one browser for many tests. */
export async function resetOrigin(): Promise<void> {
  for (const db of await indexedDB.databases())
    await new Promise((done, fail) => {
      const q = indexedDB.deleteDatabase(db.name!)
      q.onsuccess = done
      q.onerror = () => fail(q.error)
      q.onblocked = () => setTimeout(done, 2000) // a dying worker lets go shortly; the next check would show it
    })
  for (const k of await caches.keys()) await caches.delete(k)
  localStorage.clear()
  sessionStorage.clear()
}

/** What inpage left in this origin: IndexedDB databases, Cache Storage entries, web storage keys, cookies. */
export async function footprint() {
  return {
    databases: (await indexedDB.databases()).map((d) => d.name!).filter((n) => n.startsWith('inpage')).sort(),
    caches: (await caches.keys()).filter((k) => k.startsWith('inpage')).sort(),
    local: Object.keys(localStorage),
    session: Object.keys(sessionStorage),
    cookie: document.cookie,
  }
}

export interface Bought {
  id: string
  title: string
  brand?: string
  category: string[]
}

/** A shopper who viewed and bought `events`, in window.rec, with the model warmed up. */
export async function trackPurchases({ model, events, consent, name }: { model: string; events: Bought[]; consent: 'granted' | 'denied' | 'pending'; name?: string }) {
  const w = window as unknown as Win
  w.rec = w.inpage.createRecommender({ model, consent, backend: 'wasm', ...(name ? { name } : {}) })
  for (const it of events) {
    const item = { title: it.title, brand: it.brand, category: it.category }
    await w.rec.track({ type: 'view', itemId: it.id, item, surface: 'category' })
    await w.rec.track({ type: 'purchase', itemId: it.id, item })
  }
  // Bounded, with the engine's status in the message: a load that never finishes says where it stopped.
  await Promise.race([
    w.rec.warmUp(),
    new Promise((_, fail) => setTimeout(() => fail(new Error(`warmUp() unfinished after 150 s: ${JSON.stringify(w.rec.status().engine)}`)), 150_000)),
  ])
}

/** window.rec.rerank with a budget long enough for a cold engine on a busy machine. */
export function rerankWith({ candidates, options = {} }: { candidates: object[]; options?: object }) {
  return (window as unknown as Win).rec.rerank(candidates as never, { budgetMs: 60_000, ...options })
}
