// Where `npm run catalog` writes: the pack is built in a temporary folder beside --out and renamed into
// place only when complete, so a failed or interrupted build leaves the old pack as it was; and --out
// is replaced only when it holds a pack and nothing else (never a model folder, a folder of other
// stores' packs, or any other files).

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { folderEntries, OutputError } from '../node/write-folder'
import { PACK_FORMAT, type PackManifest } from '../src/pack/format'

export { OutputError }

/** What --out is now: nothing, an empty folder, or a pack (pack.json of the format, shards/<i>.json, nothing else). */
export type OutState = 'new' | 'empty' | 'pack'

/** Why `dir` is not a pack folder, or undefined when it is one. */
function notAPack(dir: string, entries: string[]): string | undefined {
  if (entries.includes('manifest.json')) return 'holds manifest.json (a model folder?)'
  if (!entries.includes('pack.json')) return `holds ${JSON.stringify(entries[0])}${entries.length > 1 ? ` and ${entries.length - 1} more` : ''} and no pack.json`
  let format: unknown
  try {
    format = (JSON.parse(readFileSync(join(dir, 'pack.json'), 'utf8')) as { format?: unknown } | null)?.format
  } catch {
    return 'holds a pack.json that is not JSON'
  }
  if (format !== PACK_FORMAT) return `holds a pack.json whose format is ${JSON.stringify(format)}, not "${PACK_FORMAT}"`
  // (a pack.json write that was killed leaves `.pack.json.<pid>.tmp`: ours, like the pack)
  const other = entries.filter((e) => e !== 'pack.json' && e !== 'shards' && !/^\.pack\.json\.\d+\.tmp$/.test(e))
  if (other.length) return `holds a pack and ${JSON.stringify(other[0])}${other.length > 1 ? ` and ${other.length - 1} more` : ''}, which a pack build does not write`
  if (entries.includes('shards')) {
    const shards = folderEntries(join(dir, 'shards')) ?? []
    const odd = shards.find((f) => !/^\d+\.json$/.test(f))
    if (odd !== undefined) return `holds a pack whose shards/ also holds ${JSON.stringify(odd)}`
  }
  return undefined
}

/**
 * Checks --out before anything is read or written: a new or empty folder is fine; a pack needs `force`;
 * anything else is refused, `force` or not (an OutputError, one line).
 */
export function checkOut(out: string, force: boolean): OutState {
  const entries = folderEntries(out)
  if (entries === undefined) return 'new'
  if (!entries.length) return 'empty'
  const why = notAPack(out, entries)
  if (why) throw new OutputError(out, `${why}: not a catalog pack, so it is never replaced (--force or not); choose a new or empty folder`)
  if (!force) throw new OutputError(out, 'holds a pack: pass --force to replace it')
  return 'pack'
}

/**
 * Checks that `dir` holds a pack and nothing else, as `--force` requires (a model folder, a site folder, a folder of
 * packs or a missing one is an OutputError, one line): the tuning step rewrites pack.json only there.
 */
export function checkPackFolder(dir: string): void {
  const entries = folderEntries(dir)
  if (entries === undefined) throw new OutputError(dir, 'no such folder: not a catalog pack')
  const why = entries.length ? notAPack(dir, entries) : 'is empty'
  if (why) throw new OutputError(dir, `${why}: not a catalog pack, so its pack.json is never written`)
}

/** Writes pack.json into the pack folder `dir`: beside its place, then renamed over it, so a reader never sees half of one. */
export function writePackJson(dir: string, manifest: PackManifest): void {
  const file = join(dir, 'pack.json')
  const tmp = join(dir, `.pack.json.${process.pid}.tmp`)
  try {
    writeFileSync(tmp, JSON.stringify(manifest, null, 1) + '\n')
    renameSync(tmp, file)
  } finally {
    rmSync(tmp, { force: true })
  }
}

/** A temporary folder beside `out` (same file system, so the final rename is atomic) for the new pack. */
export function stagingFolder(out: string): string {
  mkdirSync(dirname(out), { recursive: true })
  return mkdtempSync(join(dirname(out), `.${basename(out)}.building-`))
}

/**
 * Moves the finished pack `staged` to `out`. `out` is checked again (it may have changed during the
 * build); the old pack is moved aside, the new one renamed in, then the old one removed. If the second
 * rename fails the old pack is moved back.
 */
export function moveIntoPlace(staged: string, out: string, force: boolean): void {
  const state = checkOut(out, force)
  if (state === 'new') return renameSync(staged, out)
  const aside = `${staged}.old`
  renameSync(out, aside)
  try {
    renameSync(staged, out)
  } catch (e) {
    if (!existsSync(out)) renameSync(aside, out)
    throw e
  }
  rmSync(aside, { recursive: true, force: true })
}

/** Leftover staging folders of builds that were killed (`.<name>.building-*` beside `out`). */
export function leftovers(out: string): string[] {
  const dir = dirname(out)
  if (!existsSync(dir)) return []
  const prefix = `.${basename(out)}.building-`
  return readdirSync(dir).filter((e) => e.startsWith(prefix)).map((e) => join(dir, e))
}
