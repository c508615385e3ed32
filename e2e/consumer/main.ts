import { createRecommender } from 'inpage'

// The store self-hosts the model and ORT's wasm files; the worker file comes through the bundler.
const rec = createRecommender({ model: '/models/inpage-sci-v1/', wasmPaths: '/dist/ort/', consent: 'granted', backend: 'wasm', name: 'consumer' })
;(window as unknown as { consumerRec: typeof rec }).consumerRec = rec
document.body.dataset.ready = 'true'
