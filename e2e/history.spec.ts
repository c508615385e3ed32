// The behaviour history in real Chromium: real IndexedDB, reloads, restarts, tabs, consent, GPC.
import { test, expect, chromium } from '@playwright/test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openHarness, inpageDatabases, item } from './helpers'
import { E2E_ORIGIN } from './ports'

test('history persists across a reload', async ({ page }) => {
  await openHarness(page)
  await page.evaluate(async (it) => {
    window.rec = window.inpage.createRecommender({ consent: 'granted' })
    await window.rec.track({ type: 'view', itemId: 'A1', item: it, surface: 'category' })
    await window.rec.track({ type: 'purchase', itemId: 'A1', item: it })
  }, item(1))
  await page.reload()
  await page.waitForFunction(() => Boolean(window.inpage))
  const doc = await page.evaluate(async () => {
    const rec = window.inpage.createRecommender()
    await rec.ready()
    return { consent: rec.status().consent, doc: await rec.exportData() }
  })
  expect(doc.consent).toBe('granted') // the site's grant was remembered
  expect(doc.doc.events.map((e) => `${e.type}:${e.itemId}`)).toEqual(['view:A1', 'purchase:A1'])
})

test('history persists across a browser restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'inpage-profile-'))
  const launch = () =>
    chromium.launchPersistentContext(dir, { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', baseURL: E2E_ORIGIN })
  try {
    let ctx = await launch()
    let page = await ctx.newPage()
    await openHarness(page)
    await page.evaluate(async (it) => {
      const rec = window.inpage.createRecommender({ consent: 'granted' })
      await rec.track({ type: 'add_to_cart', itemId: 'R1', item: it })
      await rec.dispose()
    }, item(2))
    await ctx.close()
    ctx = await launch()
    page = await ctx.newPage()
    await openHarness(page)
    const ids = await page.evaluate(async () => (await window.inpage.createRecommender().exportData()).events.map((e) => e.itemId))
    expect(ids).toEqual(['R1'])
    await ctx.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('two pages writing 500 events each at once keep all 1,000', async ({ context }) => {
  const [a, b] = [await context.newPage(), await context.newPage()]
  await Promise.all([openHarness(a), openHarness(b)])
  const write = (p: typeof a, tag: string) =>
    p.evaluate(async (tag) => {
      const rec = window.inpage.createRecommender({ consent: 'granted' })
      await rec.ready()
      const writes = []
      for (let i = 0; i < 500; i++) {
        writes.push(rec.track({ type: 'view', itemId: `${tag}${i}`, item: { title: `t${i}` } }))
        if (i % 50 === 49) await new Promise((r) => setTimeout(r, 0)) // interleave the two pages' batches
      }
      await Promise.all(writes)
    }, tag)
  await Promise.all([write(a, 'a'), write(b, 'b')])
  const ids = await a.evaluate(async () => (await window.inpage.createRecommender().exportData()).events.map((e) => e.itemId!))
  expect(ids).toHaveLength(1000)
  expect(new Set(ids).size).toBe(1000)
})

test('another tab hears of new events', async ({ context }) => {
  const [a, b] = [await context.newPage(), await context.newPage()]
  await Promise.all([openHarness(a), openHarness(b)])
  await b.evaluate(async () => {
    window.rec = window.inpage.createRecommender({ consent: 'granted' })
    await window.rec.ready()
    ;(window as unknown as { heard: Promise<string> }).heard = new Promise((r) => window.rec.on('history', (e) => r(e.source)))
  })
  await a.evaluate(async () => {
    await window.inpage.createRecommender({ consent: 'granted' }).track({ type: 'click', itemId: 'X', item: { title: 'x' } })
  })
  expect(await b.evaluate(() => (window as unknown as { heard: Promise<string> }).heard)).toBe('remote')
  expect(await b.evaluate(async () => (await window.rec.exportData()).events.map((e) => e.itemId))).toEqual(['X'])
})

test('consent: pending stores nothing, granted stores, denied erases', async ({ page }) => {
  await openHarness(page)
  const pending = await page.evaluate(async (it) => {
    const rec = window.inpage.createRecommender()
    await rec.track({ type: 'view', itemId: 'P', item: it })
    return { status: rec.status(), dbs: (await indexedDB.databases()).map((d) => d.name) }
  }, item(3))
  expect(pending.status).toMatchObject({ consent: 'pending', events: 1 })
  expect(pending.dbs.filter((n) => n?.startsWith('inpage'))).toEqual([]) // pending writes nothing at all
  await page.reload()
  await page.waitForFunction(() => Boolean(window.inpage))
  expect(await page.evaluate(async () => (await window.inpage.createRecommender().exportData()).events)).toEqual([])

  await page.evaluate(async (it) => {
    window.rec = window.inpage.createRecommender()
    await window.rec.track({ type: 'view', itemId: 'G', item: it })
    await window.rec.setConsent('granted')
  }, item(4))
  await page.reload()
  await page.waitForFunction(() => Boolean(window.inpage))
  expect(await page.evaluate(async () => (await window.inpage.createRecommender().exportData()).events.map((e) => e.itemId))).toEqual(['G'])

  await page.evaluate(async (it) => {
    const rec = window.inpage.createRecommender()
    await rec.setConsent('denied')
    await rec.track({ type: 'view', itemId: 'D', item: it })
  }, item(5))
  expect(await inpageDatabases(page)).toEqual([])
})

test('persistent storage is asked for only under a grant, once, and status() reports the answer', async ({ page }) => {
  // Counts the page's calls to navigator.storage.persist(), passing each on to the browser.
  await page.addInitScript(() => {
    const w = window as unknown as { persistCalls: number }
    w.persistCalls = 0
    const real = StorageManager.prototype.persist
    StorageManager.prototype.persist = function () {
      w.persistCalls++
      return real.call(this)
    }
  })
  await openHarness(page)
  const r = await page.evaluate(async (it) => {
    const w = window as unknown as { persistCalls: number }
    const rec = window.inpage.createRecommender()
    await rec.track({ type: 'view', itemId: 'P', item: it })
    await rec.ready()
    const pending = { persistence: rec.status().persistence, calls: w.persistCalls }
    await rec.setConsent('denied')
    const denied = { persistence: rec.status().persistence, calls: w.persistCalls }
    await rec.setConsent('granted')
    await rec.track({ type: 'view', itemId: 'G', item: it })
    await new Promise((r) => setTimeout(r, 200))
    await rec.setConsent('pending')
    await rec.setConsent('granted')
    await new Promise((r) => setTimeout(r, 200))
    return { pending, denied, granted: { persistence: rec.status().persistence, calls: w.persistCalls, persisted: await navigator.storage.persisted() } }
  }, item(9))
  expect(r.pending).toEqual({ persistence: 'not-asked', calls: 0 })
  expect(r.denied).toEqual({ persistence: 'not-asked', calls: 0 })
  // Headless Chromium answers false (no engagement): the history is best-effort storage, and status says so.
  expect(r.granted).toEqual({ persistence: 'best-effort', calls: 1, persisted: false })
})

test('Global Privacy Control means denied until the site grants', async ({ page }) => {
  await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true }))
  await openHarness(page)
  const r = await page.evaluate(async (it) => {
    const rec = window.inpage.createRecommender()
    await rec.ready()
    const before = rec.status().consent
    await rec.track({ type: 'view', itemId: 'N', item: it })
    const kept = (await rec.exportData()).events.length
    await rec.setConsent('granted') // the site asked the shopper, who said yes
    await rec.track({ type: 'view', itemId: 'Y', item: it })
    return { before, kept, after: rec.status().consent, ids: (await rec.exportData()).events.map((e) => e.itemId) }
  }, item(6))
  expect(r).toEqual({ before: 'denied', kept: 0, after: 'granted', ids: ['Y'] })
})

test('forget() leaves no inpage data in IndexedDB', async ({ page }) => {
  await openHarness(page)
  await page.evaluate(async (it) => {
    const rec = window.inpage.createRecommender({ consent: 'granted' })
    await rec.track({ type: 'purchase', itemId: 'F', item: it })
    await rec.track({ type: 'search', query: 'safety goggles' })
  }, item(7))
  expect(await inpageDatabases(page)).not.toEqual([])
  await page.evaluate(async () => window.inpage.createRecommender().forget())
  expect(await inpageDatabases(page)).toEqual([])
})

test('IndexedDB unavailable: an in-memory store, and status says so', async ({ page }) => {
  await page.addInitScript(() => {
    Object.defineProperty(window, 'indexedDB', { get: () => { throw new DOMException('blocked', 'SecurityError') } })
  })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await openHarness(page)
  const s = await page.evaluate(async (it) => {
    const rec = window.inpage.createRecommender({ consent: 'granted' })
    await rec.track({ type: 'view', itemId: 'M', item: it })
    return { status: rec.status(), ids: (await rec.exportData()).events.map((e) => e.itemId) }
  }, item(8))
  expect(s.status).toMatchObject({ storage: 'memory', consent: 'granted', events: 1 })
  expect(s.ids).toEqual(['M'])
  expect(errors).toEqual([])
})

test('invalid events are refused by name and nothing is written', async ({ page }) => {
  await openHarness(page)
  const r = await page.evaluate(async () => {
    const rec = window.inpage.createRecommender({ consent: 'granted' })
    const names: string[] = []
    for (const bad of [{ type: 'view' }, { type: 'search' }, { type: 'dwell', itemId: 'x', item: { title: 't' }, dwellMs: -1 }]) {
      try {
        await rec.track(bad as never)
      } catch (e) {
        names.push((e as Error).name)
      }
    }
    await rec.flush()
    return { names, events: (await rec.exportData()).events.length }
  })
  expect(r).toEqual({ names: ['InvalidEventError', 'InvalidEventError', 'InvalidEventError'], events: 0 })
})
