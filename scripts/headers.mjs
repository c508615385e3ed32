// The response headers inpage's pages need, in one place for every server that sends them:
// scripts/serve.mjs (e2e, bench, the script-tag page), the demo's Vite config, and e2e specs that
// serve a page themselves. Plain JS so that plain Node (serve.mjs) imports it too; types: headers.d.mts.

/** Cross-origin isolation (COOP + COEP): the page and its worker get `crossOriginIsolated`, hence
 * SharedArrayBuffer and ORT's WASM threads; without them ORT falls back to one thread. */
export const ISOLATION_HEADERS = Object.freeze({
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
})

/** The strict Content-Security-Policy the README documents (serve.mjs sends it with *.csp.html pages):
 * no inline script and no eval, only 'self' and 'wasm-unsafe-eval' for ORT's WebAssembly. */
export const STRICT_CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"
