// What an adapter tells inpage: a decision, that consent rules do not apply to this visitor, or nothing yet.

/** 'not-applicable': the platform says no consent is needed here (e.g. TCF's gdprApplies false). */
export type Answer = 'granted' | 'denied' | 'not-applicable'

/** An adapter: listens to the platform, calls `answer` for each decision, returns its stop(). */
export type Adapter = (win: Window, answer: (a: Answer) => void, waitMs: number) => () => void

/** Calls `found` with the global once `get` returns one (a CMP's stub may load after inpage), for at most `waitMs`. */
export function whenDefined<T>(get: () => T | undefined, waitMs: number, found: (x: T) => void): () => void {
  // A platform that throws is the page's fault: inpage then has no answer from it, and says nothing.
  const use = (x: T) => {
    try {
      found(x)
    } catch {
      /* no answer */
    }
  }
  const now = get()
  if (now !== undefined) {
    use(now)
    return () => {}
  }
  const started = Date.now()
  const timer = setInterval(() => {
    const x = get()
    if (x !== undefined) {
      clearInterval(timer)
      use(x)
    } else if (Date.now() - started > waitMs) clearInterval(timer)
  }, 50)
  return () => clearInterval(timer)
}
