// The engine in a real worker: parity with the Python reference, integrity, caching, backends, progress.
import { test, expect, type Page } from '@playwright/test'
import { readFileSync } from 'node:fs'
import { catalog } from './catalog'
import { itemText } from '../src/ranking/text'

type Fixture = typeof full
const full = JSON.parse(readFileSync('e2e/fixtures/parity.json', 'utf8'))
// SwiftShader's WebGPU is slow (software): it checks a slice of the fixture; WASM checks all of it.
const slices = { wasm: full, webgpu: { ...full, items: full.items.slice(0, 12), histories: full.histories.slice(0, 1) } }
const MODEL = '/models/inpage-sci-v1/'

async function open(page: Page) {
  await page.goto('/engine.html')
  await page.waitForFunction(() => (window as unknown as { ready: boolean }).ready)
}

function cos(a: number[], b: number[]) {
  let d = 0, na = 0, nb = 0
  a.forEach((x, i) => { d += x * b[i]!; na += x * x; nb += b[i]! ** 2 })
  return d / Math.sqrt(na * nb)
}

const TYPE_NAMES = Object.fromEntries(Object.entries(full.eventTypes ?? { purchase: 0, add_to_cart: 1, click: 2, view: 3 }).map(([k, v]) => [v, k]))
const byAsin = new Map(catalog().map((it) => [it.id, it]))

/** Runs the fixture through the worker and returns the engine's vectors and personal scores. */
async function runFixture(page: Page, backend: 'wasm' | 'webgpu', fixture: Fixture) {
  // History and candidate items come from the shared catalog, with their public fields only.
  const snapshot = (id: string) => {
    const it = byAsin.get(id)!
    return { title: it.title, brand: it.brand, category: it.category }
  }
  const histories = fixture.histories.map((h: { ids: string[]; types: number[]; candidates: string[] }) => ({
    texts: h.ids.map((id) => itemText(snapshot(id))),
    ids: h.ids,
    types: h.types,
    events: h.ids.map((id, j) => ({ type: TYPE_NAMES[h.types[j]!], itemId: id, item: snapshot(id), ts: 1_700_000_000_000 + j })),
    candidates: h.candidates.map((id) => ({ id, ...snapshot(id) })),
  }))
  return page.evaluate(async ({ fixture, histories, backend }) => {
    const w = window as unknown as { startEngine: (c: object) => Promise<{ backend: string }>; engine: any }
    const info = await w.startEngine({ backend })
    const e = w.engine
    const ids = await Promise.all(fixture.items.map((it: { text: string }) => e.tokenize(it.text)))
    const vecs: Float32Array[] = await e.encode(fixture.items.map((it: { text: string }) => it.text))
    const inputs = []
    for (const h of histories) {
      const tv: Float32Array[] = await e.encode(h.texts)
      const hv = []
      for (let j = 0; j < tv.length; j++) hv.push(await e.itemVector(tv[j], h.ids[j]))
      inputs.push({ vecs: hv, types: h.types })
    }
    const users: Float32Array[] = await e.userVectors(inputs)
    const scores = []
    for (const h of histories) {
      const out = await e.rerank({ events: h.events, purchased: [], candidates: h.candidates, options: { personalWeight: 1 } })
      const personal = new Map(out.items.map((i: { id: string; personal: number }) => [i.id, i.personal]))
      scores.push(h.candidates.map((c: { id: string }) => personal.get(c.id)))
    }
    return { info, ids, vecs: vecs.map((v) => Array.from(v)), users: users.map((u) => Array.from(u)), scores }
  }, { fixture, histories, backend })
}

test('the fixture texts follow the item-text rule of the contract', () => {
  for (const it of full.items) expect(itemText({ title: it.title, brand: it.brand, category: it.categories })).toBe(it.text)
})

for (const backend of ['wasm', 'webgpu'] as const) {
  test(`parity with the Python reference on ${backend}`, async ({ page, browserName }) => {
    // Known defect (2026-12-02): with Debian's Chromium 156 on this machine, the WebGPU run on SwiftShader never
    // finishes within 180 s, for the code before this session (a54e9d5) as for today's; the WASM run and the other
    // WebGPU tests pass. Marked fixme until it is isolated (closing note of session 6), not silently dropped.
    test.fixme(backend === 'webgpu' && browserName === 'chromium' && Number(/Chrome\/(\d+)/.exec(await page.evaluate(() => navigator.userAgent))?.[1]) >= 156, 'WebGPU on SwiftShader hangs in Chromium 156 here')
    test.setTimeout(180_000)
    const fixture = slices[backend]
    await open(page)
    const out = await runFixture(page, backend, fixture)
    expect(out.info.backend).toBe(backend)
    fixture.items.forEach((it: { input_ids: number[] }, i: number) => expect(out.ids[i]).toEqual(it.input_ids))
    const itemCos = fixture.items.map((it: { text_vec_int8: number[] }, i: number) => cos(out.vecs[i]!, it.text_vec_int8))
    const userCos = fixture.histories.map((h: { user_vec_int8: number[] }, i: number) => cos(out.users[i]!, h.user_vec_int8))
    console.log(`${backend}: min item cosine ${Math.min(...itemCos).toFixed(5)}, min user cosine ${Math.min(...userCos).toFixed(5)}`)
    for (const c of [...itemCos, ...userCos]) expect(c).toBeGreaterThanOrEqual(0.99)
    // The whole personal score (dense + co-occurrence term), as Python computes it.
    fixture.histories.forEach((h: { scores_int8: number[] }, i: number) => {
      const got = out.scores[i] as number[]
      expect(cos(got, h.scores_int8)).toBeGreaterThanOrEqual(0.99)
      got.forEach((g, j) => expect(Math.abs(g - h.scores_int8[j]!)).toBeLessThan(0.05))
    })
  })
}

