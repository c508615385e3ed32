// Hashes shared by the page, the worker, the pack builder and eval: one definition, so they agree.

/** FNV-1a, 32 bit, over UTF-16 code units: text hashes and catalog-pack shard numbers. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

// A warm rerank hashes every candidate's text twice (score() and the vector cache): remembered by the text itself,
// whose lookup the engine's own string hash makes a fraction of the loop's cost. Bounded: cleared when full.
const hashes = new Map<string, string>()
const HASHES_KEPT = 50_000

/** A short stable hash so cached vectors follow edits of an item's text. */
export function textHash(s: string): string {
  let h = hashes.get(s)
  if (h === undefined) {
    if (hashes.size >= HASHES_KEPT) hashes.clear()
    hashes.set(s, (h = fnv1a32(s).toString(36)))
  }
  return h
}
