// Reasons: which history events raised an item's personal score. Faithful by construction: a reason's
// contribution is the exact drop of the personal score when that one event is left out. Across a list, the
// reasons prefer distinct events, but only among each item's strong ones (REASONS.faithful of its largest drop).

import type { EventType } from '../core/types'
import type { Reason, ReasonKind } from './types'

export interface HistoryItemEvent {
  type: EventType
  itemId: string
  title: string
  /** The item's category path, root first (RerankOptions.calibration reads its leaf). */
  category?: readonly string[]
}

/**
 * Leave-one-out personal scores: `at(e, i)` is candidate i's personal score with history event e left out. Reasons
 * read them for the items that moved up only, so score() computes an entry when it is first read (a 1,000-candidate
 * list no longer pays for the rows of the items that stay or go down).
 */
export interface LeaveOneOut {
  /** The number of events (rows). */
  readonly events: number
  at(e: number, i: number): number
}

/** Rows given in full (baselines, tests): `rows[e][i]`. */
export function leaveOneOutRows(rows: readonly (readonly number[])[]): LeaveOneOut {
  return { events: rows.length, at: (e, i) => rows[e]![i]! }
}

export interface ReasonRules {
  faithful: number
  minShare: number
  maxReasons: number
}

/** The rules a reason is held to (stated in README, "Reasons"). */
export const REASONS: Readonly<ReasonRules> = {
  /** A cited event's drop is at least this share of the item's largest drop (the event that explains it most). */
  faithful: 0.5,
  /**
   * A reason is shown only when its drop is at least this share of the item's personal lead over the list's mean
   * personal score: the history must have lifted the item, and this event must be a real part of that lift (the
   * rest of a lift is other events and the popularity prior). Valid, category pages: 0 → 0.05 → 0.1 leaves a reason
   * on 0.97 → 0.92 → 0.85 of the moved-up items (eval/README.md, "Reasons").
   */
  minShare: 0.05,
  /** Reasons per item. */
  maxReasons: 2,
}

const VERB: Record<EventType, string> = {
  view: 'viewed',
  click: 'looked at',
  add_to_cart: 'added to your cart',
  purchase: 'bought',
  search: 'searched for',
  dwell: 'spent time on',
}

/** "Because you bought 'X'", then what kind of evidence, then how many items in view share the reason. */
export function reasonText(ev: Pick<HistoryItemEvent, 'type' | 'title'>, kind: ReasonKind = 'similar', group = 1): string {
  const title = ev.title.length > 60 ? `${ev.title.slice(0, 57)}…` : ev.title
  const base = `Because you ${VERB[ev.type]} '${title}'`
  const why = kind === 'bought-together' ? ': often bought together' : ''
  return base + why + (group > 1 ? ` (${group} items like it here)` : '')
}

/** What explain() reads: the personal scores with the whole history and with each event left out. */
export interface ExplainScores {
  /** Personal score of each candidate with the whole history. */
  full: readonly number[]
  /** without.at(e, i) = personal score of candidate i with event e left out. */
  without: LeaveOneOut
  /** The kNN part of `full` and of each `without` row (Scores.knn): tells 'bought-together' from 'similar'. */
  knn?: readonly number[]
  knnWithout?: readonly (readonly number[])[]
  /** The history events the model read, in the order of `without`. */
  events: readonly HistoryItemEvent[]
  /** Candidate ids: an item never cites its own event. */
  ids?: readonly string[]
  /** The mean of `full` (computed when absent; a caller explaining a long list page by page passes it once). */
  mean?: number
}

interface Option {
  e: number
  key: string
  contribution: number
}

/**
 * Reasons for `candidates` (indices: the items one part of the list shows together, e.g. its top 10's moved-up
 * items, in their order). Each cited event's contribution is the exact leave-one-out drop; each is at least
 * REASONS.faithful of the item's largest drop and REASONS.minShare of its lead; an item's own event is never cited.
 * First reasons cite as many distinct events as these options allow (a maximum matching of items to events), the rest
 * go to the event fewest items cite yet (ties: the larger drop); `group` counts the items that cite it first.
 */
