// Where a CLI writes: an --out folder is written only when it is new, empty, or holds nothing but the
// files this CLI writes there (so a mistyped --out never overwrites a model, a pack or a store's files).

import { lstatSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** An --out the CLI refuses to write into. One line: `<folder>: <why>`. */
export class OutputError extends Error {
  override name = 'OutputError'
  constructor(
    readonly dir: string,
    what: string,
  ) {
    super(`${dir}: ${what}`)
  }
}

/** The entries of `dir`, or undefined when it does not exist; an OutputError when it is not a plain folder. */
export function folderEntries(dir: string): string[] | undefined {
  let st
  try {
    st = lstatSync(dir)
  } catch {
    return undefined
  }
  if (st.isSymbolicLink()) throw new OutputError(dir, 'is a symbolic link: pass the folder it points to')
  if (!st.isDirectory()) throw new OutputError(dir, 'exists and is not a folder')
  return readdirSync(dir).sort() // sorted: messages name the same entry on every file system
}

/** Writes `files` (name → text) into `dir`, each written beside its place and renamed over it. */
export function writeFolder(dir: string, files: Record<string, string>, ours: readonly string[]): void {
  const entries = folderEntries(dir)
  const foreign = entries?.filter((e) => !ours.includes(e) && !/^\..+\.\d+\.tmp$/.test(e)) // (a killed run's leftovers are ours too)
  if (foreign?.length)
    throw new OutputError(dir, `holds ${JSON.stringify(foreign[0])}${foreign.length > 1 ? ` and ${foreign.length - 1} more` : ''}, which this command does not write: choose a new or empty folder`)
  mkdirSync(dir, { recursive: true })
  for (const [f, text] of Object.entries(files)) {
    const tmp = join(dir, `.${f}.${process.pid}.tmp`)
    try {
      writeFileSync(tmp, text)
      renameSync(tmp, join(dir, f))
    } finally {
      rmSync(tmp, { force: true })
    }
  }
}
