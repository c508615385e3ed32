// The library consumed by another Vite app: its bundler emits the worker file, and it runs.
import { test, expect } from '@playwright/test'
import { inCategory } from './catalog'

test('a Vite app that depends on inpage gets a working worker', async ({ page }) => {
  test.setTimeout(120_000)
  const workerRequests: string[] = []
  page.on('request', (r) => {
    if (r.url().includes('inpage.worker')) workerRequests.push(new URL(r.url()).pathname)
  })
  await page.goto('/consumer/')
  await page.waitForFunction(() => document.body.dataset.ready === 'true')
  const glass = inCategory('Glassware & Labware')
  const glue = inCategory('Adhesives & Sealants')
  const out = await page.evaluate(
    async ({ seen, cands }) => {
      const rec = (window as unknown as { consumerRec: import('../src/index').Recommender }).consumerRec
      for (const it of seen) await rec.track({ type: 'purchase', itemId: it.id, item: { title: it.title, category: it.category } })
      await rec.warmUp()
      return rec.rerank(cands as never, { budgetMs: 30_000 })
    },
    { seen: glass.slice(0, 2), cands: [...glue.slice(0, 5), ...glass.slice(2, 7)] },
  )
  expect(out.personalized).toBe(true)
  expect(workerRequests.length).toBeGreaterThan(0)
  expect(workerRequests.every((p) => p.startsWith('/consumer/assets/inpage.worker-'))).toBe(true)
})
