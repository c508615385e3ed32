// A baseline build of the library at a git ref, for a section that compares this checkout with an earlier one in the
// same session: built outside the repository (its sources must not meet this checkout's type check or tests), only
// its dist/ kept, under bench/tmp/baseline-<ref>/ (served as /bench-tmp/baseline-<ref>/). Built once per ref.
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'

/** A commit hash or tag: it names folders here and under the system's temporary folder, so no slash, no `..`. */
const REF = /^[0-9A-Za-z][0-9A-Za-z._-]{0,99}$/

/** The folder (relative to the repository root) whose dist/ is the library at `ref`. */
export function baselineDist(root, ref) {
  if (!REF.test(ref) || ref.includes('..')) throw new Error(`baseline ref ${JSON.stringify(ref)}: give a commit hash or a tag (letters, digits, . _ -)`)
  const baseDir = `bench/tmp/baseline-${ref}`
  if (!existsSync(`${baseDir}/dist/inpage.js`)) {
    // A fresh folder of our own (never one that already exists), removed when done.
    const src = mkdtempSync(join(os.tmpdir(), `inpage-baseline-${ref}-`))
    try {
      execFileSync('git', ['archive', '--output', join(src, 'src.tar'), ref], { stdio: ['ignore', 'ignore', 'inherit'] })
      execFileSync('tar', ['-x', '-f', 'src.tar'], { cwd: src })
      symlinkSync(`${root}node_modules`, `${src}/node_modules`)
      execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: src, stdio: 'inherit' })
      mkdirSync(baseDir, { recursive: true })
      // Timestamps kept: the server sends a precompressed copy only when it is not older than its file.
      cpSync(`${src}/dist`, `${baseDir}/dist`, { recursive: true, preserveTimestamps: true })
    } finally {
      rmSync(src, { recursive: true, force: true })
    }
  }
  return baseDir
}
