// Named errors. Compare `error.name`, never `instanceof`: errors cross the worker boundary
// (comlink rebuilds them as plain Error with the same name and message).

/** Every error inpage raises on purpose. */
export type InPageErrorName =
  | 'InvalidEventError'
  | 'InvalidCandidatesError'
  /** Every bad options value or unknown options key, at every entry; a bad setConsent() state too. */
  | 'InvalidOptionsError'
  | 'StorageError'
  | 'ModelLoadError'
  | 'ModelIntegrityError'
  /** The model's numbers cannot rank: non-finite or overflowing scores, NaN output, vectors of the wrong dimension. */
  | 'ModelDataError'
  /** A catalog pack's file could not be fetched or read (404, not JSON, made for another format version). */
  | 'CatalogLoadError'
  /** A catalog pack's file does not match its digest (a tampered or damaged shard). */
  | 'CatalogIntegrityError'
  /** A catalog pack's shard or record, signed or attached, has the wrong shape (the pack's builder or the server is at fault). */
  | 'CatalogDataError'
  | 'EngineError'
  | 'DisposedError'

export class InPageError extends Error {
  override readonly name: InPageErrorName
  constructor(name: InPageErrorName, message: string) {
    super(message)
    this.name = name
  }
}

export const invalidEvent = (message: string) => new InPageError('InvalidEventError', message)
export const invalidOptions = (message: string) => new InPageError('InvalidOptionsError', message)

/** Plain-object form that survives postMessage and JSON. */
export function describeError(err: unknown): { name: string; message: string } {
  if (err && typeof err === 'object' && 'message' in err) {
    const e = err as { name?: unknown; message?: unknown }
    return { name: typeof e.name === 'string' ? e.name : 'Error', message: String(e.message) }
  }
  return { name: 'Error', message: String(err) }
}

export const modelData = (message: string) => new InPageError('ModelDataError', message)

/** Throws ModelDataError unless every number is finite. */
export function assertFinite(xs: ArrayLike<number>, what: string): void {
  for (let i = 0; i < xs.length; i++) if (!Number.isFinite(xs[i])) throw modelData(`${what}: entry ${i} is ${xs[i]}`)
}
