// The stores this demo runs, one store server and one catalog pack each, all with the same general model:
// what a product team needs to see is that nothing in inpage belongs to one catalog.

export interface StoreInfo {
  /** The store's id: its API is /api/<id>/, its pack /packs/<id>/, its shoppers' history `demo-<id>`. */
  id: string
  /** Dataset folder in the shared data (eval's format). */
  dataset: string
  name: string
  tagline: string
  /** Where the catalog comes from (the page's footer). */
  source: string
}

/**
 * The model every store uses, each with only its own pack: the general model, as README recommends for any
 * catalog (inpage-sci-v1's collaborative tables know only Scientific's ids, so it would show Beauty and an
 * upload a weaker product than a store gets).
 */
export const MODEL = 'public/models/inpage-general-v1'
export const MODEL_URL = '/models/inpage-general-v1/'

export const STORES: StoreInfo[] = [
  {
    id: 'amazon-scientific',
    dataset: 'amazon-scientific',
    name: 'Benchmark Supply Co.',
    tagline: 'Industrial & scientific supplies',
    source: 'Amazon Review Data (2018), Industrial & Scientific (Ni, Li, McAuley, EMNLP 2019), research use.',
  },
  {
    id: 'amazon-beauty',
    dataset: 'amazon-beauty',
    name: 'Lumen Beauty',
    tagline: 'Skin, hair, nails and make-up',
    source: 'Amazon Review Data (2014), Beauty (McAuley, Targett, Shi, van den Hengel, SIGIR 2015), research use. Titles only.',
  },
]
