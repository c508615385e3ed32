// A store's adaptation of the user vector (pack.json `tuning.adapt`, trained by eval/adapt.ts at pack time):
// u' = u + B·(Aᵀ·u) on the user vector's text part. Only the user side moves, so item vectors, queries and
// items the page encodes stay in the encoder's space, and a call pays one matrix-vector product per user vector.

import { fromBase64, toBase64, type PackAdapt } from '../pack/format'

/** A and B, dims × rank, row-major. */
export interface Adaptation {
  dims: number
  rank: number
  a: Float32Array
  b: Float32Array
}

/** u + B (Aᵀ u) on u's first `ad.dims` entries (the text part); the rest as it was. A new array. */
export function adaptUser(u: Float32Array, ad: Adaptation): Float32Array {
  const { dims: d, rank: r, a, b } = ad
  const t = new Float64Array(r)
  for (let x = 0; x < d; x++) {
    const ux = u[x]!
    if (ux !== 0) for (let k = 0; k < r; k++) t[k]! += a[x * r + k]! * ux
  }
  const out = u.slice()
  for (let x = 0; x < d; x++) {
    let s = 0
    for (let k = 0; k < r; k++) s += b[x * r + k]! * t[k]!
    out[x]! += s
  }
  return out
}

const decoded = new WeakMap<PackAdapt, Adaptation>()
const keys = new WeakMap<PackAdapt, number>()
let nextKey = 0

/** A short key per adaptation object (the user-vector cache keys on it). */
export function adaptKey(p: PackAdapt): number {
  let k = keys.get(p)
  if (k === undefined) keys.set(p, (k = nextKey++))
  return k
}

/** The checked pack form (checkTuning) as matrices; decoded once per object. */
export function adaptation(p: PackAdapt): Adaptation {
  let ad = decoded.get(p)
  if (!ad) {
    const m = (s: string, scale: number) => Float32Array.from(new Int8Array(fromBase64(s).buffer), (q) => q * scale)
    const a = m(p.a, p.scale[0])
    ad = { dims: a.length / p.rank, rank: p.rank, a, b: m(p.b, p.scale[1]) }
    decoded.set(p, ad)
  }
  return ad
}

/** The pack form: each matrix symmetric int8 with one scale. */
export function packAdapt(ad: Adaptation): PackAdapt {
  const q = (m: Float32Array) => {
    // A NaN would quantize to 0 without a word: refused instead.
    if (!m.every(Number.isFinite)) throw new Error('an adaptation with a value that is not a finite number')
    const max = m.reduce((x, v) => Math.max(x, Math.abs(v)), 0)
    const s = max > 0 ? max / 127 : 1 / 127
    return { t: toBase64(new Uint8Array(Int8Array.from(m, (v) => Math.round(v / s)).buffer)), s }
  }
  const a = q(ad.a)
  const b = q(ad.b)
  return { rank: ad.rank, scale: [a.s, b.s], a: a.t, b: b.t }
}
