import { describe, expect, it } from 'vitest'
import { blend, byScore, coverage, diversify, placeInSlots, serverSignal } from '../src/ranking/order'
import { explain, leaveOneOutRows, reasonText } from '../src/ranking/reasons'
import { rankCandidates, serverOrder } from '../src/ranking/rerank'
import { knnScores, logsScores, personalScores, recentUnique } from '../src/ranking/score'
import { itemText } from '../src/ranking/text'
import { zscore } from '../src/ranking/vectors'
import { validateRerankOptions } from '../src/options'
import type { Candidate } from '../src/ranking/types'
import type { StoredEvent } from '../src/core/types'
import { boughtOnce, purchasedFor } from '../src/ranking/events'

const cands = (n: number, extra: (i: number) => Partial<Candidate> = () => ({})): Candidate[] =>
  Array.from({ length: n }, (_, i) => ({ id: `c${i}`, title: `Item ${i}`, category: ['Root', `cat${i % 3}`], ...extra(i) }))

describe('itemText', () => {
  it('matches the contract: title. categories. brand.', () => {
    expect(itemText({ title: 'Gloves', category: ['Industrial & Scientific', 'Lab'], brand: 'Acme' })).toBe('Gloves. Industrial & Scientific Lab. Acme.')
    expect(itemText({ title: ' Gloves ', category: [], brand: null })).toBe('Gloves.')
  })
})

describe('blend', () => {
  it('weight 0 keeps the server order, weight 1 follows the personal score', () => {
    const c = cands(5)
    const personal = [0, 1, 2, 3, 4]
    expect(byScore(blend(serverSignal(c), personal, 0))).toEqual([0, 1, 2, 3, 4])
    expect(byScore(blend(serverSignal(c), personal, 1))).toEqual([4, 3, 2, 1, 0])
  })
  it('uses server scores when every candidate has one', () => {
    const c = cands(3, (i) => ({ score: [1, 5, 3][i] }))
    expect(byScore(serverSignal(c))).toEqual([1, 2, 0])
  })
  it('zscore maps a constant list to zeros', () => {
    expect(zscore([2, 2, 2])).toEqual([0, 0, 0])
  })
})

describe('guardrails', () => {
  it('pinned and sponsored items keep their slots', () => {
    const c = cands(6, (i) => ({ pinned: i === 0, sponsored: i === 3 }))
    const order = placeInSlots(c, [5, 4, 3, 2, 1, 0])
    expect(order[0]).toBe(0)
    expect(order[3]).toBe(3)
    expect(order).toEqual([0, 5, 4, 3, 2, 1])
  })
  it('maxDisplacement bounds moves both ways', () => {
    const c = cands(8)
    const order = placeInSlots(c, [7, 6, 5, 4, 3, 2, 1, 0], 2)
    order.forEach((i, pos) => expect(Math.abs(i - pos)).toBeLessThanOrEqual(2))
    expect(new Set(order).size).toBe(8)
  })
  it('excludePurchased drops bought items', () => {
    const c = cands(4)
    const out = rankCandidates({ candidates: c, personal: [0, 0, 0, 0] }, { excludePurchased: true }, new Set(['c1']))
    expect(out.items.map((i) => i.id)).toEqual(['c0', 'c2', 'c3'])
    expect(out.items.map((i) => i.serverRank)).toEqual([0, 2, 3])
  })
  it('items bought once go after the rest by default; "keep" ranks them as any other; pinned slots hold', () => {
    const c = cands(4)
    const personal = [0, 3, 2, 1] // the history likes c1 most, and c1 was bought
    const bought = new Set(['c1'])
    expect(rankCandidates({ candidates: c, personal }, { personalWeight: 1 }, bought).items.map((i) => i.id)).toEqual(['c2', 'c3', 'c0', 'c1'])
    expect(rankCandidates({ candidates: c, personal }, { personalWeight: 1, purchased: 'keep' }, bought).items.map((i) => i.id)).toEqual(['c1', 'c2', 'c3', 'c0'])
    const pinned = cands(4, (i) => ({ pinned: i === 1 }))
    expect(rankCandidates({ candidates: pinned, personal }, { personalWeight: 1 }, bought).items.map((i) => i.id)).toEqual(['c2', 'c1', 'c3', 'c0'])
  })
  it('purchasedFor: every bought item to exclude, those bought once to demote (a repeat purchase stays), none to keep', () => {
    const ev = (type: 'purchase' | 'view', itemId: string) => ({ type, itemId, ts: 0, item: { title: itemId } }) as StoredEvent
    const history = [ev('purchase', 'a'), ev('purchase', 'b'), ev('view', 'c'), ev('purchase', 'b')]
    expect(purchasedFor(history, { excludePurchased: true })).toEqual(['a', 'b'])
    expect(purchasedFor(history, {})).toEqual(['a'])
    expect(purchasedFor(history, { purchased: 'demote' })).toEqual(['a'])
    expect(purchasedFor(history, { purchased: 'keep' })).toEqual([])
    expect(boughtOnce(['x', 'y', 'x', 'z'])).toEqual(['y', 'z'])
  })
  it('the purchased option is validated', () => {
    expect(validateRerankOptions({ purchased: 'keep' })).toEqual({ purchased: 'keep' })
    expect(() => validateRerankOptions({ purchased: 'hide' })).toThrow(/purchased/)
  })
})

