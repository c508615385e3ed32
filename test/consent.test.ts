// The consent-platform adapters' mapping, unit by unit (the real-browser runs against fixture CMPs are
// e2e/consent-platforms.spec.ts).
import { describe, expect, it } from 'vitest'
import { consentModeAnswer, gppAnswer, linkConsent, shopifyAnswer, tcfAnswer, type ConsentTarget } from '../src/consent/index'
import type { ConsentState } from '../src/core/types'

const purposes = (on: number[]) => Object.fromEntries(Array.from({ length: 11 }, (_, i) => [i + 1, on.includes(i + 1)]))

describe('TCF v2.2', () => {
  it('needs consent to purposes 1, 5 and 6, only once the shopper decided', () => {
    const d = (status: 'tcloaded' | 'cmpuishown' | 'useractioncomplete', on: number[]) => ({ gdprApplies: true, eventStatus: status, cmpStatus: 'loaded' as const, purpose: { consents: purposes(on) } })
    expect(tcfAnswer(d('tcloaded', [1, 5, 6]))).toBe('granted')
    expect(tcfAnswer(d('useractioncomplete', [1, 2, 3, 4, 5, 6, 7]))).toBe('granted')
    for (const missing of [1, 5, 6]) expect(tcfAnswer(d('useractioncomplete', [1, 5, 6].filter((p) => p !== missing)))).toBe('denied')
    expect(tcfAnswer(d('cmpuishown', [1, 5, 6]))).toBeUndefined()
    expect(tcfAnswer({ ...d('tcloaded', [1, 5, 6]), cmpStatus: 'error' })).toBeUndefined()
    expect(tcfAnswer({ gdprApplies: false, eventStatus: 'tcloaded' })).toBe('not-applicable')
    // Publisher purposes, when the CMP asks for them.
    expect(tcfAnswer({ ...d('tcloaded', []), publisher: { consents: purposes([1, 5, 6]) } }, true)).toBe('granted')
    expect(tcfAnswer({ ...d('tcloaded', [1, 5, 6]), publisher: { consents: {} } }, true)).toBe('denied')
  })
})

describe('GPP', () => {
  it('reads PurposeConsents of tcfeuv2 (index 0 = purpose 1), and only opt-outs of the US sections', () => {
    const bits = (on: number[]) => Array.from({ length: 24 }, (_, i) => on.includes(i + 1))
    expect(gppAnswer(2, [{ PurposeConsents: bits([1, 5, 6]) }])).toBe('granted')
    expect(gppAnswer(2, [{ PurposeConsents: bits([1, 5]) }])).toBe('denied')
    expect(gppAnswer(2, null)).toBeUndefined()
    expect(gppAnswer(7, [{ SaleOptOut: 2, SharingOptOut: 2, TargetedAdvertisingOptOut: 2 }])).toBeUndefined()
    expect(gppAnswer(7, [{ SaleOptOut: 1, SharingOptOut: 2, TargetedAdvertisingOptOut: 2 }])).toBe('denied')
  })
})

describe('Consent Mode v2', () => {
  /** What gtag() pushes: its arguments object. */
  function args(..._a: unknown[]) {
    // eslint-disable-next-line prefer-rest-params
    return arguments
  }
  it('an update decides; a default only grants; a regional default is not read', () => {
    expect(consentModeAnswer(args('consent', 'update', { personalization_storage: 'granted' }))).toBe('granted')
    expect(consentModeAnswer(args('consent', 'update', { personalization_storage: 'denied' }))).toBe('denied')
    expect(consentModeAnswer(args('consent', 'update', { ad_storage: 'denied' }))).toBeUndefined()
    expect(consentModeAnswer(args('consent', 'default', { personalization_storage: 'denied' }))).toBeUndefined()
    expect(consentModeAnswer(args('consent', 'default', { personalization_storage: 'granted' }))).toBe('granted')
    expect(consentModeAnswer(args('consent', 'default', { personalization_storage: 'granted', region: ['US-CA'] }))).toBeUndefined()
    expect(consentModeAnswer({ event: 'gtm.js' })).toBeUndefined()
    expect(consentModeAnswer(['config', 'G-1'])).toBeUndefined()
  })
})

describe('Shopify Customer Privacy', () => {
  it("'yes' grants, 'no' denies, no choice yet is no answer unless the region needs none", () => {
    const cp = (preferences: 'yes' | 'no' | '', allowed: boolean) => ({ currentVisitorConsent: () => ({ preferences }), preferencesProcessingAllowed: () => allowed })
    expect(shopifyAnswer(cp('yes', true))).toBe('granted')
    expect(shopifyAnswer(cp('no', false))).toBe('denied')
    expect(shopifyAnswer(cp('', false))).toBeUndefined()
    expect(shopifyAnswer(cp('', true))).toBe('not-applicable')
  })
})

