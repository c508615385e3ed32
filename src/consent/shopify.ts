// Shopify's Customer Privacy API (`window.Shopify.customerPrivacy`, loaded with
// `Shopify.loadFeatures([{ name: 'consent-tracking-api', version: '0.1' }], cb)`). inpage reads the
// "preferences" purpose, which Shopify defines as remembering a customer's preferences "to personalize
// visits to the website":
//   - `currentVisitorConsent().preferences`: 'yes' grants, 'no' denies, '' (no choice yet) decides nothing,
//     unless `preferencesProcessingAllowed()` is true, i.e. the store needs no consent in this region
//     ('not-applicable');
//   - the `visitorConsentCollected` document event (each choice the shopper makes) is read the same way.

import { whenDefined, type Adapter, type Answer } from './types'

export interface CustomerPrivacy {
  currentVisitorConsent(): { preferences?: 'yes' | 'no' | ''; [purpose: string]: unknown }
  preferencesProcessingAllowed(): boolean
}

interface ShopifyGlobal {
  customerPrivacy?: CustomerPrivacy
  loadFeatures?: (features: { name: string; version: string }[], callback: (error?: unknown) => void) => void
}

export function shopifyAnswer(cp: CustomerPrivacy): Answer | undefined {
  const p = cp.currentVisitorConsent()?.preferences
  if (p === 'yes') return 'granted'
  if (p === 'no') return 'denied'
  return cp.preferencesProcessingAllowed() ? 'not-applicable' : undefined
}

export const shopify: Adapter = (win, answer, waitMs) => {
  let stopped = false
  let cp: CustomerPrivacy | undefined
  const read = () => {
    if (stopped || !cp) return
    const a = shopifyAnswer(cp)
    if (a) answer(a)
  }
  const onCollected = () => read()
  win.document.addEventListener('visitorConsentCollected', onCollected)
  const shop = () => (win as unknown as { Shopify?: ShopifyGlobal }).Shopify
  const cancel = whenDefined(
    () => (shop()?.customerPrivacy || typeof shop()?.loadFeatures === 'function' ? shop() : undefined),
    waitMs,
    (s) => {
      const use = () => {
        cp = s.customerPrivacy
        read()
      }
      if (s.customerPrivacy) use()
      else s.loadFeatures!([{ name: 'consent-tracking-api', version: '0.1' }], (error) => (error ? undefined : use()))
    },
  )
  return () => {
    stopped = true
    cancel()
    win.document.removeEventListener('visitorConsentCollected', onCollected)
  }
}
