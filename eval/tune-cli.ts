// The tuning step: chooses a pack's scoring settings on the store's valid split (eval/tune.ts) and writes them into
// its pack.json (`tuning`). `npm run catalog` runs it on each new pack before the pack is moved into place
// (eval/catalog-cli.ts); `npm run eval -- tune --data <dir> --catalog <pack dir>` runs it on a pack already built.

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { checkPackManifest, type PackManifest, type PackTuning } from '../src/pack/format'
import { loadModel, type LoadedModel } from '../node/model-node'
import { loadDataset } from '../node/data'
import type { Encoding } from '../node/input'
import { checkPackFolder, writePackJson } from '../catalog/out'
import type { TuneStep } from '../catalog/cli'
import { buildContext } from './context'
import { fewUsers, MIN_TUNE_USERS, tune, type TuneResult } from './tune'
import type { AdaptOptions } from './adapt'

export interface TuneOptions {
  encoding?: Encoding
  maxUsers?: number
  minUsers?: number
  minGain?: number
  minZ?: number
  /** Adaptation options: train the store's adaptation of the user vector (eval/adapt.ts); absent or false: none. */
  adapt?: AdaptOptions | false
  log?: (s: string) => void
}

/** What the step decided: a full TuneResult, or (too few shoppers: nothing was scored) why not. */
export type TuneOutcome = TuneResult | { tuning?: undefined; why: string; users: number; seconds: number }

/**
 * Chooses the tuning of the pack at `packDir` (its pack.json as it is: untuned, or with a tuning that is ignored) for
 * the data at `dataDir` with `loaded`, which must be the pack's model. Writes nothing. A store with fewer valid
 * shoppers than the threshold is told so before anything is encoded or scored.
 */
export async function chooseTuning(dataDir: string, packDir: string, loaded: LoadedModel, opts: TuneOptions = {}): Promise<TuneOutcome> {
  const t0 = performance.now()
  const file = join(packDir, 'pack.json')
  const manifest = checkPackManifest(JSON.parse(readFileSync(file, 'utf8')))
  const running = `${loaded.model.manifest.name}@${loaded.model.manifest.version}`
  if (manifest.model !== running) throw new Error(`${file} was built with ${manifest.model}; tuning it with ${running} would choose settings the browser never uses`)
  const ds = loadDataset(dataDir, ['valid'], opts.encoding)
  const n = ds.splits.valid!.length
  const minUsers = opts.minUsers ?? MIN_TUNE_USERS
  if (n < minUsers) {
    const why = fewUsers(n, minUsers)
    opts.log?.(`tuning: ${why}`)
    return { why, users: n, seconds: (performance.now() - t0) / 1000 }
  }
  const ctx = await buildContext(ds, loaded, { catalog: packDir, log: opts.log })
  // The settings are chosen from the model's own: a pack tuned before is scored without its old tuning.
  delete ctx.settings
  return tune(ctx, { maxUsers: opts.maxUsers, minUsers, minGain: opts.minGain, minZ: opts.minZ, adapt: opts.adapt, log: opts.log })
}

/**
 * `npm run eval -- tune`: tunes the pack at `packDir` (a folder that holds a pack and nothing else, as `--force`
 * requires) and, unless `dryRun`, writes its pack.json atomically: a failure before the rename leaves it as it was.
 */
export async function tunePack(dataDir: string, packDir: string, loaded: LoadedModel, opts: TuneOptions & { dryRun?: boolean } = {}): Promise<TuneOutcome> {
  checkPackFolder(packDir)
  const r = await chooseTuning(dataDir, packDir, loaded, opts)
  if (!opts.dryRun) {
    const manifest: PackManifest = checkPackManifest(JSON.parse(readFileSync(join(packDir, 'pack.json'), 'utf8')))
    delete manifest.tuning
    writePackJson(packDir, r.tuning ? { ...manifest, tuning: r.tuning } : manifest)
  }
  return r
}

/** `npm run catalog`'s tuning step (catalog/cli.ts calls it with the staged pack): the model the pack was built with. */
export const catalogTuneStep: TuneStep = async (o): Promise<PackTuning | undefined> => {
  // Without text vectors the catalog never loaded the encoder; the tuner needs the model either way.
  const loaded = o.loaded ?? (await loadModel(o.model, { threads: o.threads }))
  try {
    return (await chooseTuning(o.data, o.staged, loaded, { encoding: o.encoding, maxUsers: o.maxUsers, adapt: o.adapt ? {} : false, log: o.log })).tuning
  } finally {
    if (!o.loaded) await loaded.model.release()
  }
}

export const TUNE_USAGE = `usage: npm run eval -- tune --data <dir> --catalog <pack dir> [--model <dir>] [--users 2000] [--adapt] [--dry-run] [--encoding utf-8|latin1]`

export function parseTune(argv: readonly string[]) {
  const { values } = parseArgs({
    args: [...argv],
    options: { data: { type: 'string' }, catalog: { type: 'string' }, model: { type: 'string' }, users: { type: 'string' }, 'dry-run': { type: 'boolean' }, adapt: { type: 'boolean' }, encoding: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  })
  return values
}
