// Types of scripts/headers.mjs for the TypeScript that imports it (Vite configs, e2e specs).
export declare const ISOLATION_HEADERS: Readonly<{
  'Cross-Origin-Opener-Policy': 'same-origin'
  'Cross-Origin-Embedder-Policy': 'require-corp'
}>
export declare const STRICT_CSP: string
