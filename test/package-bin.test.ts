// The package's command line (bin/inpage.mjs) on bad input: what it refuses before it reads anything of the
// build. The verbs themselves run from the packed tarball in e2e/package.spec.ts.
import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkPeers, PeerMissingError, VERB_PEERS } from '../bin/peers.mjs'

const inpage = (args: string[], cwd = process.cwd()) => {
  const r = spawnSync(process.execPath, [join(process.cwd(), 'bin/inpage.mjs'), ...args], { cwd, encoding: 'utf8' })
  return { status: r.status, out: r.stdout, err: r.stderr }
}

describe('optional peers', () => {
  it('names the install command for exactly the missing ones', () => {
    const only = (present: string[]) => (name: string) => {
      if (!present.includes(name)) throw new Error(`Cannot find package '${name}'`)
    }
    expect(() => checkPeers('catalog', only([]))).toThrow(/npm install @duckdb\/node-api onnxruntime-node$/)
    expect(() => checkPeers('catalog', only(['onnxruntime-node']))).toThrow(/needs @duckdb\/node-api \(optional peer dependency of inpage\): npm install @duckdb\/node-api$/)
    expect(() => checkPeers('eval', only([]))).toThrow(PeerMissingError)
    expect(() => checkPeers('catalog', only(['@duckdb/node-api', 'onnxruntime-node']))).not.toThrow()
    expect(() => checkPeers('convert', only([]))).not.toThrow()
    expect(() => checkPeers('assets', only([]))).not.toThrow()
    try {
      checkPeers('eval', only([]))
    } catch (e) {
      expect((e as Error).name).toBe('PeerMissingError')
    }
  })

  it('the optional peers are the verbs\' engines and React (inpage/react), each a dev dependency here', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as Record<string, Record<string, unknown>>
    const peers = new Set(Object.values(VERB_PEERS).flat())
    expect([...peers, 'react'].sort()).toEqual(Object.keys(pkg.peerDependencies!).sort())
    for (const p of [...peers, 'react']) {
      expect(pkg.peerDependenciesMeta![p]).toEqual({ optional: true })
      expect(pkg.devDependencies![p]).toBeTruthy()
    }
  })
})

describe('bin/inpage.mjs on a bad command line', () => {
  it('an unknown verb or a missing folder is a usage error (exit 2)', () => {
    const unknown = inpage(['frobnicate'])
    expect(unknown.status).toBe(2)
    expect(unknown.err).toContain('unknown verb "frobnicate"')
    expect(unknown.err).toContain('usage: npx inpage')
    expect(inpage(['assets']).status).toBe(2)
    expect(inpage(['assets', 'a', 'b']).status).toBe(2)
    expect(inpage(['assets', 'a', '--bogus']).status).toBe(2)
    expect(inpage([]).status).toBe(0)
  })

  it('assets refuses a --base that is not a URL path, since it is printed into an HTML tag', () => {
    const dir = mkdtempSync(join(tmpdir(), 'inpage-bin-'))
    try {
      for (const base of ['javascript:alert(1)/', '/x/"><script>alert(1)</script>/', 'inpage/', '/a/../b/', 'http://cdn.example/x/']) {
        const r = inpage(['assets', join(dir, 'site'), '--base', base])
        expect(r.status, base).toBe(2)
        expect(r.err).toContain('--base is a URL path')
      }
      expect(existsSync(join(dir, 'site'))).toBe(false)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('assets refuses a symbolic link or a file as its folder, or as a folder inside it, and writes nothing there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'inpage-bin-'))
    try {
      const elsewhere = join(dir, 'elsewhere')
      mkdirSync(elsewhere)
      symlinkSync(elsewhere, join(dir, 'link'))
      const link = inpage(['assets', join(dir, 'link')])
      expect(link.status).toBe(1)
      expect(link.err).toMatch(/^error: .*link is not a directory \(a symbolic link or a file is refused\)/)
      writeFileSync(join(dir, 'file'), 'x')
      expect(inpage(['assets', join(dir, 'file')]).status).toBe(1)
      // A link planted where assets writes ORT's files.
      mkdirSync(join(dir, 'site'))
      symlinkSync(elsewhere, join(dir, 'site/ort'))
      const planted = inpage(['assets', join(dir, 'site')])
      expect(planted.status).toBe(1)
      expect(planted.err).toContain('ort is not a directory')
      expect(readdirSync(elsewhere)).toEqual([])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
