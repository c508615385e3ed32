// The demo stores' catalog packs: built by the demo's store server with `buildPack` (catalog/build.ts,
// run by demo/pack-job.ts in a child process) into demo/.packs/<store>/ (gitignored), reused while the
// data and the model are the ones they were built from, and served at /packs/<store>/ with the isolation
// headers, as a store serves its pack.
//
// Text vectors: int8, made with the model's encoder in Node (onnxruntime-node), as `npm run catalog`
// makes them by default: the browser then encodes no catalog item (a page, the uplift view's replay of
// every test shopper). Encoding Beauty's 12,086 items takes minutes on 2 cores the first time; the vectors
// are cached in demo/.packs/text-vectors/, so a rebuild encodes only new texts.
// INPAGE_DEMO_TEXT_VECTORS=none builds packs without them (the browser encodes item text).
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { PackManifest } from '../src/pack/format.js'
import { ISOLATION_HEADERS } from '../scripts/headers.mjs'

const REPO = fileURLToPath(new URL('..', import.meta.url))
export const PACKS_DIR = fileURLToPath(new URL('.packs', import.meta.url))

export type TextVectors = 'int8' | 'none'

export function textVectorsSetting(): TextVectors {
  const v = process.env.INPAGE_DEMO_TEXT_VECTORS ?? 'int8'
  if (v !== 'int8' && v !== 'none') throw new Error(`INPAGE_DEMO_TEXT_VECTORS must be int8 or none (got ${v})`)
  return v
}

/** What a pack is built from: when this changes, the pack is built again. */
function buildKey(data: string, model: string, textVectors: TextVectors) {
  const digest = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex')
  return JSON.stringify({
    // The code that writes packs: a new format or new aggregates mean a new build.
    code: ['demo/pack-job.ts', 'catalog/build.ts', 'catalog/aggregate.ts', 'src/pack/format.ts'].map((f) => digest(join(REPO, f))),
    textVectors,
    model: digest(join(model, 'manifest.json')),
    items: digest(join(data, 'items.jsonl')),
    histories: digest(join(data, 'valid.inter')),
  })
}

export interface PackState {
  state: 'building' | 'ready' | 'error'
  /** The build's log lines, for the page's progress. */
  log: string[]
  manifest?: PackManifest
  /** Whether an existing pack was reused. */
  reused?: boolean
  error?: string
}

/** Runs demo/pack-job.ts; its stdout lines go to the log. */
function runJob(args: string[], say: (line: string) => void): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [join(REPO, 'scripts/run-ts.mjs'), 'demo/pack-job.ts', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] })
    createInterface({ input: child.stdout }).on('line', say)
    let err = ''
    child.stderr.on('data', (c: Buffer) => (err += c.toString()))
    child.on('error', fail)
    child.on('exit', (code) => (code === 0 ? ok() : fail(new Error(err.trim().split('\n').at(-1) || `pack job exited with ${code}`))))
  })
}

export interface PackSource {
  /** Data folder in eval's format (written by the job first when `convert` is given). */
  data: string
  model: string
  textVectors: TextVectors
  /** The store's own files, converted into `data` by the job (an upload). */
  convert?: { events: string; items: string }
}

/** Builds (or reuses) the pack of a store in demo/.packs/<id>/; `state` follows the build. */
export function ensurePack(id: string, src: PackSource, state: PackState): Promise<PackManifest> {
  const out = join(PACKS_DIR, id)
  const stamp = join(PACKS_DIR, `${id}.built.json`)
  const say = (line: string) => void state.log.push(line)
  const manifest = () => JSON.parse(readFileSync(join(out, 'pack.json'), 'utf8')) as PackManifest
  return (async () => {
    mkdirSync(PACKS_DIR, { recursive: true })
    if (!src.convert && existsSync(stamp) && existsSync(join(out, 'pack.json')) && readFileSync(stamp, 'utf8') === buildKey(src.data, src.model, src.textVectors)) {
      state.reused = true
      const m = manifest()
      say(`reused ${id}@${m.version}: built before from the same data and model`)
      return m
    }
    say(`building the pack of ${id} (text vectors: ${src.textVectors === 'none' ? 'none, the browser encodes item text' : 'int8, encoded here'})`)
    const args = ['--data', src.data, '--out', out, '--name', id, '--model', src.model, '--text-vectors', src.textVectors]
    if (src.convert) args.push('--events', src.convert.events, '--items', src.convert.items)
    await runJob(args, say)
    writeFileSync(stamp, buildKey(src.data, src.model, src.textVectors))
    return manifest()
  })().then(
    (m) => {
      state.manifest = m
      state.state = 'ready'
      return m
    },
    (e: Error) => {
      state.state = 'error'
      state.error = e.message
      say(`failed: ${e.message}`)
      throw e
    },
  )
}

/**
 * Middleware for /packs/<id>/pack.json and /packs/<id>/shards/<n>.json. A request for a pack still being
 * built waits for it; an unknown id or file is a 404.
 */
export function packFiles(ready: (id: string) => Promise<unknown> | undefined) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const path = (req.url ?? '').split('?')[0]!
    const m = /^\/packs\/([\w.-]+)\/(pack\.json|shards\/\d+\.json)$/.exec(path)
    if (!m) return next()
    const built = ready(m[1]!)
    const fail = (status: number, text: string) => {
      res.writeHead(status, { ...ISOLATION_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' })
      res.end(text)
    }
    if (!built) return fail(404, 'no such pack')
    built.then(
      () => {
        const file = join(PACKS_DIR, m[1]!, m[2]!)
        let size: number
        try {
          size = statSync(file).size
        } catch {
          return fail(404, 'no such file')
        }
        res.writeHead(200, { ...ISOLATION_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': size, 'Cache-Control': 'no-cache' })
        res.end(readFileSync(file))
      },
      (e: Error) => fail(503, `the pack could not be built: ${e.message}`),
    )
  }
}
