// Reads a catalog pack in Node, verifying each shard as the browser does: for a store's server that
// attaches pack records to the candidates it sends (`Candidate.pack`, so the browser fetches nothing),
// and for eval.
//
//   const pack = openPack('public/packs/my-store')
//   candidates.map((c) => ({ ...c, pack: pack.record(c.id) }))

import { createPublicKey, verify, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { InputError, readText } from '../node/input'
import { checkPackManifest, decodeRecord, shardFile, shardOf, signedMessage, splitShardFile, type PackItem, type PackManifest, type PackRecord, type Shard } from '../src/pack/format'

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
  const shards = new Map<number, Shard>()
  const shard = (i: number): Shard => {
    let s = shards.get(i)
    if (!s) {
      const { signature, json } = splitShardFile(readFileSync(join(dir, shardFile(i)), 'utf8'))
      if (!verify('sha256', signedMessage(i, json), { key, dsaEncoding: 'ieee-p1363' }, signature))
        throw Object.assign(new Error(`${shardFile(i)}: its signature does not verify with the key in pack.json`), { name: 'CatalogIntegrityError' })
      s = JSON.parse(json) as Shard // JSON.parse makes "__proto__" an own key; lookups below are own-property only
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
