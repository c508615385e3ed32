// Catalog packs for e2e, built at setup time into e2e/.packs/ (gitignored) with `catalog/build.ts`, as a
// store would build them, and served at /packs/ by scripts/serve.mjs:
//   small        two amazon-scientific categories (items, their histories), text vectors from the model
//   small-plain  the same without text vectors (the browser encodes)
//   large-plain  the same items plus 60,000 generated ones with their own shoppers (no text vectors):
//                the same page costs the same bytes on both plain packs
//   general      the small pack's items for the catalog-independent model (inpage-general-v1), text vectors
//                from its encoder: a store's first visit (e2e/first-visit.spec.ts)
//   general-dense the same in the dense layout (format 1, `--items-per-shard 16`): the layout before issue 25,
//                which every reader reads (e2e/catalog-pack.spec.ts; a baseline library that reads format 1 only)
// All but general-dense are sparse (format 2, `npm run catalog`'s default).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeHistories } from '../catalog/aggregate'
import { buildPack } from '../catalog/build'
import { datasetDir, readInterFile, readItemsFile } from '../node/data'
import { loadModel } from '../node/model-node'

export const PACKS_DIR = 'e2e/.packs'
export const PACK_CATEGORIES = ['Glassware & Labware', 'Adhesives & Sealants']
const MODEL = 'public/models/inpage-sci-v1'
export const GENERAL_MODEL = 'public/models/inpage-general-v1'
export const LARGE_EXTRA = 60_000

/** A tiny seeded PRNG: the same generated catalog every run. */
function prng(seed: number) {
  let s = seed >>> 0
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32)
}

export async function buildTestPacks() {
  rmSync(PACKS_DIR, { recursive: true, force: true })
  const src = datasetDir('amazon-scientific')
  const all = readItemsFile(src)
  const keep = all.filter((r) => PACK_CATEGORIES.includes(r.categories[2] ?? r.categories.at(-1) ?? ''))
  const index = new Map(keep.map((r, i) => [r.item, i]))
  const histories = readInterFile(src, 'valid')
    .map((row) => row.hist.filter((i) => index.has(i)).map((i) => index.get(i)!))
    .filter((h) => h.length > 0)
  const rows = keep.map((r, i) => ({ ...r, item: i }))

  const small = join(PACKS_DIR, 'data-small')
  mkdirSync(small, { recursive: true })
  writeFileSync(join(small, 'items.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n')
  writeHistories(join(small, 'valid.inter'), histories)

  const large = join(PACKS_DIR, 'data-large')
  mkdirSync(large, { recursive: true })
  const rand = prng(20261130)
  const extra = Array.from({ length: LARGE_EXTRA }, (_, k) => ({
    item: rows.length + k,
    asin: `GEN${String(k).padStart(7, '0')}`,
    title: `Generated lab item ${k}`,
    brand: null,
    categories: ['Industrial & Scientific', 'Generated', `Aisle ${k % 97}`],
    description: null,
  }))
  writeFileSync(join(large, 'items.jsonl'), [...rows, ...extra].map((r) => JSON.stringify(r)).join('\n') + '\n')
  const generated = Array.from({ length: 30_000 }, () => Array.from({ length: 5 }, () => rows.length + Math.floor(rand() * LARGE_EXTRA)))
  writeHistories(join(large, 'valid.inter'), [...histories, ...generated])

  const loaded = await loadModel(MODEL, { threads: 2 })
  try {
    await buildPack({ data: small, model: MODEL, out: join(PACKS_DIR, 'small'), name: 'small', encode: (t) => loaded.model.encode(t) })
  } finally {
    await loaded.model.release()
  }
  const general = await loadModel(GENERAL_MODEL, { threads: 2 })
  try {
    await buildPack({ data: small, model: GENERAL_MODEL, out: join(PACKS_DIR, 'general'), name: 'general', encode: (t) => general.model.encode(t) })
    await buildPack({ data: small, model: GENERAL_MODEL, out: join(PACKS_DIR, 'general-dense'), name: 'general-dense', itemsPerShard: 16, encode: (t) => general.model.encode(t) })
  } finally {
    await general.model.release()
  }
  await buildPack({ data: small, model: MODEL, out: join(PACKS_DIR, 'small-plain'), name: 'small-plain', textVectors: 'none' })
  await buildPack({ data: large, model: MODEL, out: join(PACKS_DIR, 'large-plain'), name: 'large-plain', textVectors: 'none' })
  return { items: rows.length }
}
