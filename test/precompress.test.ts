// Which copy of a file the servers send (scripts/precompress.mjs): the client's Accept-Encoding decides, and a
// copy older than its file is never sent (a retrained model must not be served stale).
import { describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { pickEncoding, precompressDir } from '../scripts/precompress.mjs'

describe('precompressed files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'inpage-precompress-'))
  const file = join(dir, 'model.onnx')
  const bytes = Buffer.from('inpage '.repeat(400))

  it('writes .br and .gz that decode to the same bytes, and leaves small files alone', async () => {
    writeFileSync(file, bytes)
    writeFileSync(join(dir, 'tiny.json'), '{}')
    const done = await precompressDir(dir, join(dir, '.cache'))
    expect(done).toEqual([file])
    expect(brotliDecompressSync(readFileSync(`${file}.br`)).equals(bytes)).toBe(true)
    expect(gunzipSync(readFileSync(`${file}.gz`)).equals(bytes)).toBe(true)
  })

  it('sends brotli, else gzip, else the file, as Accept-Encoding allows', () => {
    expect(pickEncoding(file, 'gzip, deflate, br, zstd')).toEqual({ file: `${file}.br`, encoding: 'br' })
    expect(pickEncoding(file, 'gzip, deflate')).toEqual({ file: `${file}.gz`, encoding: 'gzip' })
    expect(pickEncoding(file, 'br;q=0, gzip')).toEqual({ file: `${file}.gz`, encoding: 'gzip' })
    expect(pickEncoding(file, 'identity')).toEqual({ file, encoding: undefined })
    expect(pickEncoding(file, undefined)).toEqual({ file, encoding: undefined })
  })

  it('never sends a copy older than its file', () => {
    const later = new Date(Date.now() + 60_000)
    utimesSync(file, later, later)
    expect(pickEncoding(file, 'br, gzip')).toEqual({ file, encoding: undefined })
  })
})
