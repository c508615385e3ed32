// Pack records decoded once. A shard's records and the kept records are the same objects on every call (the
// shard stays parsed in memory, a kept record in the RecordStore), so their check and their int8 → float
// decoding are done once per object, not per call. A record that fails the check is not kept: it fails again,
// and is reported, on each call that reads it.

import { checkRecord, type PackItem } from '../src/pack/format'

const withText = new WeakMap<object, PackItem>()
const publicOnly = new WeakMap<object, PackItem>()

/**
 * checkRecord's PackItem for this raw record: with its text vector when `text` (a pack made with this model's
 * encoder, or a record the server attached), else its popularity, neighbours and next items only. Throws as checkRecord does.
 */
export function decodeRecord(r: unknown, text: boolean, dims: number): PackItem {
  const rec = r as Record<string, unknown>
  const memo = text ? withText : publicOnly
  const hit = rec && typeof rec === 'object' ? memo.get(rec) : undefined
  if (hit && (!hit.text || hit.text.length === dims)) return hit
  const item = checkRecord(text ? rec : { p: rec?.p, n: rec?.n, f: rec?.f }, dims)
  if (rec && typeof rec === 'object') memo.set(rec, item)
  return item
}
