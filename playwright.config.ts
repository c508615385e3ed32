// Real Chromium (Debian's), against the built library served as a store would serve it.
import { defineConfig } from '@playwright/test'

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
    baseURL: 'http://127.0.0.1:4173',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--enable-unsafe-webgpu'],
    },
  },
  webServer: [
    {
      command: 'node scripts/serve.mjs',
      url: 'http://127.0.0.1:4173/dist/inpage.js',
      reuseExistingServer: !process.env.CI,
      timeout: 30_000,
    },
    // The demo storefront (e2e/demo.spec.ts), built as it would be deployed and served by `vite
    // preview` with the store API, on its own port (5173 stays free for `npm run demo`).
    {
      command:
        'node node_modules/vite/bin/vite.js build --config demo/vite.config.ts --logLevel warn && ' +
        'node node_modules/vite/bin/vite.js preview --config demo/vite.config.ts --port 5174 --strictPort --host 127.0.0.1',
      url: 'http://127.0.0.1:5174/api/store',
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
    },
  ],
})
