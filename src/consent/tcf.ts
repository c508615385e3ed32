// IAB TCF v2.2 (CMP API: `__tcfapi('addEventListener', 2, callback)`). Personalization needs, with consent:
//   Purpose 1 "Store and/or access information on a device": the history lives in IndexedDB;
//   Purpose 5 "Create profiles for personalised content": the history is such a profile;
//   Purpose 6 "Use profiles to select personalised content": reranking a list by it is that use.
// TCF v2.2 allows no legitimate interest for purposes 3-6, and Purpose 1 is consent-only: all three
// must be consented. The user's purpose consents are read (`purpose.consents`), or the publisher's own
// purpose consents (`publisher.consents`) with `publisherPurposes: true` (a CMP that asks for them).

import { whenDefined, type Adapter, type Answer } from './types'

export const TCF_PURPOSES = [1, 5, 6] as const

/** The fields of the TCData object (TCF v2.2 CMP API) that inpage reads. */
export interface TCData {
  gdprApplies?: boolean
  eventStatus?: 'tcloaded' | 'cmpuishown' | 'useractioncomplete'
  cmpStatus?: 'stub' | 'loading' | 'loaded' | 'error'
  listenerId?: number
  purpose?: { consents?: Record<string, boolean> }
  publisher?: { consents?: Record<string, boolean> }
}

type TcfApi = (command: string, version: number, callback: (data: TCData | boolean, success: boolean) => void, parameter?: unknown) => void

/** One TCData event's answer: undefined while the shopper has not decided (the UI is shown, or no TC string yet). */
export function tcfAnswer(d: TCData, publisherPurposes = false): Answer | undefined {
  if (d.cmpStatus === 'error') return undefined
  if (d.gdprApplies === false) return 'not-applicable'
  if (d.eventStatus !== 'tcloaded' && d.eventStatus !== 'useractioncomplete') return undefined
  const consents = (publisherPurposes ? d.publisher?.consents : d.purpose?.consents) ?? {}
  return TCF_PURPOSES.every((p) => consents[p] === true) ? 'granted' : 'denied'
}

export const tcf =
  (publisherPurposes = false): Adapter =>
  (win, answer, waitMs) => {
    let listenerId: number | undefined
    let api: TcfApi | undefined
    let stopped = false
    const onEvent = (d: TCData | boolean, success: boolean) => {
      if (stopped || !success || !d || typeof d !== 'object') return
      if (typeof d.listenerId === 'number') listenerId = d.listenerId
      const a = tcfAnswer(d, publisherPurposes)
      if (a) answer(a)
    }
    const cancel = whenApi(win, waitMs, (f) => {
      api = f
      f('addEventListener', 2, onEvent)
    })
    return () => {
      stopped = true
      cancel()
      if (api && listenerId !== undefined) api('removeEventListener', 2, () => {}, listenerId)
    }
  }

function whenApi(win: Window, waitMs: number, found: (f: TcfApi) => void) {
  const get = () => {
    const f = (win as unknown as { __tcfapi?: unknown }).__tcfapi
    return typeof f === 'function' ? (f as TcfApi) : undefined
  }
  return whenDefined(get, waitMs, found)
}
