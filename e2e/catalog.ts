// Real catalog items for e2e, read from the shared dataset (never copied into the repository) by
// eval/data.ts, the one reader of the dataset.
import { catalogItem, categoryKey, datasetDir, readItemsFile, type CatalogItem } from '../eval/data'

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
