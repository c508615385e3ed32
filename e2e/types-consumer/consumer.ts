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
