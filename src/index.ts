// inpage: private, in-browser personalization for online stores. The only entry users import.

export { createRecommender } from './recommender'
export type { Recommender, RecommenderOptions, RecommenderStatus, RecommenderEvents } from './recommender'
export type { ExportDocument } from './history/history'
export { DEFAULT_RETENTION } from './history/history'
export { defaults } from './defaults'
export { InPageError } from './errors'
export type { ConsentState, EventType, ItemSnapshot, TrackEvent, StoredEvent, RetentionOptions, StorageKind } from './types'
export type { InPageErrorName } from './errors'
export type { Candidate, RerankOptions, RerankResult, RankedItem, Reason, Why, Coverage, Surface } from './ranking/types'
export type { EngineStatus, EngineState } from './engine-client'
export type { EngineInfo, Progress, BackendPreference, HistoryReads } from './protocol'
export { itemText, parseCategoryPath } from './ranking/text'
