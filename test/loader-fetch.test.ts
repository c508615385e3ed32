// fetchOk (workers/loader.ts), the one door of every model, wasm and pack request: a network failure is asked once
// more; an HTTP answer, a timeout or a second failure is a named error at once.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { fetchOk } from '../workers/loader'

const URL_ = 'https://shop.example/models/m/encoder.int8.onnx'
const ok = () => new Response('bytes', { status: 200 })

function stubFetch(...answers: (() => Response | Promise<Response>)[]) {
  const f = vi.fn(async () => {
    const next = answers.shift()
    if (!next) throw new Error('more requests than the test expected')
    return next()
  })
  vi.stubGlobal('fetch', f)
  return f
}
const dropped = () => {
  throw new TypeError('Load failed')
}

afterEach(() => vi.unstubAllGlobals())

describe('fetchOk', () => {
  it('a dropped connection (TypeError) is asked once more, with the same request', async () => {
    const f = stubFetch(dropped, ok)
    const res = await fetchOk(URL_)
    expect(await res.text()).toBe('bytes')
    expect(f).toHaveBeenCalledTimes(2)
    expect(f.mock.calls[0]).toEqual(f.mock.calls[1])
  })

  it('two network failures: ModelLoadError (or CatalogLoadError) naming the URL, after two requests', async () => {
    const f = stubFetch(dropped, dropped)
    await expect(fetchOk(URL_, 'CatalogLoadError')).rejects.toMatchObject({ name: 'CatalogLoadError', message: expect.stringContaining(URL_) })
    expect(f).toHaveBeenCalledTimes(2)
  })

  it('the offline copy is used only after the second failure', async () => {
    const f = stubFetch(dropped, dropped)
    const res = await fetchOk(URL_, 'ModelLoadError', async () => new Response('cached'))
    expect(await res.text()).toBe('cached')
    expect(f).toHaveBeenCalledTimes(2)
  })

  it('an HTTP error is an answer: not asked again', async () => {
    const f = stubFetch(() => new Response('no', { status: 503 }))
    await expect(fetchOk(URL_)).rejects.toMatchObject({ name: 'ModelLoadError', message: `${URL_}: HTTP 503` })
    expect(f).toHaveBeenCalledTimes(1)
  })

  it('an error that is not a network failure is not asked again', async () => {
    const f = stubFetch(() => {
      throw new RangeError('bad init')
    })
    await expect(fetchOk(URL_)).rejects.toMatchObject({ name: 'ModelLoadError' })
    expect(f).toHaveBeenCalledTimes(1)
  })

  it('a request past its bound is given up, not asked again', async () => {
    vi.useFakeTimers()
    try {
      const f = vi.fn((_: string, init: RequestInit) => new Promise<Response>((_, reject) => init.signal!.addEventListener('abort', () => reject(new TypeError('aborted')))))
      vi.stubGlobal('fetch', f)
      const out = fetchOk(URL_, 'ModelLoadError', undefined, { timeoutMs: 1000 })
      const seen = expect(out).rejects.toMatchObject({ name: 'ModelLoadError', message: `${URL_}: no answer within 1000 ms` })
      await vi.advanceTimersByTimeAsync(1001)
      await seen
      expect(f).toHaveBeenCalledTimes(1)
    } finally {
      vi.useRealTimers()
    }
  })
})
