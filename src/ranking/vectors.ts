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

/**
 * Standard scores; a constant list maps to zeros. Scale-free: the list is first divided by its largest
 * magnitude, so finite inputs up to ±Number.MAX_VALUE never overflow the sums. A non-finite input gives NaN.
 */
export function zscore(xs: ArrayLike<number>): number[] {
  const n = xs.length
  if (!n) return []
  let scale = 0
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(xs[i]!))
  if (Number.isNaN(scale) || scale === Infinity) return Array.from(xs, () => NaN)
  if (scale === 0) return new Array<number>(n).fill(0)
  const ys = Array.from(xs, (x) => x / scale)
  let mean = 0
  for (let i = 0; i < n; i++) mean += ys[i]!
  mean /= n
  let v = 0
  for (let i = 0; i < n; i++) v += (ys[i]! - mean) ** 2
  const sd = Math.sqrt(v / n)
  return ys.map((y) => (sd > 1e-12 ? (y - mean) / sd : 0))
}
