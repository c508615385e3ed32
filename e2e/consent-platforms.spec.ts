// The consent-platform adapters (inpage/consent) in real Chromium, against fixture CMPs that implement
// each published interface (e2e/pages/cmp/*.js): IAB TCF v2.2, IAB GPP v1.1, Google Consent Mode v2,
// Shopify's Customer Privacy API. A grant stores, a revocation mid-session erases exactly as
// setConsent('denied'), no answer leaves consent as it was (GPC still denies).
import { test, expect, type Page } from '@playwright/test'
import { inpageDatabases } from './helpers'
import type * as Consent from '../src/consent/index'

declare global {
  interface Window {
    inpageConsent: typeof Consent
    link: Consent.ConsentLink
    cmpFixture: { accept(): void; reject(): void; reopen?(): void; listeners?(): number; stage?(on: boolean): void; ready?(): void }
    consentEvents: string[]
  }
}

const PLATFORMS = ['tcf', 'gpp', 'consent-mode', 'shopify'] as const
type Platform = (typeof PLATFORMS)[number]

async function open(page: Page, platform: Platform, query = '', options: Partial<Consent.LinkConsentOptions> = {}) {
  await page.goto(`/consent.html?${query}`)
  await page.waitForFunction(() => Boolean(window.inpage && window.inpageConsent))
  await page.addScriptTag({ url: `/cmp/${platform}.js` })
  await page.evaluate(
    ({ platform, options }) => {
      window.rec = window.inpage.createRecommender({ name: 'shop' })
      window.consentEvents = []
      window.rec.on('consent', (e) => window.consentEvents.push(e.state))
      window.link = window.inpageConsent.linkConsent(window.rec, { platform, ...options })
    },
    { platform, options },
  )
}

const consent = (page: Page) => page.evaluate(() => window.rec.status().consent)
/** A view, written now: under a grant it creates the history database. */
const trackOne = (page: Page) =>
  page.evaluate(async () => {
    await window.rec.track({ type: 'view', itemId: 'sku-1', item: { title: 'Beaker' } })
    await window.rec.flush()
  })
/** Long enough for each fixture to load and answer (they answer within 50 ms). */
const settle = (page: Page) => page.waitForTimeout(400)

for (const platform of PLATFORMS) {
  test.describe(platform, () => {
    test('a returning shopper who accepted: granted and stored; revoked mid-session: erased as by setConsent("denied")', async ({ page }) => {
      await open(page, platform, 'returning=accept')
      await expect.poll(() => consent(page)).toBe('granted')
      await trackOne(page)
      expect(await inpageDatabases(page)).toEqual(['inpage:shop:history'])
      await page.evaluate(() => window.cmpFixture.reject())
      await expect.poll(() => consent(page)).toBe('denied')
      await expect.poll(() => inpageDatabases(page)).toEqual([])
      expect(await page.evaluate(async () => (await window.rec.exportData()).events.length)).toBe(0)
      expect(await page.evaluate(() => window.consentEvents)).toEqual(['granted', 'denied'])
      // Nothing comes back: a track after the revocation is dropped.
      await trackOne(page)
      expect(await inpageDatabases(page)).toEqual([])
      expect(await page.evaluate(() => window.link.state)).toBe('denied')
    })

    test('a new shopper: pending (memory only) until the banner is answered, then granted', async ({ page }) => {
      await open(page, platform)
      await settle(page)
      expect(await consent(page)).toBe('pending')
      await trackOne(page)
      expect(await inpageDatabases(page)).toEqual([])
      await page.evaluate(() => window.cmpFixture.accept())
      await expect.poll(() => consent(page)).toBe('granted')
      // The event kept in memory while pending is stored by the grant.
      await expect.poll(() => inpageDatabases(page)).toEqual(['inpage:shop:history'])
      expect(await page.evaluate(async () => (await window.rec.exportData()).events.map((e) => e.itemId))).toEqual(['sku-1'])
    })

    test('Global Privacy Control wins while the platform has no answer; a grant given in the banner still counts', async ({ page }) => {
      await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true, configurable: true }))
      await open(page, platform)
      await settle(page)
      expect(await consent(page)).toBe('denied')
      await page.evaluate(() => window.cmpFixture.accept())
      await expect.poll(() => consent(page)).toBe('granted')
    })

    test('a returning shopper who refused: denied, nothing stored', async ({ page }) => {
      await open(page, platform, 'returning=reject')
      await expect.poll(() => consent(page)).toBe('denied')
      await trackOne(page)
      expect(await inpageDatabases(page)).toEqual([])
    })
  })
}

