// The command lines of eval (eval/cli.ts via eval/run.mjs) and bench (bench/run.mjs): strict flags, a
// usage message, exit code 2 for a misspelt flag, before any work starts.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { USAGE, UsageError, main, parseCommand } from '../eval/cli'

const run = (script: string, args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 })

describe('eval command line', () => {
  it('refuses a misspelt flag with the usage message', () => {
    for (const argv of [['--dat', 'x'], ['--data', 'x', '--protocl', 'full'], ['convert', '--event', 'e.csv', '--items', 'i', '--out', 'o'], ['--data', 'x', 'stray']]) {
      let err: unknown
      try {
        parseCommand(argv)
      } catch (e) {
        err = e
      }
      expect(err, argv.join(' ')).toBeInstanceOf(UsageError)
      expect((err as Error).message).toContain(USAGE)
    }
  })
  it('reads the documented flags, and a flag that wants a number gets one', async () => {
    expect(parseCommand(['--data', 'd', '--users', '5', '--no-exclude-history', '--grid'])).toEqual({
      command: 'eval',
      flags: { data: 'd', users: '5', 'no-exclude-history': true, grid: true },
    })
    expect(parseCommand(['convert', '--events', 'e', '--items', 'i', '--out', 'o', '--min-events', '4'])).toMatchObject({ command: 'convert' })
    expect(parseCommand(['--help'])).toEqual({ command: 'help' })
    await expect(main(['--data', 'd', '--users', 'five'])).rejects.toThrow(/--users takes a number/)
    await expect(main(['--split', 'valid'])).rejects.toThrow(/--data <dir> is required/)
  })
  it('--catalog runs the model pack.json names; a pack of a model not shipped, or of a hostile name, asks for --model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inpage-eval-pack-model-'))
    const key = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }
    const pack = (model: string) =>
      writeFileSync(join(dir, 'pack.json'), JSON.stringify({ format: 'inpage-catalog-pack', formatVersion: 1, name: 'p', version: 'v', model, createdAt: '', items: 0, dims: { text: 384 }, textVectors: 'int8', shards: { count: 1, itemsPerShard: 16, hash: 'fnv1a32' }, signature: { alg: 'ECDSA-P256-SHA256', publicKey: key }, aggregates: {} }))
    try {
      await expect(main(['--data', 'd', '--catalog', join(dir, 'none')])).rejects.toThrow(/no pack\.json there/)
      for (const model of ['inpage-general-v1@0.9.0', 'my-model@1.0.0', '../../etc@1', '__proto__@1', '.hidden@1']) {
        pack(model)
        await expect(main(['--data', 'd', '--catalog', dir])).rejects.toThrow(/pass its folder with --model/)
      }
      // The shipped version: the model loads, then the (missing) data stops the run, after the pack's model was chosen.
      pack(`inpage-general-v1@${JSON.parse(readFileSync('public/models/inpage-general-v1/manifest.json', 'utf8')).version}`)
      await expect(main(['--data', join(dir, 'no-data'), '--catalog', dir])).rejects.toThrow(/no-data/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
  it('npm run eval: exit code 2 and the usage on stderr for a bad flag, 0 and the usage on stdout for --help', () => {
    const bad = run('scripts/run-ts.mjs', ['eval/cli.ts', '--data', 'x', '--protocl', 'full'])
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain("'--protocl'")
    expect(bad.stderr).toContain(USAGE)
    const help = run('scripts/run-ts.mjs', ['eval/cli.ts', '--help'])
    expect(help.status).toBe(0)
    expect(help.stdout).toContain(USAGE)
  }, 60_000)
})

describe('bench command line', () => {
  it('exit code 2 and the usage for an unknown flag or section, before the browser or server starts', () => {
    for (const [args, env] of [[['--onyl', 'rerank'], {}], [['--only', 'rerankk'], {}], [[], { BENCH_ONLY: 'nope' }]] as const) {
      const r = run('bench/run.mjs', [...args], env)
      expect(r.status, args.join(' ')).toBe(2)
      expect(r.stderr).toMatch(/^usage: npm run bench/m)
      expect(r.stdout).not.toContain('inpage static server') // nothing was started
    }
    const help = run('bench/run.mjs', ['--help'])
    expect(help.status).toBe(0)
    expect(help.stdout).toMatch(/^usage: npm run bench/)
  }, 60_000)
})

describe('catalog command line', () => {
  it('refuses unknown flags, missing ones and bad values with the usage (UsageError)', async () => {
    const { main: catalog, USAGE: CATALOG_USAGE } = await import('../catalog/cli')
    for (const argv of [['--data', 'd', '--model', 'm', '--out', 'o', '--shards', '3'], ['--data', 'd'], ['--data', 'd', '--model', 'm', '--out', 'o', '--text-vectors', 'fp16'], ['--data', 'd', '--model', 'm', '--out', 'o', '--items-per-shard', '0']])
      await expect(catalog(argv), argv.join(' ')).rejects.toMatchObject({ name: 'UsageError', message: expect.stringContaining(CATALOG_USAGE) })
  })
})
