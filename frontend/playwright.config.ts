import { defineConfig } from '@playwright/test'
import { BROWSER_ARGS, browserPath } from './e2e/browser'

// End-to-end: the real platform (started by e2e/platform.ts) driven through Debian's Chromium.
export default defineConfig({
  testDir: 'e2e',
  testMatch: '*.spec.ts',
  globalSetup: './e2e/platform.ts',
  outputDir: '../test-artifacts/e2e/results',
  timeout: 180_000,
  expect: { timeout: 15_000 },
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: [['list']],
  use: {
    viewport: { width: 1280, height: 800 },
    colorScheme: 'light',
    acceptDownloads: true,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: { executablePath: browserPath() ?? undefined, args: BROWSER_ARGS },
  },
})
