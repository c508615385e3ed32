// Small vector helpers. Plain loops: these run on hundreds of items, not millions.

export type Vec = ArrayLike<number>

export function dot(a: Vec, b: Vec): number {
  let s = 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) s += a[i]! * b[i]!
  return s
}

export function cosine(a: Vec, b: Vec): number {
  const d = Math.sqrt(dot(a, a) * dot(b, b))
  return d > 0 ? dot(a, b) / d : 0
}

/** Standard scores; a constant list maps to zeros. */
export function zscore(xs: ArrayLike<number>): number[] {
  const n = xs.length
  if (!n) return []
  let mean = 0
  for (let i = 0; i < n; i++) mean += xs[i]!
  mean /= n
  let v = 0
  for (let i = 0; i < n; i++) v += (xs[i]! - mean) ** 2
  const sd = Math.sqrt(v / n)
  return Array.from(xs, (x) => (sd > 1e-12 ? (x - mean) / sd : 0))
}
