// The demo storefront: the store server's order beside this shopper's order, reranked in the tab by
// inpage, with a store switcher (each store its own server and catalog pack, one model), a shopper
// simulator, tuning knobs, a privacy panel and "try it on your catalog". Plain TS + DOM, a file per
// panel (state.ts lists the order they import in); this one wires the hooks and starts the page.
import { $ } from './dom'
import { hooks, state } from './state'
import { goDept, goSearch } from './lists'
import { renderNextPurchase } from './simulator'
import { renderPrivacy, renderRequests } from './privacy'
import { renderTuning } from './tuning'
import { openStore, refreshStores } from './stores'
import { renderOwnCatalog } from './own-catalog'

Object.assign(hooks, { renderRequests, renderNextPurchase, renderPrivacy })

async function start() {
  $('#search').addEventListener('submit', (e) => {
    e.preventDefault()
    const q = ($('#q') as HTMLInputElement).value.trim()
    // The query is part of the shopper's history too, on the device only.
    if (q) goSearch(q)
    else goDept('')
  })
  renderTuning()
  renderOwnCatalog()
  await refreshStores()
  const wanted = new URLSearchParams(location.search).get('store')
  await openStore(state.stores.some((s) => s.id === wanted) ? wanted! : state.stores[0]!.id)
  document.body.dataset.ready = 'true'
}

void start().catch((e) => {
  document.body.dataset.ready = 'error'
  $('#page-sub').textContent = `The store server failed: ${(e as Error).message}`
})
