// A fixture of Shopify's Customer Privacy API as shopify.dev documents it: Shopify.loadFeatures loads
// `consent-tracking-api` and calls back; then Shopify.customerPrivacy has currentVisitorConsent()
// ({ marketing, analytics, preferences, sale_of_data }: 'yes' | 'no' | ''), the *Allowed() methods,
// shouldShowBanner() and setTrackingConsent(consent, callback), which fires the document event
// `visitorConsentCollected` (detail: analyticsAllowed, marketingAllowed, preferencesAllowed, saleOfDataAllowed).
// `window.cmpFixture`: accept(), reject() (through setTrackingConsent, as a banner would).
// Query: ?returning=accept|reject, ?region=none (a region where the store needs no consent).
;(function () {
  var params = new URLSearchParams(location.search)
  var required = params.get('region') !== 'none'
  var returning = params.get('returning')
  var v = returning === 'accept' ? 'yes' : returning === 'reject' ? 'no' : ''
  var consent = { marketing: v, analytics: v, preferences: v, sale_of_data: v }
  var allowed = function (k) {
    return consent[k] === 'yes' || (!required && consent[k] === '')
  }
  var api = {
    currentVisitorConsent: function () {
      return { marketing: consent.marketing, analytics: consent.analytics, preferences: consent.preferences, sale_of_data: consent.sale_of_data }
    },
    preferencesProcessingAllowed: function () { return allowed('preferences') },
    analyticsProcessingAllowed: function () { return allowed('analytics') },
    marketingAllowed: function () { return allowed('marketing') },
    saleOfDataAllowed: function () { return allowed('sale_of_data') },
    userCanBeTracked: function () { return allowed('marketing') && allowed('analytics') },
    shouldShowBanner: function () { return required && consent.preferences === '' },
    setTrackingConsent: function (c, callback) {
      var yn = function (b) { return b === undefined ? undefined : b ? 'yes' : 'no' }
      if (c.marketing !== undefined) consent.marketing = yn(c.marketing)
      if (c.analytics !== undefined) consent.analytics = yn(c.analytics)
      if (c.preferences !== undefined) consent.preferences = yn(c.preferences)
      if (c.sale_of_data !== undefined) consent.sale_of_data = yn(c.sale_of_data)
      setTimeout(function () {
        document.dispatchEvent(new CustomEvent('visitorConsentCollected', {
          detail: { analyticsAllowed: allowed('analytics'), marketingAllowed: allowed('marketing'), preferencesAllowed: allowed('preferences'), saleOfDataAllowed: allowed('sale_of_data') },
        }))
        if (callback) callback()
      }, 0)
    },
  }
  window.Shopify = window.Shopify || {}
  window.Shopify.loadFeatures = function (features, callback) {
    var ok = features.some(function (f) { return f.name === 'consent-tracking-api' })
    setTimeout(function () {
      if (!ok) return callback(new Error('unknown feature'))
      window.Shopify.customerPrivacy = api
      callback()
    }, 20)
  }
  function decide(on) {
    api.setTrackingConsent({ analytics: on, marketing: on, preferences: on, sale_of_data: on })
  }
  window.cmpFixture = { accept: function () { decide(true) }, reject: function () { decide(false) } }
})()