describe('diversity', () => {
  it('a category cap spreads the top k', () => {
    const c = cands(9, (i) => ({ category: ['Root', i < 6 ? 'same' : `other${i}`] }))
    const scores = [9, 8, 7, 6, 5, 4, 3, 2, 1]
    const order = diversify(byScore(scores), scores, { k: 4, lambda: 1, maxPerCategory: 2, categories: c.map((x) => x.category!.at(-1)!) })
    expect(order.slice(0, 4)).toEqual([0, 1, 6, 7])
    expect(coverage(c, order, 4).categories).toBe(3)
  })
  it('MMR with lambda < 1 prefers items unlike those picked', () => {
    const vectors = [[1, 0], [0.99, 0.1], [0, 1]]
    const scores = [1, 0.95, 0.9]
    expect(diversify([0, 1, 2], scores, { k: 3, lambda: 0.5, vectors, categories: ['', '', ''] })).toEqual([0, 2, 1])
    expect(diversify([0, 1, 2], scores, { k: 3, lambda: 1, vectors, categories: ['', '', ''] })).toEqual([0, 1, 2])
  })
})

describe('knn term', () => {
  const nb = new Map([
    ['h1', new Map([['c0', 1], ['c1', 0.5]])],
    ['h2', new Map([['c1', 1]])],
  ])
  it('weights the most recent history item most', () => {
    expect(recentUnique(['h1', 'h2', 'h1'])).toEqual(['h1', 'h2'])
    expect(knnScores(['h1', 'h2'], ['c0', 'c1', 'c2'], nb, 0.5)).toEqual([0.5, 1.25, 0])
  })
  it('adds to the dot product with its weight', () => {
    expect(personalScores([1, 0], [[2, 0], [0, 1]], logsScores(['h1'], ['c0', 'c1'], { knn: { settings: { weight: 2, decay: 1 }, neighbors: new Map([['h1', new Map([['c0', 1], ['c1', 1]])]]) } }))).toEqual([4, 2])
  })
  it('the next-item term is the same recency-weighted sum over next-item lists, with its own weight and decay', () => {
    const neighbors = new Map([['h1', new Map([['c0', 1]])]])
    // h2 is the most recent: its list counts fully, h1's at decay 0.5.
    const lists = new Map([['h2', new Map([['c1', 0.5]])], ['h1', new Map([['c1', 0.2], ['c2', 1]])]])
    const knn = { settings: { weight: 2, decay: 1 }, neighbors }
    const next = { settings: { weight: 4, decay: 0.5 }, lists }
    expect(logsScores(['h1', 'h2'], ['c0', 'c1', 'c2'], { knn, next })).toEqual([2, 4 * (0.5 + 0.5 * 0.2), 4 * 0.5])
    expect(logsScores(['h1', 'h2'], ['c0', 'c1', 'c2'], { next })).toEqual([0, 4 * (0.5 + 0.5 * 0.2), 2])
    expect(logsScores(['h1', 'h2'], ['c0', 'c1', 'c2'], {})).toBeUndefined()
  })
})

