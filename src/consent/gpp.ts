// IAB GPP (CMP API v1.1: `__gpp('addEventListener', callback)`). Signals are read only once the CMP says
// `signalStatus: 'ready'` (it sets 'not ready' while the shopper changes a choice). The applicable section:
//   - tcfeuv2 (section 2, the EU): purposes 1, 5 and 6 (see tcf.ts), from its `PurposeConsents`;
//   - none (applicableSections [-1]): 'not-applicable';
//   - any other (the US state and national sections, Canada's): those carry opt-outs of sale, sharing and
//     targeted advertising, not a consent to on-device personalization, so inpage takes no answer from
//     them (consent stays as it was: pending, or denied under Global Privacy Control) unless the shopper
//     opted out of one of them (1 = opted out), which inpage reads as a denial.

import { TCF_PURPOSES } from './tcf'
import { whenDefined, type Adapter, type Answer } from './types'

export interface GppPing {
  signalStatus?: 'ready' | 'not ready'
  cmpStatus?: string
  applicableSections?: number[]
}

export interface GppEvent {
  eventName: string
  listenerId?: number
  data?: unknown
  pingData?: GppPing
}

type GppApi = (command: string, callback: (data: unknown, success: boolean) => void, parameter?: unknown, version?: string) => void

const TCFEUV2 = 2
/** Opt-out fields of the US sections (usnat and the states): 1 = opted out, 2 = did not, 0 = not applicable. */
const US_OPT_OUTS = ['SaleOptOut', 'SharingOptOut', 'TargetedAdvertisingOptOut']

/** The answer of a parsed section (`getSection`: an array of sub-section objects, the core first). */
export function gppAnswer(sectionId: number, section: unknown): Answer | undefined {
  const core = Array.isArray(section) ? (section[0] as Record<string, unknown> | undefined) : undefined
  if (!core || typeof core !== 'object') return undefined
  if (sectionId === TCFEUV2) {
    const c = core.PurposeConsents
    if (!Array.isArray(c)) return undefined
    // A bitfield of 24 purposes: index 0 is Purpose 1.
    return TCF_PURPOSES.every((p) => c[p - 1] === true || c[p - 1] === 1) ? 'granted' : 'denied'
  }
  return US_OPT_OUTS.some((f) => core[f] === 1) ? 'denied' : undefined
}

/** API prefixes of the sections inpage reads, by section id (GPP "Section Information"). */
const PREFIX: Record<number, string> = { 2: 'tcfeuv2', 7: 'usnat', 8: 'usca', 9: 'usva', 10: 'usco', 11: 'usut', 12: 'usct' }

export const gpp: Adapter = (win, answer, waitMs) => {
  let api: GppApi | undefined
  let listenerId: number | undefined
  let stopped = false
  const read = (ping: GppPing) => {
    if (ping.signalStatus !== 'ready' || ping.cmpStatus === 'error' || !api) return
    const sections = ping.applicableSections ?? []
    if (sections.length === 1 && sections[0] === -1) return answer('not-applicable')
    // The EU section decides where it applies; else the first section inpage reads.
    const id = sections.includes(TCFEUV2) ? TCFEUV2 : sections.find((s) => PREFIX[s])
    if (id === undefined) return
    api('getSection', (data, success) => {
      if (stopped || !success) return
      const a = gppAnswer(id, data)
      if (a) answer(a)
    }, PREFIX[id])
  }
  const onEvent = (e: unknown, success: boolean) => {
    if (stopped || !success || !e || typeof e !== 'object') return
    const ev = e as GppEvent
    if (typeof ev.listenerId === 'number') listenerId = ev.listenerId
    // Every event carries pingData; 'signalStatus' ready ends each chain of changes.
    if (ev.pingData) read(ev.pingData)
  }
  const cancel = whenDefined(
    () => {
      const f = (win as unknown as { __gpp?: unknown }).__gpp
      return typeof f === 'function' ? (f as GppApi) : undefined
    },
    waitMs,
    (f) => {
      api = f
      f('addEventListener', onEvent)
    },
  )
  return () => {
    stopped = true
    cancel()
    if (api && listenerId !== undefined) api('removeEventListener', () => {}, listenerId)
  }
}
