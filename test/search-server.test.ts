// A search before the encoder is loaded (issue 25): score() without the query vector, ranked on the server's
// relevance and the history (rankCandidates' 'server' path). Real shipped model through onnxruntime-node; item text
// vectors come from a pack-like lookup made with its encoder, and the model used for scoring cannot encode at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadModel, type LoadedModel } from '../node/model-node'
import { modelReads, NO_HISTORY, score, type CatalogLookup, type TextVectorSource } from '../src/ranking/personalize'
import { DEFAULTS, rankCandidates, type Scores } from '../src/ranking/rerank'
import { selectModelEvents } from '../src/ranking/events'
import { itemText } from '../src/ranking/text'
import { defaults } from '../src/core/defaults'
import type { InpageModel } from '../src/model/model'
import type { PackItem } from '../src/pack/format'
import type { Candidate } from '../src/ranking/types'
import type { StoredEvent } from '../src/core/types'

let loaded: LoadedModel
/** The model with an encoder that throws: a search scored with it never encoded its query. */
let noEncoder: InpageModel
/** Text vectors of every item here, as a catalog pack carries them (made with the model's own encoder). */
let pack: CatalogLookup

const history: StoredEvent[] = [
  { type: 'view', itemId: 'h1', item: { title: 'Borosilicate glass beaker, 250 ml' }, ts: 1 },
  { type: 'click', itemId: 'h2', item: { title: 'Erlenmeyer flask, 500 ml, borosilicate glass' }, ts: 2 },
]
// The server's results for a query, in its order (no scores: its position is its relevance).
const results: Candidate[] = [
  { id: 'c0', title: 'Nitrile gloves, size M' },
  { id: 'c1', title: 'Two-part epoxy adhesive' },
  { id: 'c2', title: 'Safety goggles, anti-fog' },
  { id: 'c3', title: 'Digital caliper, 150 mm' },
  { id: 'c4', title: 'Cordless drill driver' },
  { id: 'c5', title: 'Glass beaker set, borosilicate, 50 to 1000 ml' },
]
const QUERY = 'lab supplies'

/** A source that refuses: every text vector must come from the pack. */
const refusing: TextVectorSource = {
  textVectors: async () => {
    throw new Error('asked the encoder for a text vector')
  },
}

beforeAll(async () => {
  loaded = await loadModel('public/models/inpage-sci-v1', { threads: 1 })
  const m = loaded.model
  noEncoder = Object.create(m) as InpageModel
  noEncoder.encode = async () => {
    throw new Error('asked the encoder for the query vector')
  }
  const items = [...history.map((e) => ({ id: e.itemId!, text: itemText(e.item!) })), ...results.map((c) => ({ id: c.id, text: itemText(c) }))]
  const vecs = await m.encode(items.map((it) => it.text))
  const records = new Map(items.map((it, i) => [it.id, { text: vecs[i]! } as PackItem]))
  pack = { get: (id) => records.get(id) }
}, 60_000)
afterAll(async () => loaded?.model.release())

const events = (h: readonly StoredEvent[]) => selectModelEvents(h, modelReads(loaded.model))
const ids = (r: { items: { id: string }[] }) => r.items.map((i) => i.id)
const serverIds = results.map((c) => c.id)

