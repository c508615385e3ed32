// BM25 over item text, the stand-in "server" for the semi-synthetic search protocol.

export function tokenize(text: string): string[] {
  return text.toLowerCase().normalize('NFKD').match(/[\p{L}\p{N}]+/gu) ?? []
}

export class BM25 {
  private readonly postings = new Map<string, { doc: number; tf: number }[]>()
  private readonly len: Float64Array
  private readonly avg: number
  readonly n: number

  constructor(docs: readonly string[], readonly k1 = 1.2, readonly b = 0.75) {
    this.n = docs.length
    this.len = new Float64Array(docs.length)
    docs.forEach((d, doc) => {
      const toks = tokenize(d)
      this.len[doc] = toks.length
      const tf = new Map<string, number>()
      for (const t of toks) tf.set(t, (tf.get(t) ?? 0) + 1)
      for (const [t, c] of tf) {
        let p = this.postings.get(t)
        if (!p) this.postings.set(t, (p = []))
        p.push({ doc, tf: c })
      }
    })
    this.avg = this.len.reduce((a, b) => a + b, 0) / Math.max(1, docs.length)
  }

  /** Lucene's idf: log(1 + (N − df + 0.5) / (df + 0.5)), always > 0. */
  idf(term: string): number {
    const df = this.postings.get(term)?.length ?? 0
    return Math.log(1 + (this.n - df + 0.5) / (df + 0.5))
  }

  scores(query: string): Float64Array {
    const out = new Float64Array(this.n)
    for (const t of new Set(tokenize(query))) {
      const p = this.postings.get(t)
      if (!p) continue
      const idf = this.idf(t)
      for (const { doc, tf } of p) out[doc]! += (idf * tf * (this.k1 + 1)) / (tf + this.k1 * (1 - this.b + (this.b * this.len[doc]!) / this.avg))
    }
    return out
  }

  /** The k best documents with a positive score, score desc, ties by smaller index. */
  search(query: string, k: number): { doc: number; score: number }[] {
    const s = this.scores(query)
    const hits: number[] = []
    for (let i = 0; i < s.length; i++) if (s[i]! > 0) hits.push(i)
    hits.sort((a, b) => s[b]! - s[a]! || a - b)
    return hits.slice(0, k).map((doc) => ({ doc, score: s[doc]! }))
  }
}
