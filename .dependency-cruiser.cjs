// The import direction (README, "Layout"): every arrow below is forbidden, so imports run one way:
//   shared: src/core  <-  src/pack  <-  src/model  <-  src/ranking  <-  src/protocol
//   shared  <-  browser storage (src/storage)
//   <-  page (src/*.ts, src/history, src/consent, src/embed)  |  worker (workers/)
//   shared  <-  Node toolkit (node/)  <-  catalog/  <-  eval/  <-  demo/, bench/   (scripts/ <- bin/ <- tools/)
// and no cycle between two files or two folders. `npm run lint:imports`; part of `npm test`.
const SHARED = '^src/(core|pack|model|ranking|protocol)/'
const TOOLS = '^(node|catalog|eval|demo|bench|bin|tools|scripts)/'
const TESTS = '^(test|e2e)/'
const rule = (name, comment, from, to) => ({ name, comment, severity: 'error', from, to })

module.exports = {
  forbidden: [
    rule('no-file-cycles', 'two files that import each other, however far round', {}, { circular: true }),
    { ...rule('no-folder-cycles', 'two folders that import each other', {}, { circular: true }), scope: 'folder' },
    rule('shared-is-pure', 'shared code runs in the page, the worker and Node: it imports only shared code',
      { path: SHARED }, { path: ['^src/', '^workers/', TOOLS, TESTS], pathNot: SHARED }),
    rule('shared-in-order', 'inside shared code: core <- pack <- model <- ranking <- protocol',
      { path: '^src/(core|pack|model|ranking)/' }, { path: '^src/protocol/' }),
    rule('ranking-above-model', 'the model knows nothing of how its scores are ranked',
      { path: '^src/(core|pack|model)/' }, { path: '^src/ranking/' }),
    rule('pack-above-core', 'the pack format knows nothing of models; core knows nothing at all',
      { path: '^src/(core|pack)/' }, { path: '^src/model/' }),
    rule('core-at-the-bottom', 'errors, defaults, event types and hashes import nothing of ours',
      { path: '^src/core/' }, { path: '^src/', pathNot: '^src/core/' }),
    rule('storage-on-shared', 'browser storage (IndexedDB, Cache API) serves the page and the worker, and knows neither',
      { path: '^src/storage/' }, { path: ['^src/', '^workers/', TOOLS, TESTS], pathNot: [SHARED, '^src/storage/'] }),
    rule('page-not-worker', 'the page talks to the worker through the protocol (src/protocol/engine.ts), never by import',
      { path: '^src/', pathNot: [SHARED, '^src/storage/'] }, { path: ['^workers/', TOOLS, TESTS] }),
    rule('history-below-page', "the history is the page's storage of events: the page uses it, not the other way",
      { path: '^src/history/' }, { path: ['^src/[^/]+$', '^src/(embed|consent)/'] }),
    rule('consent-alone', 'inpage/consent is its own entry: it reads platforms and needs only shared code',
      { path: '^src/consent/' }, { path: '^src/', pathNot: [SHARED, '^src/consent/'] }),
    rule('embed-on-top', 'the script tag and <inpage-list> are built on the public API, which knows nothing of them',
      { path: '^src/', pathNot: '^src/embed/' }, { path: '^src/embed/' }),
    rule('worker-not-page', 'the worker imports shared code and browser storage only',
      { path: '^workers/' }, { path: ['^src/', TOOLS, TESTS], pathNot: [SHARED, '^src/storage/'] }),
    rule('node-toolkit-below-tools', 'the Node toolkit (data, CSV, convert, model in Node) serves catalog/, eval/, demo/, bench/ and the CLI',
      { path: '^node/' }, { path: ['^src/', '^workers/', TOOLS, TESTS], pathNot: [SHARED, '^node/'] }),
    rule('catalog-below-eval', 'eval reads packs; the pack builder does not evaluate',
      { path: '^catalog/' }, { path: '^(eval|demo|bench)/' }),
    rule('eval-below-demo', 'the demo and the bench use eval, not the other way',
      { path: '^eval/' }, { path: '^(demo|bench)/' }),
    rule('scripts-below-bin', 'build scripts know nothing of the CLI or the Vite plugin built on them',
      { path: '^scripts/' }, { path: '^(bin|tools)/' }),
    rule('no-imports-from-tests', 'tests import the code, never the reverse',
      { pathNot: TESTS }, { path: TESTS }),
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true, // type-only imports count: they are imports a reader follows
    doNotFollow: { path: 'node_modules' },
    // bench/tmp holds the bench's baseline build (ignored by git): not this tree's code.
    exclude: { path: ['^dist/', '^public/', 'node_modules', '^bench/tmp/'] },
  },
}
