// A TypeScript app that depends on the published types only (dist/types): the public API must type-check
// without the sources, and without any of the worker's private code.
import { createRecommender, defaults, InPageError, type BackendPreference, type EngineInfo, type ExportDocument, type Progress, type RerankResult } from 'inpage'

const backend: BackendPreference = 'wasm'
const rec = createRecommender({ model: '/models/m/', backend, rerankDefaults: { personalWeight: defaults.rerank.personalWeight } })
rec.on('progress', (p: Progress) => p.percent)
export async function use(): Promise<[RerankResult, EngineInfo | undefined, ExportDocument]> {
  await rec.track({ type: 'view', itemId: 'a', item: { title: 'A' } })
  const out = await rec.rerank([{ id: 'a', title: 'A' }], { k: 5 })
  const e = new InPageError('EngineError', 'x')
  return [out, rec.status().engine.info ?? (e.name === 'EngineError' ? undefined : undefined), await rec.exportData()]
}

// Issue 28: the holdout, the analytics events and the consent adapters (their own entry, inpage/consent).
import { linkConsent, type ConsentLink } from 'inpage/consent'
import type { ImpressionEvent, SelectEvent, Variant } from 'inpage'
const tested = createRecommender({ experiment: { name: 'rail-2026', holdout: 0.1 }, analytics: { ga4: true } })
tested.on('impression', (e: ImpressionEvent) => e.items.length)
tested.on('select', (e: SelectEvent) => e.position)
export const arm: Variant | undefined = tested.status().experiment?.variant
export const link: ConsentLink = linkConsent(tested, { platform: 'tcf', notApplicable: 'pending' })