describe('reasons', () => {
  // A linear stand-in for the model: user = sum of history vectors, so each event's contribution is exact.
  const events = [
    { type: 'view' as const, itemId: 'h0', title: 'Safety goggles', vec: [1, 0, 0] },
    { type: 'purchase' as const, itemId: 'h1', title: 'Nitrile gloves', vec: [0, 1, 0] },
  ]
  const items = [[0, 1, 0], [1, 0, 0], [0, 0, 1]]
  const user = (evs: typeof events) => evs.reduce((u, e) => u.map((x, i) => x + e.vec[i]!), [0, 0, 0])
  const score = (evs: typeof events) => personalScores(user(evs), items)
  const full = score(events)
  const without = events.map((_, e) => score(events.filter((_, j) => j !== e)))

  it('cites the event that raised the item, and removing it lowers the score', () => {
    const r = explain({ full, without: leaveOneOutRows(without), events }, [0, 1, 2])
    expect(r.get(0)!.map((x) => x.itemId)).toEqual(['h1'])
    expect(r.get(1)!.map((x) => x.itemId)).toEqual(['h0'])
    expect(r.get(2)).toEqual([])
    for (const [i, reasons] of r)
      for (const reason of reasons) {
        const e = events.findIndex((x) => x.itemId === reason.itemId)
        expect(score(events.filter((_, j) => j !== e))[i]).toBeLessThan(full[i]!)
        expect(reason.contribution).toBeCloseTo(full[i]! - without[e]![i]!)
      }
  })
  it('never cites the item\'s own event, even when it is the largest drop', () => {
    // Candidate 0 is h1 itself (bought, back on the page): h1 raises it most, h0 a little (a shared dimension).
    const own = [[0.2, 1, 0], [0, 0, 0]] // (a second item the history does not lift: c0 stands above the list's mean)
    const fullOwn = personalScores(user(events), own)
    const withoutOwn = events.map((_, e) => personalScores(user(events.filter((_, j) => j !== e)), own))
    expect(fullOwn[0]! - withoutOwn[1]![0]!).toBeGreaterThan(fullOwn[0]! - withoutOwn[0]![0]!)
    expect(explain({ full: fullOwn, without: leaveOneOutRows(withoutOwn), events }, [0]).get(0)![0]!.itemId).toBe('h1') // without ids: h1 explains itself
    expect(explain({ full: fullOwn, without: leaveOneOutRows(withoutOwn), events, ids: ['h1', 'x'] }, [0]).get(0)!.map((x) => x.itemId)).toEqual(['h0'])
  })
  it('writes a sentence for the shopper', () => {
    expect(reasonText({ type: 'purchase', title: 'Nitrile gloves' })).toBe("Because you bought 'Nitrile gloves'")
    expect(reasonText({ type: 'purchase', title: 'Nitrile gloves' }, 'bought-together', 3)).toBe("Because you bought 'Nitrile gloves': often bought together (3 items like it here)")
  })

  describe('across a list', () => {
    const three = [
      { type: 'purchase' as const, itemId: 'h0', title: 'Beaker', vec: [1, 0, 0] },
      { type: 'purchase' as const, itemId: 'h1', title: 'Flask', vec: [0, 1, 0] },
      { type: 'purchase' as const, itemId: 'h2', title: 'Gloves', vec: [0, 0, 1] },
    ]
    const userOf = (evs: typeof three) => evs.reduce((u, e) => u.map((x, i) => x + e.vec[i]!), [0, 0, 0])
    // c0, c1: h0 explains most, h1 more than half as much; c2: h0 alone (h1's share is under half); c3: lifted by nothing.
    const vecs = [[1, 0.6, 0], [1, 0.7, 0], [1, 0.2, 0], [0, 0, 0]]
    const full3 = personalScores(userOf(three), vecs)
    const without3 = three.map((_, e) => personalScores(userOf(three.filter((_, j) => j !== e)), vecs))

    it('prefers distinct events, each within half of the item\'s largest drop, and groups the rest', () => {
      const old = explain({ full: full3, without: leaveOneOutRows(without3), events: three }, [0, 1, 2, 3], { faithful: 1 })
      expect([0, 1, 2].map((i) => old.get(i)![0]!.itemId)).toEqual(['h0', 'h0', 'h0']) // largest drop only: one event for all
      const r = explain({ full: full3, without: leaveOneOutRows(without3), events: three }, [0, 1, 2, 3])
      expect([0, 1, 2].map((i) => r.get(i)![0]!.itemId)).toEqual(['h1', 'h0', 'h0'])
      expect(r.get(3)).toEqual([])
      for (const i of [0, 1, 2]) {
        const reasons = r.get(i)!
        const largest = Math.max(...without3.map((w) => full3[i]! - w[i]!))
        for (const reason of reasons) {
          const e = three.findIndex((x) => x.itemId === reason.itemId)
          expect(reason.contribution).toBeCloseTo(full3[i]! - without3[e]![i]!, 12)
          expect(reason.contribution).toBeGreaterThanOrEqual(0.5 * largest)
          expect(reason.kind).toBe('similar')
        }
      }
      expect(r.get(0)![0]!.group).toBeUndefined()
      expect(r.get(1)![0]!.group).toBe(2)
      expect(r.get(2)![0]!.text).toBe("Because you bought 'Beaker' (2 items like it here)")
      expect(r.get(0)!.map((x) => x.itemId)).toEqual(['h1', 'h0']) // the largest stays as the second reason
    })
    it('cites as many distinct events as the faithful options allow (a matching, where choosing greedily finds fewer)', () => {
      // Drops: A x 0.6, y 1; B y 1, z 0.6; C y 1, z 0.9. Each item taking the least-cited event in turn gives A y, B z,
      // C y or z (two events); A x, B z, C y cites all three, each within half of the item's largest drop.
      const full = [2, 2, 2, 0]
      const without = [
        [1.4, 2, 2, 0],
        [1, 1, 1, 0],
        [2, 1.4, 1.1, 0],
      ]
      const r = explain({ full, without: leaveOneOutRows(without), events: three }, [0, 1, 2])
      expect([0, 1, 2].map((i) => r.get(i)![0]!.itemId)).toEqual(['h0', 'h2', 'h1'])
      for (const i of [0, 1, 2]) {
        const lead = r.get(i)![0]!
        const e = three.findIndex((x) => x.itemId === lead.itemId)
        expect(lead.contribution).toBe(full[i]! - without[e]![i]!) // still the exact leave-one-out drop
        expect(lead.group).toBeUndefined()
      }
    })
    it('shows no reason where the history did not lift the item above the list, or the event is a small part of its lift', () => {
      // c1 sits below the list's mean personal score: nothing in the history lifted it.
      const full = [3, 0.5, 1]
      const without = [[2, 0, 1], [1, 0.5, 1]]
      const r = explain({ full, without: leaveOneOutRows(without), events: three.slice(0, 2) }, [0, 1, 2])
      expect(r.get(1)).toEqual([])
      expect(r.get(0)!.map((x) => x.itemId)).toEqual(['h1', 'h0'])
      // minShare: an event under 5 % of the item's lift over the mean is no reason.
      const tiny = explain({ full: [10, 0, 0], without: leaveOneOutRows([[9.9, 0, 0]]), events: three.slice(0, 1) }, [0])
      expect(tiny.get(0)).toEqual([])
    })
    it('names the kind: bought together when most of the drop is the neighbour (kNN) part', () => {
      const full = [2, 0]
      const without = [[1, 0], [1.5, 0]]
      const knn = [1, 0]
      const knnWithout = [[0.1, 0], [1, 0]] // h0's drop: 0.9 of its 1 from the neighbour lists; h1's: none
      const r = explain({ full, without: leaveOneOutRows(without), knn, knnWithout, events: three.slice(0, 2) }, [0])
      expect(r.get(0)!.map((x) => [x.itemId, x.kind])).toEqual([['h0', 'bought-together'], ['h1', 'similar']])
      expect(r.get(0)![0]!.text).toBe("Because you bought 'Beaker': often bought together")
    })
  })
  it('rankCandidates attaches reasons only to items that moved up', () => {
    const c = cands(3)
    // Reverse the list so the server's last items are the ones the history favours.
    const rev = <T,>(xs: readonly T[]) => xs.slice().reverse()
    const out = rankCandidates({ candidates: c, personal: rev(full), without: leaveOneOutRows(without.map(rev)), events }, { personalWeight: 1 })
    for (const it of out.items) {
      const pos = out.items.indexOf(it)
      if (pos >= it.serverRank) expect(it.reasons).toEqual([])
    }
    expect(out.items.some((i) => i.reasons.length > 0)).toBe(true)
  })
})

