import { afterEach, describe, expect, it } from 'vitest'
import { assign, isShopperKey, newShopperKey, unitHash, validateExperiment } from '../src/experiment'
import { createRecommender } from '../src/recommender'
import { dbNameFor } from '../src/history/history'
import { openKvStore } from '../src/storage/idb'
import type { ImpressionEvent, SelectEvent } from '../src/analytics'

let n = 0
const uniq = () => `x${Date.now()}-${n++}`
const cands = Array.from({ length: 6 }, (_, i) => ({ id: `c${i}`, title: `Item ${i}` }))
const dbNames = async () => (await indexedDB.databases()).map((d) => d.name)
const storedKey = async (name: string) => {
  const kv = openKvStore(dbNameFor(name))
  const v = await kv.use('readonly', (s) => new Promise((r) => (s.get('experiment').onsuccess = (e) => r((e.target as IDBRequest).result))))
  kv.close()
  return v as { id: string } | undefined
}

describe('assignment', () => {
  it('is the same for the same key and name, and a fresh key is 32 hex digits', () => {
    const k = newShopperKey()
    expect(isShopperKey(k)).toBe(true)
    expect(newShopperKey()).not.toBe(k)
    const e = { name: 'rail-2026', holdout: 0.5 }
    expect(new Set(Array.from({ length: 20 }, () => assign(k, e))).size).toBe(1)
  })

  it('holds out the stated share of keys, independently per experiment name', () => {
    const N = 20_000
    const keys = Array.from({ length: N }, newShopperKey)
    const a = keys.map((k) => unitHash(k, 'a') < 0.1)
    const b = keys.map((k) => unitHash(k, 'b') < 0.1)
    const share = a.filter(Boolean).length / N
    // Binomial sd at p=0.1, N=20000 is 0.0021: 5 sd either side.
    expect(Math.abs(share - 0.1)).toBeLessThan(0.0106)
    // Names are independent: the overlap is about 0.1 * 0.1.
    const both = a.filter((x, i) => x && b[i]).length / N
    expect(Math.abs(both - 0.01)).toBeLessThan(0.0036)
    // Uniform: each tenth of [0, 1) gets about a tenth.
    const deciles = new Array(10).fill(0)
    for (const k of keys) deciles[Math.floor(unitHash(k, 'c') * 10)]++
    for (const d of deciles) expect(Math.abs(d / N - 0.1)).toBeLessThan(0.0106)
  })

  it('refuses a bad experiment by name', () => {
    for (const bad of [null, 'x', { name: '', holdout: 0.1 }, { name: 'a b', holdout: 0.1 }, { name: 'a', holdout: 1.5 }, { name: 'a', holdout: Number.NaN }, { name: 'a' }])
      expect(() => validateExperiment(bad)).toThrow(expect.objectContaining({ name: 'InvalidOptionsError' }))
    expect(() => createRecommender({ experiment: { name: 'a', holdout: -1 } })).toThrow(expect.objectContaining({ name: 'InvalidOptionsError' }))
    expect(() => createRecommender({ analytics: { ga4: 'yes' as never } })).toThrow(expect.objectContaining({ name: 'InvalidOptionsError' }))
  })
})

describe('the shopper key follows the history consent rules', () => {
  it('pending: this page only, no database; granted: stored and kept across pages', async () => {
    const name = uniq()
    const experiment = { name: 'e1', holdout: 0.5 }
    const a = createRecommender({ name, experiment })
    await a.ready()
    const s = a.status().experiment!
    expect(s.kept).toBe('page')
    expect(await dbNames()).not.toContain(dbNameFor(name))
    await a.setConsent('granted')
    expect(a.status().experiment).toEqual({ ...experiment, variant: s.variant, kept: 'device' })
    const id = (await a.exportData()).shopperKey!.id
    expect((await storedKey(name))?.id).toBe(id)
    await a.dispose()
    // The next page (a reload): the stored grant and the stored key.
    const b = createRecommender({ name, experiment })
    await b.ready()
    expect(b.status().experiment).toEqual({ ...experiment, variant: s.variant, kept: 'device' })
    expect((await b.exportData()).shopperKey).toEqual({ id, kept: 'device' })
    await b.dispose()
  })

  it('a page pending while another stored a key adopts it on the grant (one arm per device)', async () => {
    const name = uniq()
    const a = createRecommender({ name, consent: 'granted', experiment: { name: 'e', holdout: 0.5 } })
    const id = (await a.exportData()).shopperKey!.id
    await a.dispose()
    const b = createRecommender({ name, consent: 'pending', experiment: { name: 'e', holdout: 0.5 } })
    await b.ready()
    expect((await b.exportData()).shopperKey!.id).not.toBe(id)
    await b.setConsent('granted')
    expect((await b.exportData()).shopperKey).toEqual({ id, kept: 'device' })
    await b.dispose()
  })

  it('forget() and a denial replace the key with a fresh one that is not stored', async () => {
    const name = uniq()
    const rec = createRecommender({ name, consent: 'granted', experiment: { name: 'e', holdout: 0.5 } })
    const first = (await rec.exportData()).shopperKey!.id
    await rec.forget()
    const second = (await rec.exportData()).shopperKey!
    expect(second.id).not.toBe(first)
    expect(second.kept).toBe('page')
    expect(await dbNames()).not.toContain(dbNameFor(name))
    await rec.setConsent('granted')
    expect((await storedKey(name))?.id).toBe(second.id)
    await rec.setConsent('denied')
    const third = (await rec.exportData()).shopperKey!
    expect(third.id).not.toBe(second.id)
    expect(third.kept).toBe('page')
    expect(await dbNames()).not.toContain(dbNameFor(name))
    await rec.dispose()
  })

  it('a malformed stored key is replaced, never used', async () => {
    const name = uniq()
    const a = createRecommender({ name, consent: 'granted' })
    await a.track({ type: 'view', itemId: 'c1', item: { title: 'x' } })
    await a.flush()
    await a.dispose()
    const kv = openKvStore(dbNameFor(name))
    await kv.use('readwrite', (s) => new Promise((r) => (s.put({ id: '<script>' }, 'experiment').onsuccess = r)))
    kv.close()
    const b = createRecommender({ name, consent: 'granted', experiment: { name: 'e', holdout: 0.5 } })
    const k = (await b.exportData()).shopperKey!
    expect(isShopperKey(k.id)).toBe(true)
    expect((await storedKey(name))?.id).toBe(k.id)
    await b.dispose()
  })

  it('no experiment: no key, nothing in the export', async () => {
    const rec = createRecommender({ name: uniq(), consent: 'granted' })
    expect((await rec.exportData()).shopperKey).toBeUndefined()
    expect(rec.status().experiment).toBeUndefined()
    await rec.dispose()
  })
})

