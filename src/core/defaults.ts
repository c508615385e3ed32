// Every default inpage uses, in one place (exported as `defaults`, frozen). Each option that has one
// says so in its JSDoc; this is where the number lives.
//
// Ranking defaults were CHOSEN ON THE VALIDATION SPLIT for the shipped model (eval/README.md): change
// them only after rerunning `npm run eval` on valid (and say so in the model card). The others are
// engineering limits: change them freely, with a test.

export const defaults = Object.freeze({
  /** RerankOptions. Chosen on valid with `npm run eval` (model inpage-sci-v1 2.0.0): needs an eval rerun. */
  rerank: Object.freeze({
    /** Without a query (category pages, rails): category NDCG@10 0.2826 on valid (0.5 → 0.2729, 1 → 0.2808). */
    personalWeight: 0.8,
    /** With a query (search): search NDCG@10 0.5377 on valid, best of {0.3, 0.5, 0.6, 0.8} × queryWeight {0.25, 0.5, 1}. */
    searchPersonalWeight: 0.5,
    queryWeight: 0.25,
    /**
     * With a query whose relevance is not scored on the device (the encoder not loaded yet): only the server's order
     * keeps the results on the query, so the history gets less say than on a category page. Search NDCG@10 0.5386 on
     * valid (`inpage-int8-server-query`), best of {0, 0.1, …, 0.6} (0.4 → 0.5369, 0.6 → 0.5264; 0 = server, 0.4374).
     */
    searchServerPersonalWeight: 0.5,
    k: 10,
    /** MMR trade-off: 1 = no diversity (a product choice, not tuned). */
    lambda: 1,
    /** Engineering: give up and return the server's order after this many ms. */
    budgetMs: 300,
    /**
     * Items already bought (once) go after the rest: a product choice (what stores do), not tuned. Category pages
     * exclude history in eval, so valid NDCG does not move; with history kept (`--no-exclude-history`), eval's
     * purchased@10 row shows the effect.
     */
    purchased: 'demote' as 'demote' | 'keep',
    /**
     * Calibration to the history's category mix (Steck 2018), 0 = off. The level with the lowest miscalibration@10 whose
     * NDCG@10 stays within 1 % of calibration off with near-duplicates kept, on category pages and full ranking (valid,
     * amazon-scientific): 0.2 (category 0.2826 → 0.2813, full 0.1024 → 0.1027; miscalibration 3.90 → 3.83, 3.03 →
     * 2.54). 0.3 lost 1.1 % on full ranking.
     */
    calibration: 0.2,
    /** Near-duplicates (text cosine ≥ 0.95): at most two of a kind in the top k (valid: NDCG@10 −0.2 %, near-duplicate pairs −54 %; README). */
    nearDuplicates: 'spread' as 'spread' | 'keep',
  }),
  /** History retention (RecommenderOptions.retention). A privacy choice, not tuned. */
  retention: Object.freeze({ maxEvents: 1000, maxAgeDays: 90 }),
  /** Largest candidate list rerank() accepts (RecommenderOptions.maxCandidates). */
  maxCandidates: 2000,
  /** WASM threads when cross-origin isolated: min(this, cores); 1 otherwise. */
  maxThreads: 4,
  /** Script tag: how long an item must stay half visible to count as viewed. */
  dwellMs: 1000,
  /** Events written per IndexedDB transaction: a burst never holds the main thread for long. */
  writeBatch: 250,
  /** How long an IndexedDB open may wait (behind another tab's blocked delete) before writes go to memory. */
  openTimeoutMs: 5000,
  /** How long a blocked delete waits for other tabs to close before it is reported. */
  blockedGraceMs: 1000,
  /** A worker whose script has not answered a ping by then is taken for dead (a busy phone can be slow). */
  workerStartMs: 30_000,
  /** Longest quiet spell of a model load before ORT's wasm instance exists (no model work until then); past it the page replaces the worker once. */
  runtimeStartMs: 10_000,
  /** Longest wait for one catalog pack file (a rerank's remaining budget may cut it shorter); then a later call asks again. */
  packFetchMs: 10_000,
  /**
   * RecommenderOptions.preload: 'idle' fetches onnxruntime and the text encoder ahead of need when a category page
   * did not need them (closed-form user model with a pack), so a later search waits for nothing; 'need' waits for
   * the first call that needs them (a search, an item without a pack vector), for visitors on metered data.
   */
  preload: 'idle' as 'idle' | 'need',
  /** When: this long after the first rerank's pack data arrived, or after the load if no rerank came (history-independent moments). */
  preloadMs: Object.freeze({ afterPage: 1000, afterLoad: 5000 }),
  /** Item text vectors kept in the vector cache (memory and IndexedDB). */
  vectorCacheLimit: 20_000,
})
