// rerankFor(): a history the caller supplies, validated like track() events, never read from or written to the
// stored one. The model path itself (same order as rerank() after tracking) is checked in e2e/rerank.spec.ts.
import { describe, expect, it } from 'vitest'
import { createRecommender } from '../src/recommender'
import { validateEvents } from '../src/history/events'

let n = 0
const uniq = () => `rf${Date.now()}-${n++}`
const cands = Array.from({ length: 4 }, (_, i) => ({ id: `c${i}`, title: `Item ${i}` }))
const bought = (id: string, timestamp = 1_000) => ({ type: 'purchase' as const, itemId: id, item: { title: `Item ${id}` }, timestamp })

describe('validateEvents', () => {
  it('returns clean events in the given order, with their timestamps', () => {
    const out = validateEvents([bought('a', 5), { type: 'search', query: 'glue', timestamp: 6 }, bought('b', 7)], 10)
    expect(out.map((e) => [e.type, e.itemId ?? e.query, e.ts])).toEqual([['purchase', 'a', 5], ['search', 'glue', 6], ['purchase', 'b', 7]])
  })

  it('refuses unknown keys by index, with the key it most likely meant', () => {
    expect(() => validateEvents([bought('a'), { ...bought('b'), timeStamp: 3 }], 10)).toThrow(
      expect.objectContaining({ name: 'InvalidEventError', message: expect.stringMatching(/^events\[1\]: unknown key "timeStamp" \(did you mean "timestamp"\?\)/) }),
    )
  })

  it('names the bad event and what was wrong', () => {
    expect(() => validateEvents([bought('a'), { type: 'purchase', item: { title: 'x' } }], 10)).toThrow(
      expect.objectContaining({ name: 'InvalidEventError', message: 'events[1]: a purchase event needs an itemId string' }),
    )
    expect(() => validateEvents([bought('a', -1)], 10)).toThrow(expect.objectContaining({ name: 'InvalidEventError', message: expect.stringMatching(/^events\[0\]: event.timestamp/) }))
    expect(() => validateEvents('a', 10)).toThrow(expect.objectContaining({ name: 'InvalidEventError' }))
    expect(() => validateEvents([bought('a'), bought('b'), bought('c')], 2)).toThrow(expect.objectContaining({ name: 'InvalidEventError', message: expect.stringMatching(/at most 2/) }))
  })
})

describe('rerankFor', () => {
  it('needs a memory recommender: what it derives must not reach the device', async () => {
    const rec = createRecommender({ name: uniq(), consent: 'granted' })
    await expect(rec.rerankFor([bought('a')], cands)).rejects.toMatchObject({ name: 'InvalidOptionsError', message: expect.stringMatching(/storage: 'memory'/) })
    await rec.dispose()
  })

  it('leaves the stored history as it was, for good and bad input alike', async () => {
    const rec = createRecommender({ name: uniq(), consent: 'granted', storage: 'memory' })
    await rec.track(bought('h1', Date.now()))
    const before = await rec.exportData()
    const out = await rec.rerankFor([bought('a'), bought('b')], cands, { k: 2 })
    expect(out.items.map((i) => i.id)).toEqual(['c0', 'c1', 'c2', 'c3'])
    await expect(rec.rerankFor([bought('a'), { ...bought('b'), extra: 1 } as never], cands)).rejects.toMatchObject({ name: 'InvalidEventError' })
    await expect(rec.rerankFor([bought('a')], [{ id: '' }] as never)).rejects.toMatchObject({ name: 'InvalidCandidatesError' })
    await expect(rec.rerankFor([bought('a')], cands, { personalWieght: 1 } as never)).rejects.toMatchObject({ name: 'InvalidOptionsError' })
    expect(rec.status().events).toBe(1)
    const after = await rec.exportData()
    expect(after.events).toEqual(before.events)
    await rec.dispose()
  })

  it('runs under consent denied (it reads nothing stored), where rerank() does not, and emits no impression', async () => {
    const rec = createRecommender({ name: uniq(), consent: 'denied', storage: 'memory' })
    const seen: unknown[] = []
    rec.on('impression', (e) => seen.push(e))
    // No model here: the call gets as far as the engine, which rerank() never reaches under a denial.
    expect((await rec.rerankFor([bought('a')], cands)).why).toBe('no-model')
    expect((await rec.rerank(cands)).why).toBe('consent')
    expect(seen.length).toBe(1) // rerank()'s, not rerankFor()'s
    expect(rec.status().events).toBe(0)
    await rec.dispose()
  })
})
