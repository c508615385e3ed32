// Real Chromium (Debian's), against the built library served as a store would serve it.
import { defineConfig } from '@playwright/test'
import { DEMO_ORIGIN, DEMO_PORT, E2E_ORIGIN, E2E_PORT } from './e2e/ports'

export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  timeout: 60_000,
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: 'test-results',
  globalSetup: './e2e/global-setup.ts',
  use: {
    baseURL: E2E_ORIGIN,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--enable-unsafe-webgpu'],
    },
  },
  webServer: [
    {
      command: 'node scripts/serve.mjs',
      env: { PORT: String(E2E_PORT) },
      url: `${E2E_ORIGIN}/dist/inpage.js`,
      reuseExistingServer: !process.env.CI,
      timeout: 30_000,
    },
    // The demo storefront (e2e/demo.spec.ts), built as it would be deployed and served by `vite
    // preview` with the store API, on its own port (5173 stays free for `npm run demo`).
    {
      command:
        'node node_modules/vite/bin/vite.js build --config demo/vite.config.ts --logLevel warn && ' +
        `node node_modules/vite/bin/vite.js preview --config demo/vite.config.ts --port ${DEMO_PORT} --strictPort --host 127.0.0.1`,
      url: `${DEMO_ORIGIN}/api/store`,
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
    },
  ],
})
