// Google Consent Mode v2: the page's `gtag('consent', 'default' | 'update', { … })` commands, which gtag.js
// and Google Tag Manager's consent APIs both put on `window.dataLayer` (an arguments object per command).
// inpage reads `personalization_storage` ("storage related to personalization, e.g. video
// recommendations"), the type Google defines for exactly this:
//   - an `update` decides: 'granted' or 'denied';
//   - a `default` of 'granted' grants; a `default` of 'denied' is the usual "before the banner answered"
//     and erases nothing: it is not a decision (consent stays pending, or denied under GPC);
//   - a `default` scoped to regions (`region: [...]`) is not read: the page cannot know which applies.

import type { Adapter, Answer } from './types'

type Command = ArrayLike<unknown>

const isConsentCommand = (x: unknown): x is Command => {
  if (!x || typeof x !== 'object' || typeof (x as Command).length !== 'number') return false
  const c = x as Command
  return c[0] === 'consent' && (c[1] === 'default' || c[1] === 'update') && !!c[2] && typeof c[2] === 'object'
}

/** One dataLayer entry's answer, if it is a consent command that says something about personalization_storage. */
export function consentModeAnswer(entry: unknown): Answer | undefined {
  if (!isConsentCommand(entry)) return undefined
  const params = entry[2] as Record<string, unknown>
  const v = params.personalization_storage
  if (entry[1] === 'default') {
    if (params.region !== undefined) return undefined
    return v === 'granted' ? 'granted' : undefined
  }
  return v === 'granted' ? 'granted' : v === 'denied' ? 'denied' : undefined
}

export const consentMode: Adapter = (win, answer) => {
  const w = win as unknown as { dataLayer?: unknown[] }
  // The gtag snippet's own first line: the page's tags may load after inpage.
  const dl = (w.dataLayer ??= [])
  if (!Array.isArray(dl)) return () => {}
  let stopped = false
  let last: Answer | undefined
  for (const entry of dl)
    try {
      last = consentModeAnswer(entry) ?? last
    } catch {
      /* not a command inpage can read */
    }
  // Entries pushed from now on: through push (gtag, GTM and their wrappers all push).
  const push = dl.push
  dl.push = function (this: unknown[], ...items: unknown[]) {
    const n = push.apply(this, items)
    // Runs inside the page's own push: never throws into it.
    if (!stopped)
      for (const item of items) {
        try {
          const a = consentModeAnswer(item)
          if (a) answer(a)
        } catch {
          /* not a command inpage can read */
        }
      }
    return n
  }
  if (last) answer(last)
  return () => {
    stopped = true
  }
}