describe('linkConsent', () => {
  /** A recommender's consent as the link sees it, recording every setConsent(). */
  const target = (start: ConsentState) => {
    const calls: ConsentState[] = []
    let consent = start
    const t: ConsentTarget = {
      async setConsent(s) {
        calls.push(s)
        consent = s
      },
      status: () => ({ consent, disposed: false }),
    }
    return { t, calls }
  }
  const fakeWindow = (gpc: boolean, dataLayer: unknown[] = []) => ({ navigator: { globalPrivacyControl: gpc }, dataLayer }) as unknown as Window

  it('calls setConsent only when the answer changes the state, from the dataLayer so far and each push', async () => {
    const dl: unknown[] = [['consent', 'default', { personalization_storage: 'denied' }]]
    const { t, calls } = target('pending')
    const link = linkConsent(t, { platform: 'consent-mode' }, fakeWindow(false, dl))
    expect(calls).toEqual([])
    dl.push(['consent', 'update', { personalization_storage: 'granted' }])
    dl.push(['consent', 'update', { personalization_storage: 'granted', analytics_storage: 'denied' }])
    expect(calls).toEqual(['granted'])
    dl.push(['consent', 'update', { personalization_storage: 'denied' }])
    expect(calls).toEqual(['granted', 'denied'])
    expect(link.state).toBe('denied')
    link.stop()
    dl.push(['consent', 'update', { personalization_storage: 'granted' }])
    expect(calls).toEqual(['granted', 'denied'])
  })

  it("'not-applicable' becomes granted only when the site says so, and never under GPC", () => {
    const tcfWindow = (gpc: boolean) =>
      Object.assign(fakeWindow(gpc), { __tcfapi: (_c: string, _v: number, cb: (d: unknown, ok: boolean) => void) => cb({ gdprApplies: false, listenerId: 1 }, true) })
    for (const [gpc, notApplicable, want] of [
      [false, undefined, []],
      [false, 'granted', ['granted']],
      [true, 'granted', []],
    ] as const) {
      const { t, calls } = target(gpc ? 'denied' : 'pending')
      linkConsent(t, { platform: 'tcf', ...(notApplicable ? { notApplicable } : {}) }, tcfWindow(gpc))
      expect(calls, `gpc ${gpc} ${notApplicable}`).toEqual(want)
    }
  })

  it('refuses bad options by name', () => {
    const { t } = target('pending')
    for (const o of [undefined, {}, { platform: 'onetrust' }, { platform: 'tcf', notApplicable: 'denied' }, { platform: 'tcf', waitMs: -1 }, { platform: 'toString' }])
      expect(() => linkConsent(t, o as never, fakeWindow(false))).toThrow(expect.objectContaining({ name: 'InvalidOptionsError' }))
  })
})

describe('a hostile or broken platform', () => {
  it('odd shapes are no answer, never a throw', () => {
    for (const d of [{ eventStatus: 'tcloaded', purpose: { consents: 'all' } }, { eventStatus: 'tcloaded', purpose: null }, { eventStatus: 'tcloaded', purpose: { consents: { 1: 'true', 5: 1, 6: true } } }])
      expect(tcfAnswer(d as never)).toBe('denied')
    for (const s of [[], [null], ['x'], [{ PurposeConsents: 'yes' }], {}])
      expect(() => gppAnswer(2, s)).not.toThrow()
    expect(gppAnswer(2, [{ PurposeConsents: 'yes' }])).toBeUndefined()
    for (const e of [null, 5, 'consent', { length: 3, 0: 'consent', 1: 'update', 2: null }]) expect(consentModeAnswer(e)).toBeUndefined()
  })

  it('a CMP whose API throws, and a dataLayer entry whose getter throws, leave the page and consent alone', () => {
    const calls: string[] = []
    const t: ConsentTarget = { setConsent: async (s) => void calls.push(s), status: () => ({ consent: 'pending', disposed: false }) }
    const win = { navigator: {}, __tcfapi: () => { throw new Error('CMP bug') }, dataLayer: [] } as unknown as Window
    expect(() => linkConsent(t, { platform: 'tcf' }, win)).not.toThrow()
    linkConsent(t, { platform: 'consent-mode' }, win)
    const evil = Object.defineProperty(['consent', 'update'], 2, { get: () => { throw new Error('evil') } })
    const dl = (win as unknown as { dataLayer: unknown[] }).dataLayer
    expect(() => dl.push(evil)).not.toThrow()
    expect(dl).toHaveLength(1)
    expect(calls).toEqual([])
  })
})
