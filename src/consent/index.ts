// inpage/consent: follows the consent platform a store already runs, so the banner's answer drives
// setConsent(). A separate entry (dist/inpage-consent.js), so the main entry grows by nothing:
//   import { linkConsent } from 'inpage/consent'
//   linkConsent(recommender, { platform: 'tcf' })
// Rules: a platform's grant calls setConsent('granted'), its denial or a revocation setConsent('denied')
// (which erases, exactly as by hand); while the platform has no answer nothing is called, so consent
// stays as it started (pending, or denied under Global Privacy Control).

import { boolean, defineOptions, number, oneOf, required } from '../core/validate'
import type { ConsentState } from '../core/types'
import { consentMode } from './consent-mode'
import { gpp } from './gpp'
import { shopify } from './shopify'
import { tcf } from './tcf'
import type { Adapter, Answer } from './types'

export { tcfAnswer, TCF_PURPOSES, type TCData } from './tcf'
export { gppAnswer } from './gpp'
export { consentModeAnswer } from './consent-mode'
export { shopifyAnswer, type CustomerPrivacy } from './shopify'
export type { Answer } from './types'

export type ConsentPlatform = 'tcf' | 'gpp' | 'consent-mode' | 'shopify'

export interface LinkConsentOptions {
  platform: ConsentPlatform
  /**
   * What the platform's "no consent is needed for this visitor" means (TCF `gdprApplies: false`, GPP no
   * applicable section, Shopify a region without consent): 'pending' (default: memory only, nothing
   * stored) or 'granted'. Under Global Privacy Control it stays 'denied' either way.
   */
  notApplicable?: 'pending' | 'granted'
  /** TCF: read the publisher's purpose consents (`publisher.consents`) instead of the user's purpose consents. */
  publisherPurposes?: boolean
  /** How long to wait for the platform's API (`__tcfapi`, `__gpp`, `Shopify`) to appear, in ms. Default 10000. */
  waitMs?: number
}

/** The part of a recommender the link drives. */
export interface ConsentTarget {
  setConsent(state: ConsentState): Promise<void>
  status(): { consent: ConsentState; disposed: boolean }
}

export interface ConsentLink {
  /** The platform's latest answer, mapped: undefined until it has one. */
  readonly state: ConsentState | undefined
  /** Stops listening to the platform (consent stays as it is). */
  stop(): void
}

const ADAPTERS: Record<ConsentPlatform, (o: LinkConsentOptions) => Adapter> = {
  tcf: (o) => tcf(o.publisherPurposes),
  gpp: () => gpp,
  'consent-mode': () => consentMode,
  shopify: () => shopify,
}

const linkConsentOptions = defineOptions<LinkConsentOptions>('linkConsent options', {
  platform: required(oneOf(Object.keys(ADAPTERS) as ConsentPlatform[])),
  notApplicable: oneOf(['pending', 'granted']),
  publisherPurposes: boolean(),
  waitMs: number({ min: 0 }),
})

function gpcOn(win: Window): boolean {
  try {
    return (win.navigator as Navigator & { globalPrivacyControl?: boolean }).globalPrivacyControl === true
  } catch {
    return false
  }
}

export function linkConsent(rec: ConsentTarget, options: LinkConsentOptions, win: Window = window): ConsentLink {
  const o = linkConsentOptions.parse(options)
  const waitMs = o.waitMs ?? 10_000
  let state: ConsentState | undefined
  let stop = () => {}
  const apply = (a: Answer) => {
    if (a !== 'granted' && a !== 'denied' && a !== 'not-applicable') return
    // Not applicable: the site's choice, but Global Privacy Control still denies.
    const next: ConsentState | undefined =
      a === 'not-applicable' ? (o.notApplicable === 'granted' && !gpcOn(win) ? 'granted' : undefined) : a
    if (!next) return
    state = next
    const s = rec.status()
    if (s.disposed) return stop()
    if (s.consent !== next) rec.setConsent(next).catch(() => stop())
  }
  stop = ADAPTERS[o.platform](o)(win, apply, waitMs)
  return {
    get state() {
      return state
    },
    stop: () => stop(),
  }
}