describe('search without the query vector', () => {
  it('never encodes the query (score() with queryVector: false), and the default path does', async () => {
    const s = await score(noEncoder, events(history), results, { source: refusing, catalog: pack, query: QUERY, queryVector: false })
    expect(s).not.toBe(NO_HISTORY)
    expect((s as Scores).queryRelevance).toBeUndefined()
    // The same call with the query vector asks the encoder: the refusing model is what the line above got past.
    await expect(score(noEncoder, events(history), results, { source: refusing, catalog: pack, query: QUERY })).rejects.toThrow('the query vector')
  })

  it('moves results by the history, and says the server path ran', async () => {
    const s = (await score(noEncoder, events(history), results, { source: refusing, catalog: pack, query: QUERY, queryVector: false })) as Scores
    const r = rankCandidates(s, { query: QUERY })
    expect(r.query).toBe('server')
    expect(ids(r)).not.toEqual(serverIds)
    // The result closest to the history (the beaker set, last on the server's page) is placed above its server rank.
    const top = r.items.reduce((a, b) => (b.personal > a.personal ? b : a))
    expect(top.id).toBe('c5')
    expect(r.items.findIndex((i) => i.id === 'c5')).toBeLessThan(top.serverRank)
    // Ranked with the server-path weight, not the category page's or the on-device search's.
    expect(ids(r)).toEqual(ids(rankCandidates(s, { query: QUERY, personalWeight: DEFAULTS.searchServerPersonalWeight })))
  })

  it('keeps the server order with no history, or with one that favours no result', async () => {
    expect(await score(noEncoder, events([]), results, { source: refusing, catalog: pack, query: QUERY, queryVector: false })).toBe(NO_HISTORY)
    // A history whose items have no text vector here (encoder not loaded) is left out: nothing to score from.
    const unavailable = new Set(history.map((e) => e.itemId!))
    expect(await score(noEncoder, events(history), results, { source: refusing, catalog: pack, query: QUERY, queryVector: false, unavailable })).toBe(NO_HISTORY)
    const neutral = rankCandidates({ candidates: results, personal: results.map(() => 0.4) }, { query: QUERY })
    expect(neutral.query).toBe('server')
    expect(ids(neutral)).toEqual(serverIds)
    // With server scores, their order (not the list's) is the server's relevance.
    const scored = results.map((c, i) => ({ ...c, score: [1, 6, 2, 5, 3, 4][i] }))
    expect(ids(rankCandidates({ candidates: scored, personal: results.map(() => 0) }, { query: QUERY }))).toEqual(['c1', 'c3', 'c5', 'c4', 'c2', 'c0'])
  })

  it('the on-device path reports itself; a call without a query reports no path', async () => {
    const s = (await score(loaded.model, events(history), results, { source: refusing, catalog: pack, query: QUERY })) as Scores
    expect(s.queryRelevance).toHaveLength(results.length)
    expect(rankCandidates(s, { query: QUERY }).query).toBe('device')
    expect(rankCandidates({ ...s, queryRelevance: undefined }).query).toBeUndefined()
  })
})

describe('the search weights', () => {
  const personal = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] // the reverse of the server's order
  const cands = personal.map((_, i) => ({ id: `c${i}`, title: `Item ${i}` }))
  const order = (o: Parameters<typeof rankCandidates>[1], queryRelevance?: number[]) => ids(rankCandidates({ candidates: cands, personal, queryRelevance }, o))
  const at = (personalWeight: number) => order({ personalWeight })

  it('a query without on-device relevance weighs the history by searchServerPersonalWeight, lower than a category page', () => {
    const d = defaults.rerank
    expect(Object.isFrozen(d)).toBe(true)
    expect(d.searchServerPersonalWeight).toBeGreaterThanOrEqual(0)
    expect(d.searchServerPersonalWeight).toBeLessThan(d.personalWeight)
    expect(d.searchServerPersonalWeight).toBeLessThanOrEqual(d.searchPersonalWeight)
    expect(order({ query: 'q' })).toEqual(at(d.searchServerPersonalWeight))
    expect(order({ query: 'q' })).not.toEqual(at(d.personalWeight))
    expect(order({})).toEqual(at(d.personalWeight))
    // An explicit personalWeight still wins on either path.
    expect(order({ query: 'q', personalWeight: 1 })).toEqual(at(1))
  })

  it('with on-device relevance the search weights stay as they were (searchPersonalWeight, queryWeight)', () => {
    const rel = personal.map((p) => (p * 7) % 10)
    expect(order({ query: 'q' }, rel)).toEqual(order({ query: 'q', personalWeight: defaults.rerank.searchPersonalWeight, queryWeight: defaults.rerank.queryWeight }, rel))
  })
})
