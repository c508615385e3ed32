// Serves the built library, the shipped model and the e2e pages with the headers ORT's threads
// need (cross-origin isolation). Vitest reads its unit-test settings from here too.
import { defineConfig } from 'vitest/config'

export const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
}

export default defineConfig({
  publicDir: 'public',
  server: { headers: isolationHeaders, port: 4173, strictPort: true },
  preview: { headers: isolationHeaders, port: 4173, strictPort: true },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  worker: { format: 'es' },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    setupFiles: ['test/setup.ts'],
  },
})
