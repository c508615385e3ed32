// Reading the store's text files (events CSV, items JSONL, .inter) for the CLIs: bytes are decoded
// strictly (a byte that is not of the declared encoding is an error naming the file and line, never a
// U+FFFD that silently merges two ids), and every problem is an InputError whose message is one line,
// `<file>:<line>: <what>`, which scripts/run-ts.mjs prints as `error: …`.

import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs'

export class InputError extends Error {
  override name = 'InputError'
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    what: string,
  ) {
    super(`${file}${line !== undefined ? `:${line}` : ''}: ${what}`)
  }
}

/** The encodings `--encoding` accepts. 'latin1' is read as windows-1252 (WHATWG, which is what files
 * called Latin-1 almost always are: the same bytes plus € … in 0x80–0x9F). */
export const ENCODINGS = ['utf-8', 'latin1', 'windows-1252'] as const
export type Encoding = (typeof ENCODINGS)[number]

/** A `--encoding` value, or undefined (not one we read). Case and `utf8`/`cp1252`/`iso-8859-1` spellings accepted. */
export function parseEncoding(v: string): Encoding | undefined {
  const s = v.trim().toLowerCase()
  if (s === 'utf-8' || s === 'utf8') return 'utf-8'
  if (s === 'latin1' || s === 'latin-1' || s === 'iso-8859-1' || s === 'iso8859-1') return 'latin1'
  if (s === 'windows-1252' || s === 'cp1252') return 'windows-1252'
  return undefined
}

// ignoreBOM: a leading byte order mark is stripped once per file here, never inside a line (an id may start with U+FEFF).
const decoder = (enc: Encoding) => new TextDecoder(enc === 'utf-8' ? 'utf-8' : 'windows-1252', { fatal: true, ignoreBOM: true })

const UTF8_BOM = [0xef, 0xbb, 0xbf]
const startsWith = (b: Uint8Array, p: number[]) => p.every((x, i) => b[i] === x)

function checkStart(file: string, b: Uint8Array, enc: Encoding): number {
  if (startsWith(b, [0xff, 0xfe]) || startsWith(b, [0xfe, 0xff]))
    throw new InputError(file, 1, 'starts with a UTF-16 byte order mark: save it as UTF-8 (or Latin-1 with --encoding latin1)')
  if (startsWith(b, UTF8_BOM)) {
    if (enc !== 'utf-8') throw new InputError(file, 1, `starts with a UTF-8 byte order mark but --encoding is ${enc}`)
    return 3
  }
  return 0
}

/** Where the first byte that is not UTF-8 is: its line (1-based), column (1-based, in bytes) and value. */
function firstBadUtf8(b: Uint8Array, from: number): { line: number; column: number; byte: number } {
  const d = decoder('utf-8')
  let line = 1
  let start = from
  for (;;) {
    let end = b.indexOf(10, start)
    if (end < 0) end = b.length
    try {
      d.decode(b.subarray(start, end))
    } catch {
      // A multi-byte sequence never holds 0x0A, so the bad bytes are in this line: walk its sequences.
      for (let i = start; i < end; ) {
        const c = b[i]!
        if (c < 0x80) {
          i++
          continue
        }
        const more = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1
        let ok = more > 0 && i + more < end
        if (ok)
          try {
            d.decode(b.subarray(i, i + more + 1))
          } catch {
            ok = false
          }
        if (!ok) return { line, column: i - start + 1, byte: c }
        i += more + 1
      }
    }
    if (end >= b.length) return { line, column: 1, byte: 0 }
    line++
    start = end + 1
  }
}

const notUtf8 = (file: string, at: { line: number; column: number; byte: number }) =>
  new InputError(
    file,
    at.line,
    `not UTF-8 (byte 0x${at.byte.toString(16).toUpperCase().padStart(2, '0')} at column ${at.column}); if the file is Latin-1 or Windows-1252, pass --encoding latin1`,
  )

/** Decodes a whole file's bytes; a leading UTF-8 byte order mark is dropped. */
export function decodeText(file: string, b: Uint8Array, enc: Encoding = 'utf-8'): string {
  const from = checkStart(file, b, enc)
  try {
    return decoder(enc).decode(b.subarray(from))
  } catch {
    throw notUtf8(file, firstBadUtf8(b, from))
  }
}

/** A file that must exist and be a file, else an InputError (not Node's ENOENT dump). */
export function checkFile(file: string, what = 'file'): void {
  let st
  try {
    st = statSync(file)
  } catch {
    throw new InputError(file, undefined, `no such ${what}`)
  }
  if (!st.isFile()) throw new InputError(file, undefined, `is not a file`)
}

/** A whole text file, strictly decoded. */
export function readText(file: string, enc: Encoding = 'utf-8'): string {
  checkFile(file)
  return decodeText(file, readFileSync(file), enc)
}

/**
 * Calls `each(line, n)` for every line of a file (n 1-based; '\n' or '\r\n' ends a line), reading it a
 * chunk at a time: memory stays bounded whatever the file's size (the training histories may be large).
 */
export function eachLine(file: string, enc: Encoding, each: (line: string, n: number) => void): void {
  checkFile(file)
  const d = decoder(enc)
  const fd = openSync(file, 'r')
  try {
    const buf = Buffer.alloc(1 << 20)
    let carry: Buffer = Buffer.alloc(0)
    let n = 0
    let first = true
    const emit = (s: string) => {
      n++
      each(s.endsWith('\r') ? s.slice(0, -1) : s, n)
    }
    // Whole lines of a chunk are decoded at once (a line never splits a character); only when that fails
    // is the chunk decoded line by line, to name the line.
    const decodeLines = (bytes: Buffer): string => {
      try {
        return d.decode(bytes)
      } catch {
        const at = firstBadUtf8(bytes, 0)
        throw notUtf8(file, { ...at, line: n + at.line })
      }
    }
    for (;;) {
      const got = readSync(fd, buf, 0, buf.length, null)
      let chunk: Buffer = carry.length ? Buffer.concat([carry, buf.subarray(0, got)]) : buf.subarray(0, got)
      if (first && (chunk.length >= 3 || got === 0)) {
        first = false
        chunk = chunk.subarray(checkStart(file, chunk, enc))
      } else if (first) {
        carry = Buffer.from(chunk)
        continue
      }
      if (got === 0) {
        if (chunk.length) emit(decodeLines(chunk))
        return
      }
      const last = chunk.lastIndexOf(10)
      if (last < 0) {
        carry = Buffer.from(chunk)
        continue
      }
      const lines = decodeLines(chunk.subarray(0, last)).split('\n')
      for (const l of lines) emit(l)
      carry = Buffer.from(chunk.subarray(last + 1))
    }
  } finally {
    closeSync(fd)
  }
}
