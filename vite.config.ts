// Vitest's settings for the unit tests (test/). Nothing else reads this file: the library build
// (scripts/build.mjs) passes `configFile: false`, e2e and bench serve with scripts/serve.mjs, and the
// demo has its own config (demo/vite.config.ts).
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    setupFiles: ['test/setup.ts'],
    // The fuzz suites run thousands of cases (~3 s each alone on 2 cores); a busy CI machine must not
    // turn a slow run into a failure. A test that hangs still fails.
    testTimeout: 30_000,
  },
})
