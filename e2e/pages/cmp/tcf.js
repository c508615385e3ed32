// A fixture CMP implementing the IAB TCF v2.2 CMP API (`__tcfapi`) as its specification words it:
// ping, addEventListener (the callback is called at once with the current TCData, then on every change,
// each call carrying its listenerId), removeEventListener (callback(success)), version 2 only.
// `window.cmpFixture` plays the shopper: accept(), reject(), reopen() (the UI shown again: 'cmpuishown').
// Query: ?returning=accept|reject (a TC string from an earlier visit), ?gdpr=0 (GDPR does not apply).
;(function () {
  var params = new URLSearchParams(location.search)
  var listeners = []
  var nextId = 1
  var gdprApplies = params.get('gdpr') !== '0'
  var returning = params.get('returning')
  var consents = null // null: no TC string yet
  var eventStatus = 'cmpuishown'
  if (returning) {
    consents = returning === 'accept'
    eventStatus = 'tcloaded'
  }
  if (!gdprApplies) eventStatus = 'tcloaded'
  function purposes(on) {
    var o = {}
    for (var p = 1; p <= 11; p++) o[p] = on
    return o
  }
  function tcData(listenerId) {
    return {
      tcString: consents === null ? '' : consents ? 'CPfixtureACCEPT' : 'CPfixtureREJECT',
      tcfPolicyVersion: 4,
      cmpId: 300,
      cmpVersion: 1,
      gdprApplies: gdprApplies,
      eventStatus: eventStatus,
      cmpStatus: 'loaded',
      listenerId: listenerId,
      isServiceSpecific: true,
      useNonStandardTexts: false,
      publisherCC: 'DE',
      purposeOneTreatment: false,
      purpose: { consents: purposes(!!consents), legitimateInterests: purposes(false) },
      vendor: { consents: {}, legitimateInterests: {} },
      specialFeatureOptins: {},
      publisher: { consents: purposes(!!consents), legitimateInterests: {}, customPurpose: { consents: {}, legitimateInterests: {} }, restrictions: {} },
    }
  }
  function notify() {
    listeners.forEach(function (l) {
      l.callback(tcData(l.id), true)
    })
  }
  window.__tcfapi = function (command, version, callback, parameter) {
    if (version !== 2 && command !== 'ping') return callback(false, false)
    if (command === 'ping')
      return callback({ gdprApplies: gdprApplies, cmpLoaded: true, cmpStatus: 'loaded', displayStatus: eventStatus === 'cmpuishown' ? 'visible' : 'hidden', apiVersion: '2.2', cmpVersion: 1, cmpId: 300, gvlVersion: 100, tcfPolicyVersion: 4 }, true)
    if (command === 'addEventListener') {
      var id = nextId++
      listeners.push({ id: id, callback: callback })
      return callback(tcData(id), true)
    }
    if (command === 'removeEventListener') {
      var before = listeners.length
      listeners = listeners.filter(function (l) {
        return l.id !== parameter
      })
      return callback(listeners.length < before, true)
    }
    callback(false, false)
  }
  function decide(on) {
    consents = on
    eventStatus = 'useractioncomplete'
    notify()
  }
  window.cmpFixture = {
    accept: function () { decide(true) },
    reject: function () { decide(false) },
    reopen: function () {
      eventStatus = 'cmpuishown'
      notify()
    },
    listeners: function () { return listeners.length },
  }
})()
