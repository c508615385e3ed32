// A tiny storefront app that consumes inpage as an npm dependency would be consumed (via the
// package's exports map), built by its own Vite. Proves the worker file travels with the library.
import { defineConfig } from 'vite'
import { fileURLToPath } from 'node:url'

const repo = fileURLToPath(new URL('../..', import.meta.url))

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/consumer/',
  logLevel: 'warn',
  resolve: { alias: { inpage: repo } },
  build: { outDir: 'dist', emptyOutDir: true },
})