test.describe('platform details', () => {
  test('TCF: purposes 1, 5 and 6 are each required; the UI shown again changes nothing until the choice; stop() removes the listener', async ({ page }) => {
    await open(page, 'tcf', 'returning=accept')
    await expect.poll(() => consent(page)).toBe('granted')
    await page.evaluate(() => window.cmpFixture.reopen!())
    await settle(page)
    expect(await consent(page)).toBe('granted')
    expect(await page.evaluate(() => window.cmpFixture.listeners!())).toBe(1)
    await page.evaluate(() => window.link.stop())
    expect(await page.evaluate(() => window.cmpFixture.listeners!())).toBe(0)
    // The mapping itself: one purpose missing is a denial.
    const answers = await page.evaluate(() => {
      const all = { 1: true, 2: true, 3: true, 4: true, 5: true, 6: true }
      return [1, 5, 6, 2].map((p) =>
        window.inpageConsent.tcfAnswer({ gdprApplies: true, eventStatus: 'useractioncomplete', cmpStatus: 'loaded', purpose: { consents: { ...all, [p]: false } } }),
      )
    })
    expect(answers).toEqual(['denied', 'denied', 'denied', 'granted'])
  })

  test('TCF gdprApplies false and GPP with no applicable section: pending by default, granted with notApplicable "granted"', async ({ page }) => {
    await open(page, 'tcf', 'gdpr=0')
    await settle(page)
    expect(await consent(page)).toBe('pending')
    await open(page, 'tcf', 'gdpr=0', { notApplicable: 'granted' })
    await expect.poll(() => consent(page)).toBe('granted')
    await open(page, 'gpp', 'section=none', { notApplicable: 'granted' })
    await expect.poll(() => consent(page)).toBe('granted')
  })

  test('GPP: a US section gives no answer, unless the shopper opted out; stop() removes the listener', async ({ page }) => {
    await open(page, 'gpp', 'section=usnat')
    await settle(page)
    expect(await consent(page)).toBe('pending')
    expect(await page.evaluate(() => window.cmpFixture.listeners!())).toBe(1)
    await page.evaluate(() => window.link.stop())
    expect(await page.evaluate(() => window.cmpFixture.listeners!())).toBe(0)
    await open(page, 'gpp', 'section=usnat&optout=1')
    await expect.poll(() => consent(page)).toBe('denied')
  })

  test('GPP: nothing is read while signalStatus is "not ready"', async ({ page }) => {
    await open(page, 'gpp', 'returning=accept')
    await expect.poll(() => consent(page)).toBe('granted')
    await page.evaluate(() => window.cmpFixture.reopen!())
    await settle(page)
    expect(await consent(page)).toBe('granted')
    // The section already says "rejected" but the signal is not ready: not read yet.
    await page.evaluate(() => window.cmpFixture.stage!(false))
    await settle(page)
    expect(await consent(page)).toBe('granted')
    await page.evaluate(() => window.cmpFixture.ready!())
    await expect.poll(() => consent(page)).toBe('denied')
  })

  test('Consent Mode: a default of "denied" is not a decision and erases nothing stored; an update is', async ({ page }) => {
    await open(page, 'consent-mode', 'returning=accept')
    await expect.poll(() => consent(page)).toBe('granted')
    await trackOne(page)
    // The next page: only the default (denied) before the banner's update: the stored grant stays.
    await open(page, 'consent-mode')
    await settle(page)
    expect(await consent(page)).toBe('granted')
    expect(await inpageDatabases(page)).toEqual(['inpage:shop:history'])
    await open(page, 'consent-mode', 'default=granted')
    await expect.poll(() => consent(page)).toBe('granted')
  })

  test('Shopify: a region without consent is pending by default, granted with notApplicable "granted"', async ({ page }) => {
    await open(page, 'shopify', 'region=none')
    await settle(page)
    expect(await consent(page)).toBe('pending')
    await open(page, 'shopify', 'region=none', { notApplicable: 'granted' })
    await expect.poll(() => consent(page)).toBe('granted')
  })

  test('a bad platform is refused by name', async ({ page }) => {
    await page.goto('/consent.html')
    await page.waitForFunction(() => Boolean(window.inpage && window.inpageConsent))
    const err = await page.evaluate(() => {
      try {
        window.inpageConsent.linkConsent(window.inpage.createRecommender(), { platform: 'onetrust' as never })
      } catch (e) {
        return (e as Error).name
      }
    })
    expect(err).toBe('InvalidOptionsError')
  })
})
