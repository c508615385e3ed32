import type { Page } from '@playwright/test'
import type * as InPage from '../src/index'

declare global {
  interface Window {
    inpage: typeof InPage
    rec: InPage.Recommender
  }
}

/** Opens the harness page with the built ESM entry loaded as window.inpage. */
export async function openHarness(page: Page, path = '/') {
  await page.goto(path)
  await page.waitForFunction(() => Boolean(window.inpage))
}

/** Names of inpage's IndexedDB databases in this page's origin. */
export function inpageDatabases(page: Page) {
  return page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name).filter((n) => n?.startsWith('inpage')))
}

export const item = (i: number) => ({
  title: `Item ${i}`,
  brand: 'Acme',
  category: ['Industrial & Scientific', 'Lab Supplies'],
  price: 10 + i,
})
