// The model's files are used only once their bytes match the manifest (size and sha256): one check for the
// worker (fetched or cached files, workers/loader.ts) and for Node (files on disk, node/model-node.ts).
// SHA-256 by Web Crypto, which the browser, its workers and Node 20 all have.

import { InPageError } from '../core/errors'
import type { FileEntry } from './manifest'

/** Hex digest of some bytes; injected where a caller has its own (a test, a runtime without Web Crypto). */
export type Digest = (bytes: ArrayBuffer | Uint8Array) => Promise<string>

export const sha256Hex: Digest = async (bytes) => {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource))
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** Whether `bytes` are the file `entry` describes (a cached copy is used only then). */
export async function fileMatches(bytes: ArrayBuffer | Uint8Array, entry: FileEntry, digest: Digest = sha256Hex): Promise<boolean> {
  return bytes.byteLength === entry.bytes && (await digest(bytes)) === entry.sha256
}

/** Throws ModelIntegrityError, naming the file and what differs, unless `bytes` are the file `entry` describes. */
export async function checkFile(name: string, bytes: ArrayBuffer | Uint8Array, entry: FileEntry | undefined, digest: Digest = sha256Hex): Promise<void> {
  if (!entry) throw new InPageError('ModelIntegrityError', `${name}: not listed in the manifest`)
  if (bytes.byteLength !== entry.bytes) throw new InPageError('ModelIntegrityError', `${name}: ${bytes.byteLength} bytes, the manifest says ${entry.bytes}`)
  const got = await digest(bytes)
  if (got !== entry.sha256) throw new InPageError('ModelIntegrityError', `${name}: sha256 ${got} does not match the manifest`)
}

/**
 * Reads the files of `names` side by side with `read` and checks each against the manifest's `files`: the
 * verified bytes by name, or ModelIntegrityError for the first that differs (or that the manifest does not list).
 */
export async function loadVerified(
  names: readonly string[],
  files: Readonly<Record<string, FileEntry>>,
  read: (name: string) => Promise<Uint8Array>,
  digest: Digest = sha256Hex,
): Promise<Map<string, Uint8Array>> {
  const got = await Promise.all(
    names.map(async (name): Promise<[string, Uint8Array]> => {
      const bytes = await read(name)
      await checkFile(name, bytes, files[name], digest)
      return [name, bytes]
    }),
  )
  return new Map(got)
}
