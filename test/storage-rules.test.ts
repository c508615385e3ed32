// Storage rules of browsers that erase (Safari after 7 days without a visit, private windows): persistent
// storage is asked for only under consent, and a history that vanished is a cold start, never an error.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ShopperHistory, dbNameFor } from '../src/history/history'
import { deleteDatabase } from '../src/storage/idb'
import { listVectorCache } from '../src/storage/erase'
import { requestPersistence } from '../src/history/persist'
import type { StoredEvent } from '../src/core/types'

let n = 0
const uniq = () => `persist${Date.now()}-${n++}`
const view = (id: string): StoredEvent => ({ type: 'view', itemId: id, item: { title: `item ${id}` }, ts: Date.now() })

/** A StorageManager that records each call and answers `persist()` with `answer`. */
function fakeStorage(answer: boolean | Error, alreadyPersisted = false) {
  const calls: string[] = []
  vi.stubGlobal('navigator', {
    storage: {
      persisted: async () => (calls.push('persisted'), alreadyPersisted),
      persist: async () => {
        calls.push('persist')
        if (answer instanceof Error) throw answer
        return answer
      },
    },
  })
  return calls
}
/** Lets the unawaited persist() request settle. */
const settle = () => new Promise((r) => setTimeout(r, 0))

afterEach(() => vi.unstubAllGlobals())

describe('persistent storage is asked for only under consent', () => {
  it('pending and denied never ask; a grant asks once and status reports the answer', async () => {
    const calls = fakeStorage(true)
    const h = new ShopperHistory({ name: uniq() })
    await h.add(view('a'))
    await settle()
    expect(h.status().persistence).toBe('not-asked')
    await h.setConsent('denied')
    await settle()
    expect(calls).toEqual([])
    await h.setConsent('granted')
    await settle()
    expect(calls).toEqual(['persisted', 'persist'])
    expect(h.status().persistence).toBe('persistent')
    await h.setConsent('pending')
    await h.setConsent('granted')
    await settle()
    expect(calls).toHaveLength(2) // once per page
  })

  it('a browser that says no is reported as best-effort; one already persisted is not asked again', async () => {
    fakeStorage(false)
    const no = new ShopperHistory({ name: uniq(), consent: 'granted' })
    await no.opened
    await settle()
    expect(no.status().persistence).toBe('best-effort')

    const calls = fakeStorage(false, true)
    const yes = new ShopperHistory({ name: uniq(), consent: 'granted' })
    await yes.opened
    await settle()
    expect(calls).toEqual(['persisted'])
    expect(yes.status().persistence).toBe('persistent')
  })

  it('a grant remembered from an earlier visit asks on open', async () => {
    const name = uniq()
    fakeStorage(false)
    const first = new ShopperHistory({ name })
    await first.setConsent('granted')
    await first.dispose()
    const calls = fakeStorage(true)
    const again = new ShopperHistory({ name })
    await again.opened
    await settle()
    expect(again.consent).toBe('granted')
    expect(calls).toEqual(['persisted', 'persist'])
    expect(again.status().persistence).toBe('persistent')
  })

  it('no StorageManager, a throwing one, or a history kept in memory', async () => {
    vi.stubGlobal('navigator', {})
    expect(await requestPersistence()).toBe('unsupported')
    fakeStorage(new DOMException('opaque origin', 'SecurityError'))
    expect(await requestPersistence()).toBe('best-effort')
    const calls = fakeStorage(true)
    const mem = new ShopperHistory({ name: uniq(), consent: 'granted', storage: 'memory' })
    await mem.opened
    await settle()
    expect(calls).toEqual([]) // nothing on disk to keep
    expect(mem.status().persistence).toBe('not-asked')
  })

  it('a slow answer (a browser prompt) never holds up writes', async () => {
    let answer!: (v: boolean) => void
    vi.stubGlobal('navigator', { storage: { persisted: async () => false, persist: () => new Promise<boolean>((r) => (answer = r)) } })
    const h = new ShopperHistory({ name: uniq(), consent: 'granted' })
    await h.add(view('a'))
    expect((await h.events()).map((e) => e.itemId)).toEqual(['a'])
    expect(h.status().persistence).toBe('asking')
    answer(true)
    await settle()
    expect(h.status().persistence).toBe('persistent')
  })
})

describe('a vanished history is a cold start', () => {
  it('the browser erased the database between visits: no events, no grant, no error', async () => {
    const name = uniq()
    const first = new ShopperHistory({ name, consent: 'granted' })
    await first.add(view('a'))
    await first.dispose()
    await deleteDatabase(dbNameFor(name)) // Safari's 7-day erase, or a private window closed
    const errors: unknown[] = []
    const next = new ShopperHistory({ name, onError: (e) => errors.push(e) })
    await next.opened
    expect(await next.events()).toEqual([])
    expect(next.status()).toMatchObject({ consent: 'pending', events: 0, storage: 'indexeddb' })
    expect(next.status().lastError).toBeUndefined()
    expect(errors).toEqual([])
  })
})

describe('reading never creates', () => {
  it('exportData()\'s look at the item-vector cache opens no database that is not there', async () => {
    // WebKit keeps (and lists) a database whose creating open was aborted, so an open must not even be tried.
    const open = vi.spyOn(indexedDB, 'open')
    try {
      expect(await listVectorCache(uniq())).toEqual([])
      expect(open).not.toHaveBeenCalled()
    } finally {
      open.mockRestore()
    }
  })
})
