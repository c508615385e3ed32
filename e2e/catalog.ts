// Real catalog items for e2e, read from the shared dataset (never copied into the repository) by
// node/data.ts, the one reader of the dataset.
import { catalogItem, categoryKey, datasetDir, readItemsFile, type CatalogItem } from '../node/data'

export type { CatalogItem }

let cache: CatalogItem[] | undefined
/** The whole catalog as candidates (no descriptions). */
export function catalog(): CatalogItem[] {
  cache ??= readItemsFile(datasetDir()).map((r) => catalogItem(r, 0))
  return cache
}

/** Items whose category page (categories[2], or the last entry of a shorter path) is `name`. */
export function inCategory(name: string): CatalogItem[] {
  return catalog().filter((it) => categoryKey(it.category) === name)
}

/**
 * The category page the catalog-pack specs rerank (both categories are in e2e/packs.ts's packs): `size` / 2
 * adhesives and as many glassware items as candidates (20 by default; a store's page is 100), and a shopper who
 * viewed four other glassware items.
 */
export function packPage(size = 20) {
  const glass = inCategory('Glassware & Labware')
  const glue = inCategory('Adhesives & Sealants')
  const snap = (g: CatalogItem) => ({ title: g.title, brand: g.brand, category: g.category })
  const half = size / 2
  return {
    seen: glass.slice(0, 4).map((g) => ({ id: g.id, item: snap(g) })),
    cands: [...glue.slice(0, half), ...glass.slice(6, 6 + half)].map((g) => ({ id: g.id, ...snap(g) })),
  }
}
