// The holdout's shopper key (src/experiment.ts assigns arms from it): the history keeps it under the
// same rules as the events, so it lives beside them.

/** 128 random bits as 32 hex digits: names no one, links to nothing outside this device. */
export function newShopperKey(): string {
  const b = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
}

export const isShopperKey = (x: unknown): x is string => typeof x === 'string' && /^[0-9a-f]{32}$/.test(x)
