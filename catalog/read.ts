// Reads a catalog pack in Node, verifying each shard as the browser does: for a store's server that
// attaches pack records to the candidates it sends (`Candidate.pack`, so the browser fetches nothing: the
// recommended path), and for eval.
//
//   const pack = openPack('public/packs/my-store')          // once: pack.json read and checked
//   candidates.map((c) => ({ ...c, pack: pack.record(c.id) }))
//   // or, one call: readPackRecords('public/packs/my-store', ids) → Map<id, record>
//
// A sparse pack (format 2) has no file for a shard that holds no item: a missing file is an empty shard
// there, and an error in a dense pack (format 1), as in the browser. A file that does not verify is always
// an error (CatalogIntegrityError).

import { createPublicKey, verify, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { InputError, readText } from '../node/input'
import { checkPackManifest, checkShard, decodeRecord, isSparse, shardFile, shardOf, signedMessage, splitShardFile, type PackItem, type PackManifest, type PackRecord, type Shard } from '../src/pack/format'

export interface OpenPack {
  manifest: PackManifest
  /** The item's record as a shard holds it (what `Candidate.pack` carries), or undefined. */
  record(id: string): PackRecord | undefined
  /** The decoded item (text vector as floats), or undefined. */
  item(id: string): PackItem | undefined
}

export function openPack(dir: string): OpenPack {
  const file = join(dir, 'pack.json')
  let manifest: PackManifest
  try {
    manifest = checkPackManifest(JSON.parse(readText(file)))
  } catch (e) {
    throw e instanceof InputError ? e : new InputError(file, undefined, `not a catalog pack (${(e as Error).message.split('\n')[0]})`)
  }
  const key: KeyObject = createPublicKey({ key: manifest.signature.publicKey, format: 'jwk' })
  const sparse = isSparse(manifest)
  const shards = new Map<number, Shard>()
  const shard = (i: number): Shard => {
    let s = shards.get(i)
    if (!s) {
      let text: string | undefined
      try {
        text = readFileSync(join(dir, shardFile(i)), 'utf8')
      } catch (e) {
        if (!(sparse && (e as NodeJS.ErrnoException).code === 'ENOENT')) throw e
      }
      if (text === undefined) s = { items: Object.create(null) as Shard['items'] }
      else {
        let json: string | undefined
        try {
          const parts = splitShardFile(text)
          if (verify('sha256', signedMessage(i, parts.json), { key, dsaEncoding: 'ieee-p1363' }, parts.signature)) json = parts.json
        } catch {
          /* no signature line, or not a signature: refused below */
        }
        if (json === undefined) throw Object.assign(new Error(`${shardFile(i)}: its signature does not verify with the key in pack.json`), { name: 'CatalogIntegrityError' })
        // JSON.parse makes "__proto__" an own key; lookups below are own-property only.
        s = checkShard(JSON.parse(json))
      }
      if (shards.size >= 4096) shards.delete(shards.keys().next().value!)
      shards.set(i, s)
    }
    return s
  }
  const record = (id: string) => {
    const items = shard(shardOf(id, manifest.shards.count)).items
    return Object.prototype.hasOwnProperty.call(items, id) ? items[id] : undefined
  }
  return {
    manifest,
    record,
    item(id) {
      const r = record(id)
      return r && decodeRecord(r)
    },
  }
}

/**
 * The records of `ids` the pack in `dir` holds (ids it does not hold are absent from the map), each shard
 * verified before use: what a store's server attaches to its candidates as `Candidate.pack`. A server that
 * answers many pages keeps one `openPack(dir)` instead (pack.json is read once, shards are kept).
 */
export function readPackRecords(dir: string, ids: Iterable<string>): Map<string, PackRecord> {
  const pack = openPack(dir)
  const out = new Map<string, PackRecord>()
  for (const id of ids) {
    const r = pack.record(id)
    if (r !== undefined) out.set(id, r)
  }
  return out
}
