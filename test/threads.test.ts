// The thread count status() reports is the one ORT runs: isolation alone does not give threads.
import { describe, expect, it } from 'vitest'
import { wasmThreads } from '../workers/backend'

const base = { isolated: true, sharedMemory: true, cores: 4, max: 4 }

describe('wasmThreads', () => {
  it('isolated with SharedArrayBuffer: min(max, cores)', () => {
    expect(wasmThreads(base)).toEqual({ threads: 4, reason: 'cross-origin isolated: 4 threads' })
    expect(wasmThreads({ ...base, cores: 2 }).threads).toBe(2)
    expect(wasmThreads({ ...base, cores: 0 }).threads).toBe(1)
  })
  it('isolated but no SharedArrayBuffer (WebKitGTK): one thread, and says why', () => {
    const t = wasmThreads({ ...base, sharedMemory: false })
    expect(t.threads).toBe(1)
    expect(t.reason).toMatch(/no SharedArrayBuffer/)
    expect(wasmThreads({ ...base, sharedMemory: false, requested: 4 })).toMatchObject({ threads: 1, reason: expect.stringMatching(/numThreads: 4 was requested/) })
  })
  it('not isolated: one thread, even when more were requested', () => {
    expect(wasmThreads({ ...base, isolated: false, sharedMemory: false })).toMatchObject({ threads: 1, reason: expect.stringMatching(/^not cross-origin isolated/) })
    expect(wasmThreads({ ...base, isolated: false, requested: 3 }).threads).toBe(1)
  })
  it('a request is honoured where threads can run', () => {
    expect(wasmThreads({ ...base, requested: 2 })).toEqual({ threads: 2, reason: 'numThreads: 2 was requested' })
  })
})