describe('determinism and server order', () => {
  it('the same input gives the same order', () => {
    const c = cands(50)
    const personal = c.map((_, i) => Math.sin(i))
    const a = rankCandidates({ candidates: c, personal }, { diversity: { lambda: 0.7 } })
    const b = rankCandidates({ candidates: c, personal }, { diversity: { lambda: 0.7 } })
    expect(a).toEqual(b)
  })
  it('coverage counts no brand for items without one (a catalog without brands spans 0 brands)', () => {
    const c: Candidate[] = [{ id: 'a', title: 'a', category: ['X'] }, { id: 'b', title: 'b', category: ['Y'] }, { id: 'c', title: 'c', brand: 'Acme', category: ['Y'] }]
    expect(coverage(c.slice(0, 2), [0, 1], 10)).toEqual({ k: 10, categories: 2, brands: 0 })
    expect(coverage(c, [0, 1, 2], 10).brands).toBe(1)
  })
  it('serverOrder keeps the list as sent', () => {
    expect(serverOrder(cands(3)).items.map((i) => i.id)).toEqual(['c0', 'c1', 'c2'])
  })
})

describe('numbers (issue 17): overflow-safe standard scores, refused non-finite scores, validated options', () => {
  it('zscore of finite extremes stays finite and keeps the order', () => {
    const z = zscore([1.7e308, -1.7e308, 0, Number.MAX_VALUE])
    expect(z.every(Number.isFinite)).toBe(true)
    expect(z[3]).toBeGreaterThanOrEqual(z[0]!)
    expect(z[0]).toBeGreaterThan(z[2]!)
    expect(z[2]).toBeGreaterThan(z[1]!)
  })
  it('rankCandidates refuses NaN or infinite personal scores with ModelDataError', () => {
    const candidates = [{ id: 'a', title: 'A' }, { id: 'b', title: 'B' }]
    for (const bad of [NaN, Infinity, -Infinity])
      expect(() => rankCandidates({ candidates, personal: [1, bad] })).toThrow(expect.objectContaining({ name: 'ModelDataError' }))
    expect(rankCandidates({ candidates, personal: [1.7e308, -1.7e308] }).items.map((i) => i.id)).toEqual(['a', 'b'])
  })
  it('validateRerankOptions refuses bad values and unknown keys by name, and copies known keys', () => {
    for (const bad of [{ personalWeight: NaN }, { personalWeight: 1.5 }, { k: 0 }, { k: 1.5 }, { budgetMs: Infinity }, { queryWeight: -1 }, { maxDisplacement: -1 }, { diversity: { lambda: -0.1 } }, { diversity: 3 }, { popularityPrior: 1 }, { query: [] }, 'x'])
      expect(() => validateRerankOptions(bad)).toThrow(expect.objectContaining({ name: 'InvalidOptionsError' }))
    // Unknown keys, hostile ones included, are refused rather than dropped (test/options.test.ts has the rest).
    expect(() => validateRerankOptions(JSON.parse('{"k": 5, "__proto__": {"polluted": 1}, "diversity": {"lambda": 0.5}}'))).toThrow(/unknown option "__proto__"/)
    const clean = validateRerankOptions(JSON.parse('{"k": 5, "diversity": {"lambda": 0.5}}'))
    expect(clean).toEqual({ k: 5, diversity: { lambda: 0.5 } })
  })
})
