// `npm run eval -- tune --data <dir> --catalog <pack dir>`: chooses the pack's scoring settings on the store's valid
// split (eval/tune.ts) and writes them into its pack.json (`tuning`); `npm run catalog` runs it after each build.

import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { checkPackManifest, type PackManifest } from '../src/pack/format'
import type { LoadedModel } from '../node/model-node'
import type { Encoding } from '../node/input'
import { setup } from './context'
import { tune, type TuneResult } from './tune'

/** Tunes the pack at `packDir` for the data at `dataDir` with `loaded` (the pack's model) and, unless `dryRun`, writes pack.json. */
export async function tunePack(dataDir: string, packDir: string, loaded: LoadedModel, opts: { encoding?: Encoding; maxUsers?: number; minUsers?: number; minGain?: number; dryRun?: boolean; log?: (s: string) => void } = {}): Promise<TuneResult> {
  const file = join(packDir, 'pack.json')
  const manifest = checkPackManifest(JSON.parse(readFileSync(file, 'utf8')))
  const running = `${loaded.model.manifest.name}@${loaded.model.manifest.version}`
  if (manifest.model !== running) throw new Error(`${file} was built with ${manifest.model}; tuning it with ${running} would choose settings the browser never uses`)
  // The settings are chosen from the model's own: a pack tuned before is scored without its old tuning.
  const untuned: PackManifest = { ...manifest }
  delete untuned.tuning
  const ctx = await setup(dataDir, loaded, ['valid'], { encoding: opts.encoding, catalog: packDir, log: opts.log })
  delete ctx.settings
  const result = tune(ctx, { maxUsers: opts.maxUsers, minUsers: opts.minUsers, minGain: opts.minGain, log: opts.log })
  if (!opts.dryRun) {
    const next = result.tuning ? { ...untuned, tuning: result.tuning } : untuned
    const tmp = `${file}.tmp-${process.pid}`
    writeFileSync(tmp, JSON.stringify(next, null, 2) + '\n')
    renameSync(tmp, file) // never a half-written pack.json
  }
  return result
}

export const TUNE_USAGE = `usage: npm run eval -- tune --data <dir> --catalog <pack dir> [--model <dir>] [--users 2000] [--dry-run] [--encoding utf-8|latin1]`

export function parseTune(argv: readonly string[]) {
  const { values } = parseArgs({
    args: [...argv],
    options: { data: { type: 'string' }, catalog: { type: 'string' }, model: { type: 'string' }, users: { type: 'string' }, 'dry-run': { type: 'boolean' }, encoding: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  })
  return values
}
