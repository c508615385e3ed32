// A fixture CMP implementing the IAB GPP CMP API v1.1 (`__gpp`) as its specification words it: ping,
// addEventListener (an EventListener object at once, eventName 'listenerRegistered', then one per event,
// each with pingData), removeEventListener, getSection (the parsed section: an array of sub-section
// objects), hasSection. Every change is one chain: signalStatus 'not ready' first, the changes
// (cmpDisplayStatus, sectionChange), signalStatus 'ready' last.
// `window.cmpFixture`: accept(), reject() (the shopper's choice in the EU section tcfeuv2), reopen(),
// stage(on) then ready() (a change whose signal is not ready yet, then ready).
// Query: ?returning=accept|reject, ?section=none (no section applies: applicableSections [-1]),
// ?section=usnat&optout=1 (the US national section, the shopper opted out of sale).
;(function () {
  var params = new URLSearchParams(location.search)
  var listeners = []
  var nextId = 1
  var section = params.get('section') || 'tcfeuv2'
  var ids = { tcfeuv2: 2, usnat: 7 }
  var returning = params.get('returning')
  var consents = returning ? returning === 'accept' : null
  var ping = {
    gppVersion: '1.1',
    cmpStatus: 'loading',
    cmpDisplayStatus: 'hidden',
    signalStatus: 'not ready',
    supportedAPIs: ['2:tcfeuv2', '7:usnat'],
    cmpId: 300,
    sectionList: [],
    applicableSections: [0],
    gppString: '',
  }
  function copyPing() {
    return JSON.parse(JSON.stringify(ping))
  }
  function bits(on) {
    var a = []
    for (var i = 0; i < 24; i++) a.push(on)
    return a
  }
  function parsed(name) {
    if (name === 'tcfeuv2' && section === 'tcfeuv2' && consents !== null)
      return [{ Version: 2, CmpId: 300, CmpVersion: 1, PurposeConsents: bits(consents), PurposeLegitimateInterests: bits(false), VendorConsents: [] }]
    if (name === 'usnat' && section === 'usnat') {
      var out = params.get('optout') === '1' ? 1 : 2
      return [{ Version: 1, SharingNotice: 1, SaleOptOutNotice: 1, SaleOptOut: out, SharingOptOut: 2, TargetedAdvertisingOptOut: 2, MspaCoveredTransaction: 2 }, { SubsectionType: 1, Gpc: false }]
    }
    return null
  }
  function fire(eventName, data) {
    listeners.forEach(function (l) {
      l.callback({ eventName: eventName, listenerId: l.id, data: data, pingData: copyPing() }, true)
    })
  }
  window.__gpp = function (command, callback, parameter) {
    if (command === 'ping') return callback(copyPing(), true)
    if (command === 'addEventListener') {
      var id = nextId++
      listeners.push({ id: id, callback: callback })
      return callback({ eventName: 'listenerRegistered', listenerId: id, data: true, pingData: copyPing() }, true)
    }
    if (command === 'removeEventListener') {
      var before = listeners.length
      listeners = listeners.filter(function (l) {
        return l.id !== parameter
      })
      return callback(listeners.length < before, true)
    }
    if (command === 'hasSection') return callback(parsed(parameter) !== null, true)
    if (command === 'getSection') return callback(parsed(parameter), true)
    callback(null, false)
  }
  // The CMP loads after the page: cmpStatus, then the returning shopper's signal or the UI.
  setTimeout(function () {
    ping.cmpStatus = 'loaded'
    fire('cmpStatus', 'loaded')
    if (section === 'none') ping.applicableSections = [-1]
    else ping.applicableSections = [ids[section]]
    if (section === 'none' || section === 'usnat' || consents !== null) {
      ping.sectionList = section === 'none' ? [] : [ids[section]]
      ping.signalStatus = 'ready'
      fire('signalStatus', 'ready')
    } else {
      ping.cmpDisplayStatus = 'visible'
      fire('cmpDisplayStatus', 'visible')
    }
  }, 30)
  function decide(on) {
    ping.signalStatus = 'not ready'
    fire('signalStatus', 'not ready')
    consents = on
    ping.cmpDisplayStatus = 'hidden'
    fire('cmpDisplayStatus', 'hidden')
    ping.sectionList = [2]
    fire('sectionChange', 'tcfeuv2')
    ping.signalStatus = 'ready'
    fire('signalStatus', 'ready')
  }
  window.cmpFixture = {
    accept: function () { decide(true) },
    reject: function () { decide(false) },
    // A change in progress: the section already says 'rejected', signalStatus is still 'not ready'.
    stage: function (on) {
      ping.signalStatus = 'not ready'
      fire('signalStatus', 'not ready')
      consents = on
      fire('sectionChange', 'tcfeuv2')
      ping.cmpDisplayStatus = 'hidden'
      fire('cmpDisplayStatus', 'hidden')
    },
    ready: function () {
      ping.signalStatus = 'ready'
      fire('signalStatus', 'ready')
    },
    reopen: function () {
      ping.signalStatus = 'not ready'
      fire('signalStatus', 'not ready')
      ping.cmpDisplayStatus = 'visible'
      fire('cmpDisplayStatus', 'visible')
    },
    listeners: function () { return listeners.length },
  }
})()
