// Google Consent Mode v2 as a page sets it up: Google's gtag snippet (dataLayer and gtag()), the
// 'default' command before any tag, then a banner's 'update' per choice. No Google script is loaded:
// the commands on window.dataLayer are the interface. `window.cmpFixture`: accept(), reject().
// Query: ?returning=accept|reject (the banner's stored choice, restored with an 'update' at load),
// ?default=granted (a site whose default grants personalization_storage).
;(function () {
  var params = new URLSearchParams(location.search)
  window.dataLayer = window.dataLayer || []
  function gtag() {
    window.dataLayer.push(arguments)
  }
  window.gtag = gtag
  var d = params.get('default') === 'granted' ? 'granted' : 'denied'
  gtag('consent', 'default', { ad_storage: 'denied', ad_user_data: 'denied', ad_personalization: 'denied', analytics_storage: 'denied', personalization_storage: d, functionality_storage: 'granted', security_storage: 'granted', wait_for_update: 500 })
  // A default for some regions only: not applicable to a page that cannot know its region.
  gtag('consent', 'default', { personalization_storage: 'granted', region: ['US-CA'] })
  function update(on) {
    var s = on ? 'granted' : 'denied'
    gtag('consent', 'update', { ad_storage: s, ad_user_data: s, ad_personalization: s, analytics_storage: s, personalization_storage: s })
  }
  var returning = params.get('returning')
  if (returning) update(returning === 'accept')
  window.cmpFixture = { accept: function () { update(true) }, reject: function () { update(false) } }
})()
