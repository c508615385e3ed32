// bench/baseline.mjs (a developer's tool, SECURITY.md): the baseline ref names folders it writes and removes, so a ref
// that is not a plain commit hash or tag is refused before anything is run, written or deleted.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
// @ts-expect-error: a plain .mjs module of the bench, without types
import { baselineDist } from '../bench/baseline.mjs'

describe('bench baseline ref', () => {
  it.each(['x/../../../etc', '../etc', '..', 'a/b', 'a b', '$(touch pwned)', '`id`', 'HEAD;rm -rf ~', '', '-rf', '.hidden'])('refuses %j before touching anything', (ref) => {
    // A folder the traversal would reach from the temporary folder's baseline name: it must survive.
    const victim = mkdtempSync(join(tmpdir(), 'inpage-victim-'))
    writeFileSync(join(victim, 'keep'), 'x')
    try {
      expect(() => baselineDist('/nonexistent-root/', ref)).toThrow(/give a commit hash or a tag/)
      expect(existsSync(join(victim, 'keep'))).toBe(true)
      expect(existsSync(join('bench/tmp', `baseline-${ref}`))).toBe(false)
    } finally {
      rmSync(victim, { recursive: true, force: true })
    }
  })
  it('reuses a baseline already built for a plain ref, building nothing', () => {
    const ref = `test-${process.pid}`
    mkdirSync(`bench/tmp/baseline-${ref}/dist`, { recursive: true })
    writeFileSync(`bench/tmp/baseline-${ref}/dist/inpage.js`, '')
    try {
      expect(baselineDist('/nonexistent-root/', ref)).toBe(`bench/tmp/baseline-${ref}`)
    } finally {
      rmSync(`bench/tmp/baseline-${ref}`, { recursive: true, force: true })
    }
  })
})