test('auto drops the fallback WebGPU adapter and says why', async ({ page }) => {
  await open(page)
  const info = await page.evaluate(() => (window as unknown as { startEngine: (c: object) => Promise<any> }).startEngine({ backend: 'auto' }))
  expect(info.backend).toBe('wasm')
  expect(info.dropped[0].backend).toBe('webgpu')
  expect(info.dropped[0].reason).toMatch(/fallback adapter/)
  expect(info.threads).toBeGreaterThanOrEqual(1)
  expect(info.threadsReason).toMatch(/cross-origin isolated/)
})

test('without cross-origin isolation WASM runs on one thread and says why', async ({ page }) => {
  await page.goto('/plain/engine.html')
  await page.waitForFunction(() => (window as unknown as { ready: boolean }).ready)
  const info = await page.evaluate(async () => {
    const w = window as unknown as { startEngine: (c: object) => Promise<any> }
    return { isolated: crossOriginIsolated, ...(await w.startEngine({ backend: 'wasm' })) }
  })
  expect(info.isolated).toBe(false)
  expect(info.threads).toBe(1)
  expect(info.threadsReason).toMatch(/not cross-origin isolated/)
})

test('progress: loaded never decreases and the last event says 100 %', async ({ page }) => {
  await open(page)
  const progress = await page.evaluate(async () => {
    const w = window as unknown as { startEngine: (c: object) => Promise<unknown>; progress: { loaded: number; total: number; percent: number }[] }
    await w.startEngine({})
    return w.progress
  })
  expect(progress.length).toBeGreaterThan(2)
  for (let i = 1; i < progress.length; i++) expect(progress[i]!.loaded).toBeGreaterThanOrEqual(progress[i - 1]!.loaded)
  expect(progress.at(-1)!.percent).toBe(100)
  expect(progress.at(-1)!.loaded).toBe(progress.at(-1)!.total)
  expect(progress.slice(0, -1).every((p) => p.percent < 100)).toBe(true)
})

test('the second page load fetches no model bytes', async ({ page }) => {
  await open(page)
  await page.evaluate(() => (window as unknown as { startEngine: (c: object) => Promise<unknown> }).startEngine({}))
  const requests: string[] = []
  page.context().on('request', (r) => requests.push(new URL(r.url()).pathname))
  await page.reload()
  await page.waitForFunction(() => (window as unknown as { ready: boolean }).ready)
  const info = await page.evaluate(() => (window as unknown as { startEngine: (c: object) => Promise<{ fromCache: boolean }> }).startEngine({}))
  expect(info.fromCache).toBe(true)
  const modelBytes = requests.filter((p) => p.startsWith(MODEL) && !p.endsWith('/manifest.json'))
  expect(modelBytes).toEqual([])
})

for (const [what, file, status, errorName] of [
  ['a tampered model file', 'user.int8.onnx', 200, 'ModelIntegrityError'],
  ['a missing model file', 'encoder.int8.onnx', 404, 'ModelLoadError'],
] as const) {
  test(`${what} is refused with ${errorName}, and the page keeps working`, async ({ page }) => {
    await page.route(`**${MODEL}${file}`, async (route) => {
      if (status === 404) return route.fulfill({ status: 404, body: 'not found' })
      const res = await route.fetch()
      const body = Buffer.from(await res.body())
      const mid = body.length >> 1
      body[mid] = body[mid]! ^ 0xff // one flipped byte
      return route.fulfill({ response: res, body })
    })
    const pageErrors: string[] = []
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto('/')
    await page.waitForFunction(() => Boolean(window.inpage))
    const r = await page.evaluate(async (model) => {
      const rec = window.inpage.createRecommender({ model, consent: 'granted', backend: 'wasm' })
      const item = { title: 'Digital caliper', category: ['Industrial & Scientific', 'Measuring'] }
      await rec.track({ type: 'view', itemId: 'h1', item })
      let loadError = ''
      await rec.warmUp().catch((e: Error) => (loadError = e.name))
      const cands = [{ id: 'a', title: 'Gloves' }, { id: 'b', title: 'Micrometer', category: ['Industrial & Scientific', 'Measuring'] }]
      const out = await rec.rerank(cands)
      return { loadError, why: out.why, error: out.error?.name, ids: out.items.map((i) => i.id), engine: rec.status().engine.state, still: document.body.innerText.length > 0 }
    }, MODEL)
    expect(r).toEqual({ loadError: errorName, why: 'model-error', error: errorName, ids: ['a', 'b'], engine: 'error', still: true })
    expect(pageErrors).toEqual([])
  })
}
