// `npx inpage uplift`: the package's command line (bin/inpage.mjs, package.json "bin", over dist/cli/), run as
// npx runs it. The statistics themselves are tested in test/uplift.test.ts.
import { test, expect } from '@playwright/test'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const bin = (JSON.parse(readFileSync('package.json', 'utf8')) as { bin: { inpage: string } }).bin.inpage
const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 })

test('npx inpage uplift: a report from an export; a bad command line exits 2 with the usage', () => {
  expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true)
  const rows = ['event,shopper,variant']
  // 300 shoppers per arm; the personalized arm selects twice as often.
  for (let i = 0; i < 600; i++) {
    const arm = i % 2 ? 'personalized' : 'holdout'
    rows.push(`view_item_list,s${i},${arm}`, `view_item_list,s${i},${arm}`)
    if (arm === 'personalized' ? i % 5 < 2 : i % 10 === 0) rows.push(`select_item,s${i},${arm}`)
    if (i % 7 === 0) rows.push(`purchase,s${i},`)
  }
  const file = join(mkdtempSync(join(tmpdir(), 'uplift-cli-')), 'export.csv')
  writeFileSync(file, rows.join('\n'))
  const ok = run(['uplift', '--events', file])
  expect(ok.status, ok.stderr).toBe(0)
  expect(ok.stdout).toMatch(/\| personalized \| 300 \| 600 \|/)
  expect(ok.stdout).toMatch(/\| CTR \| .*\| significant \|/)
  const bad = run(['uplift', '--event', file])
  expect(bad.status).toBe(2)
  expect(bad.stderr).toContain('usage:')
  const unknown = run(['upload'])
  expect(unknown.status).toBe(2)
  const missing = run(['uplift', '--events', join(tmpdir(), 'no-such-export.csv')])
  expect(missing.status).toBe(1)
  expect(missing.stderr).toContain('ENOENT')
})