describe('holdout results and analytics events', () => {
  const w = globalThis as { dataLayer?: unknown[] }
  afterEach(() => delete w.dataLayer)

  it('holdout 1: the server order, variant holdout; holdout 0: variant personalized', async () => {
    const h = createRecommender({ name: uniq(), experiment: { name: 'e', holdout: 1 } })
    const r = await h.rerank(cands)
    expect(r.variant).toBe('holdout')
    expect(r.items.map((i) => i.id)).toEqual(cands.map((c) => c.id))
    expect(r.personalized).toBe(false)
    // No model: the run's own reason stays (the page reacts the same way in both arms).
    expect(r.why).toBe('no-model')
    expect(h.status().experiment?.variant).toBe('holdout')
    const p = createRecommender({ name: uniq(), experiment: { name: 'e', holdout: 0 } })
    expect((await p.rerank(cands)).variant).toBe('personalized')
    const none = createRecommender({ name: uniq() })
    expect((await none.rerank(cands)).variant).toBeUndefined()
    await Promise.all([h.dispose(), p.dispose(), none.dispose()])
  })

  it('impression per rerank, select per click on a shown item, with list, arm and position', async () => {
    const rec = createRecommender({ name: uniq(), experiment: { name: 'e', holdout: 1 } })
    const imps: ImpressionEvent[] = []
    const sels: SelectEvent[] = []
    rec.on('impression', (e) => imps.push(e))
    rec.on('select', (e) => sels.push(e))
    await rec.rerank(cands, { surface: 'rail' })
    await rec.rerank(cands.slice(2))
    expect(imps).toEqual([
      { list: 'rail', variant: 'holdout', items: cands.map((c, position) => ({ id: c.id, position })) },
      { list: 'default', variant: 'holdout', items: cands.slice(2).map((c, position) => ({ id: c.id, position })) },
    ])
    const item = { title: 'x' }
    await rec.track({ type: 'click', itemId: 'c3', item, surface: 'rail' })
    await rec.track({ type: 'click', itemId: 'c4', item }) // no surface: the latest list that showed it
    await rec.track({ type: 'view', itemId: 'c3', item, surface: 'rail' }) // not a select
    await rec.track({ type: 'click', itemId: 'nope', item, surface: 'rail' }) // not shown
    expect(sels).toEqual([
      { list: 'rail', variant: 'holdout', itemId: 'c3', position: 3 },
      { list: 'default', variant: 'holdout', itemId: 'c4', position: 2 },
    ])
    // After forget() the lists shown before are gone: a click selects nothing.
    await rec.forget()
    await rec.track({ type: 'click', itemId: 'c3', item, surface: 'rail' })
    expect(sels).toHaveLength(2)
    expect(w.dataLayer).toBeUndefined() // the GA4 bridge is off unless turned on
    await rec.dispose()
  })

  it('the GA4 bridge pushes view_item_list and select_item, the variant in item_list_name', async () => {
    w.dataLayer = [{ event: 'gtm.js' }]
    const rec = createRecommender({ name: uniq(), experiment: { name: 'e', holdout: 0 }, analytics: { ga4: true } })
    await rec.rerank(cands.slice(0, 2), { surface: 'category' })
    await rec.track({ type: 'click', itemId: 'c1', item: { title: 'x' }, surface: 'category' })
    const items = (ids: string[], from = 0) => ids.map((id, i) => ({ item_id: id, index: from + i, item_list_id: 'category', item_list_name: 'category:personalized' }))
    expect(w.dataLayer).toEqual([
      { event: 'gtm.js' },
      { ecommerce: null },
      { event: 'view_item_list', ecommerce: { item_list_id: 'category', item_list_name: 'category:personalized', items: items(['c0', 'c1']) } },
      { ecommerce: null },
      { event: 'select_item', ecommerce: { item_list_id: 'category', item_list_name: 'category:personalized', items: items(['c1'], 1) } },
    ])
    await rec.dispose()
  })
})
