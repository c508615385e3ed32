// A baseline build of the library at a git ref, for a section that compares this checkout with an earlier one in the
// same session: built outside the repository (its sources must not meet this checkout's type check or tests), only
// its dist/ kept, under bench/tmp/baseline-<ref>/ (served as /bench-tmp/baseline-<ref>/). Built once per ref.
import { execFileSync, execSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs'
import os from 'node:os'

/** The folder (relative to the repository root) whose dist/ is the library at `ref`. */
export function baselineDist(root, ref) {
  const baseDir = `bench/tmp/baseline-${ref}`
  if (!existsSync(`${baseDir}/dist/inpage.js`)) {
    const src = `${os.tmpdir()}/inpage-baseline-${ref}`
    rmSync(src, { recursive: true, force: true })
    mkdirSync(src, { recursive: true })
    execSync(`git archive ${ref} | tar -x -C ${src}`)
    symlinkSync(`${root}node_modules`, `${src}/node_modules`)
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: src, stdio: 'inherit' })
    mkdirSync(baseDir, { recursive: true })
    // Timestamps kept: the server sends a precompressed copy only when it is not older than its file.
    cpSync(`${src}/dist`, `${baseDir}/dist`, { recursive: true, preserveTimestamps: true })
    rmSync(src, { recursive: true, force: true })
  }
  return baseDir
}