export function explain(s: ExplainScores, candidates: readonly number[], rules: Partial<ReasonRules> = {}): Map<number, Reason[]> {
  const { faithful, minShare, maxReasons } = { ...REASONS, ...rules }
  const { full, without, events } = s
  const out = new Map<number, Reason[]>()
  let mean = s.mean ?? 0
  if (s.mean === undefined) for (const x of full) mean += x / full.length
  // Per event, once: its (event type, item) key (one reason per key, at its largest drop).
  const keys = events.map((ev) => `${ev.type}|${ev.itemId}`)
  const options = new Map<number, Option[]>()
  for (const i of candidates) {
    const best = new Map<string, Option>()
    for (let e = 0; e < events.length; e++) {
      if (s.ids && events[e]!.itemId === s.ids[i]) continue // no self-citation
      const contribution = full[i]! - without.at(e, i)
      if (!(contribution > 1e-6)) continue
      if ((best.get(keys[e]!)?.contribution ?? -Infinity) >= contribution) continue
      best.set(keys[e]!, { e, key: keys[e]!, contribution })
    }
    const all = [...best.values()].sort((a, b) => b.contribution - a.contribution)
    // An item the history left at or below the list's mean was not lifted by it: no reason.
    const lead = full[i]! - mean
    const floor = Math.max(faithful * (all[0]?.contribution ?? 0), minShare * lead)
    options.set(i, lead > 0 ? all.filter((o) => o.contribution >= floor) : [])
    out.set(i, [])
  }
  const win = candidates.filter((i) => options.get(i)!.length)
  // First reasons: a maximum matching of items to distinct events (Kuhn's augmenting paths; items with fewer options
  // first, each trying its larger drops first), so as many distinct events are cited as the options allow; an item
  // left over takes the event fewest items cite yet (ties: the larger drop).
  const first = new Map<number, Option>()
  const holder = new Map<string, number>()
  const claim = (i: number, seen: Set<string>): boolean => {
    for (const o of options.get(i)!) {
      if (seen.has(o.key)) continue
      seen.add(o.key)
      const h = holder.get(o.key)
      if (h === undefined || claim(h, seen)) {
        holder.set(o.key, i)
        first.set(i, o)
        return true
      }
    }
    return false
  }
  const byChoice = win.map((i, pos) => ({ i, pos })).sort((a, b) => options.get(a.i)!.length - options.get(b.i)!.length || a.pos - b.pos)
  for (const { i } of byChoice) claim(i, new Set())
  const uses = new Map<string, number>()
  for (const o of first.values()) uses.set(o.key, 1)
  for (const { i } of byChoice) {
    if (first.has(i)) continue
    let pick: Option | undefined
    for (const o of options.get(i)!) if (!pick || (uses.get(o.key) ?? 0) < (uses.get(pick.key) ?? 0)) pick = o // sorted: ties keep the larger drop
    first.set(i, pick!)
    uses.set(pick!.key, (uses.get(pick!.key) ?? 0) + 1)
  }
  for (const i of win) {
    const lead = first.get(i)!
    const rest = options.get(i)!.filter((o) => o !== lead)
    out.set(i, [lead, ...rest].slice(0, maxReasons).map((o, r) => reason(s, i, o, r === 0 ? uses.get(o.key)! : 1)))
  }
  return out
}

function reason(s: ExplainScores, i: number, o: Option, group: number): Reason {
  const ev = s.events[o.e]!
  const knnDrop = s.knn && s.knnWithout ? s.knn[i]! - s.knnWithout[o.e]![i]! : 0
  const kind: ReasonKind = knnDrop > o.contribution - knnDrop ? 'bought-together' : 'similar'
  return {
    kind,
    eventType: ev.type,
    itemId: ev.itemId,
    title: ev.title,
    contribution: o.contribution,
    text: reasonText(ev, kind, group),
    ...(group > 1 ? { group } : {}),
  }
}
