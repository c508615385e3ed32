// inpage/vite's dev middleware on hostile paths, and its options. (The plugin building a real app, from the
// packed tarball, is in e2e/package.spec.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brotliCompressSync } from 'node:zlib'
import { inpage, inpageUrls, serveAssets } from '../tools/vite.mjs'

let dir = ''
let server: Server
let origin = ''

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'inpage-vite-'))
  mkdirSync(join(dir, 'site/ort'), { recursive: true })
  writeFileSync(join(dir, 'secret.txt'), 'outside')
  writeFileSync(join(dir, 'site/inpage.js'), 'export {}\n'.repeat(200))
  writeFileSync(join(dir, 'site/inpage.js.br'), brotliCompressSync('export {}\n'.repeat(200)))
  const mw = serveAssets(join(dir, 'site'), '/inpage/')
  server = createServer((req, res) => mw(req, res, () => void res.writeHead(404).end('next')))
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})
afterAll(() => {
  server?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('inpage/vite', () => {
  it('serves a file under base, as its .br copy when the request takes br', async () => {
    const plain = await fetch(`${origin}/inpage/inpage.js`, { headers: { 'accept-encoding': 'identity' } })
    expect(plain.status).toBe(200)
    expect(plain.headers.get('content-type')).toBe('text/javascript')
    expect((await plain.text()).length).toBe(2000)
    const br = await fetch(`${origin}/inpage/inpage.js`, { headers: { 'accept-encoding': 'gzip, br' } })
    expect(br.headers.get('content-encoding')).toBe('br')
    expect((await br.text()).length).toBe(2000) // fetch decodes it
  })

  it('never serves outside its folder, a .br name directly, or a path outside base', async () => {
    for (const path of ['/inpage/../secret.txt', '/inpage/%2e%2e/secret.txt', '/inpage/..%2fsecret.txt', '/inpage/inpage.js.br', '/inpage/ort', '/inpage/%zz', '/other/inpage.js', '/inpage.js']) {
      const r = await fetch(`${origin}${path}`)
      expect(await r.text(), path).toBe('next')
    }
  })

  it('refuses a base that is not plain path segments', () => {
    for (const base of ['inpage/', '/inpage', '/../x/', '/a b/', 'https://cdn/x/'])
      expect(() => inpage({ base }), base).toThrow(expect.objectContaining({ name: 'InPagePluginError' }))
    expect(inpage({ base: '/static/inpage/' }).name).toBe('inpage')
    expect(inpageUrls('/static/')).toEqual({ model: '/static/models/inpage-general-v1/', wasmPaths: '/static/ort/' })
  })
})
