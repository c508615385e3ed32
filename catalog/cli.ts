// `npm run catalog -- --data <dir> --model <model dir> --out <pack dir> [...]`: builds a catalog pack
// (docs/catalog-pack.md). The command's entry is eval/catalog-cli.ts, which hands main() the tuning step
// (eval/tune.ts: catalog/ builds, eval/ evaluates); main() without one builds the pack untuned.

import { UsageError, usageErrors } from '../node/usage'
import { parseArgs } from 'node:util'
import { ENCODINGS, parseEncoding, type Encoding } from '../node/input'
import { loadModel, type LoadedModel } from '../node/model-node'
import type { PackTuning } from '../src/pack/format'
import { buildPack } from './build'

/** The step that chooses a new pack's `tuning` on the store's valid split (eval/tune-cli.ts), given the staged pack. */
export type TuneStep = (o: {
  /** The finished pack in its staging folder. */
  staged: string
  data: string
  model: string
  /** The model, when the build loaded it (text vectors); else the step loads it. */
  loaded?: LoadedModel
  threads: number
  encoding: Encoding
  maxUsers?: number
  /** true: the store's adaptation of the user vector is trained and competes (--adapt). */
  adapt: boolean
  log: (line: string) => void
}) => Promise<PackTuning | undefined>

export const USAGE = `usage:
  npm run catalog -- --data <dir> --model <model dir> --out <pack dir>
                     [--name NAME] [--items-per-shard N] [--text-vectors int8|none]
                     [--memory-limit 3GB] [--threads 2] [--encoding utf-8|latin1] [--force]
                     [--no-tune] [--tune-users 2000] [--adapt]
  npm run catalog -- --aggregates <dir> --model <model dir> --out <pack dir> [--name NAME] [...]
  --data: items.jsonl + valid.inter (eval's format; \`npm run eval -- convert\` makes it from an events CSV)
  --aggregates: Parquet + inpage-aggregates.json made elsewhere (Spark: training/inpage_train/spark_pack.py,
                or a warehouse query; docs/catalog-pack.md); its settings must be the model's
  --items-per-shard: the dense layout (format 1, ~N items a file, every shard written); without it the
                     sparse layout (format 2: about one item a file, so a page downloads close to its records' bytes)
  --force: replaces --out only when it holds a pack (nothing else); the new pack is moved in when complete
  tuning (the default with --data): the blend (kNN weight and decay, the user model's decay and prior) chosen on
             valid.inter's shoppers when there are at least 1,000 of them and it gains at least 1 % on their
             full ranking and category pages, written into pack.json's \`tuning\`; --no-tune keeps the model's;
             --tune-users: shoppers scored at most (spread evenly), the step's time budget
  --adapt: tuning also trains a low-rank update of the user vector on the store's training histories and keeps it
             only where it wins on valid (its step, then the whole score); off by default: it gained on none of
             the stores measured (README) and adds minutes to the build`

export { UsageError }
const usage = usageErrors(USAGE)

const FLAGS = {
  data: { type: 'string' },
  aggregates: { type: 'string' },
  model: { type: 'string' },
  out: { type: 'string' },
  name: { type: 'string' },
  'items-per-shard': { type: 'string' },
  'text-vectors': { type: 'string' },
  'memory-limit': { type: 'string' },
  threads: { type: 'string' },
  encoding: { type: 'string' },
  force: { type: 'boolean' },
  'no-tune': { type: 'boolean' },
  'tune-users': { type: 'string' },
  adapt: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

const int = (v: string | undefined, flag: string, d: number) => {
  if (v === undefined) return d
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) throw usage(`--${flag} takes a positive whole number, got ${JSON.stringify(v)}`)
  return n
}

export async function main(argv: string[], tuneStep?: TuneStep) {
  let values: Record<string, string | boolean | undefined>
  try {
    ;({ values } = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }))
  } catch (e) {
    throw usage((e as Error).message)
  }
  if (values.help) return console.log(USAGE)
  const ext = typeof values.aggregates === 'string'
  if (ext && values.data !== undefined) throw usage('--data and --aggregates do not go together')
  if (ext && values['text-vectors'] !== undefined) throw usage('--text-vectors: with --aggregates the text vectors are the Parquet\'s (or none)')
  for (const k of [ext ? 'aggregates' : 'data', 'model', 'out'] as const) if (typeof values[k] !== 'string') throw usage(`--${k} is required`)
  const tv = ext ? 'none' : ((values['text-vectors'] as string | undefined) ?? 'int8')
  if (tv !== 'int8' && tv !== 'none') throw usage(`--text-vectors is int8 or none, got ${JSON.stringify(tv)}`)
  // Every flag is checked before anything is loaded.
  const threads = int(values.threads as string | undefined, 'threads', 2)
  const itemsPerShard = values['items-per-shard'] === undefined ? undefined : int(values['items-per-shard'] as string, 'items-per-shard', 16)
  const encoding = parseEncoding((values.encoding as string | undefined) ?? 'utf-8')
  if (!encoding) throw usage(`--encoding is one of ${ENCODINGS.join(', ')}, got ${JSON.stringify(values.encoding)}`)
  const noTune = values['no-tune'] === true
  if (noTune && values['tune-users'] !== undefined) throw usage('--tune-users and --no-tune do not go together')
  if (noTune && values.adapt === true) throw usage('--adapt and --no-tune do not go together (the adaptation is part of tuning)')
  const tuneUsers = values['tune-users'] === undefined ? undefined : int(values['tune-users'] as string, 'tune-users', 2000)
  const log = (l: string) => console.log(`catalog: ${l}`)
  // Tuning scores the store's valid split: aggregates made elsewhere come without one.
  const tuning = noTune || !tuneStep ? undefined : ext ? (log('not tuned: --aggregates holds no valid split; tune with `npm run eval -- tune --data <dir> --catalog <pack>`'), undefined) : tuneStep
  // The encoder is loaded once the builder has checked the inputs (`ready`), so a bad one fails at once.
  let loaded: LoadedModel | undefined
  try {
    const report = await buildPack({
      data: values.data as string | undefined,
      aggregates: values.aggregates as string | undefined,
      model: values.model as string,
      out: values.out as string,
      name: values.name as string | undefined,
      ...(itemsPerShard !== undefined ? { itemsPerShard } : {}),
      textVectors: tv,
      memoryLimit: values['memory-limit'] as string | undefined,
      threads,
      force: values.force === true,
      encoding,
      ...(tv === 'int8'
        ? {
            ready: async () => void (loaded = await loadModel(values.model as string, { threads })),
            encode: (texts: string[]) => loaded!.model.encode(texts),
          }
        : {}),
      ...(tuning
        ? { tune: (staged: string) => tuning({ staged, data: values.data as string, model: values.model as string, loaded, threads, encoding, maxUsers: tuneUsers, adapt: values.adapt === true, log }) }
        : {}),
      log,
    })
    const m = report.manifest
    console.log(
      `catalog: wrote ${values.out}: pack ${m.name}@${m.version} for ${m.model}, ${m.items} items, ${m.shards.count} shards${m.shards.sparse ? ` (sparse: ${report.files} files)` : ''}, ${(report.bytes / 1e6).toFixed(1)} MB; ` +
        `aggregate ${report.seconds.aggregate.toFixed(1)} s, encode ${report.seconds.encode.toFixed(1)} s (${(report.encodedItems / Math.max(report.seconds.encode, 1e-9)).toFixed(0)} items/s), ` +
        `${tuning ? `tune ${report.seconds.tune.toFixed(1)} s, ` : ''}total ${report.seconds.total.toFixed(1)} s, peak RSS ${report.peakRssMB.toFixed(0)} MB`,
    )
    if (tuning) {
      const t = m.tuning
      log(
        t
          ? `tuned on ${t.chosenOn.users} valid shoppers (+${(100 * t.chosenOn.gain).toFixed(1)} % on valid): ${t.knn ? `kNN weight ${t.knn.weight}, decay ${t.knn.decay}` : ''}${t.next ? `; next items weight ${t.next.weight}, decay ${t.next.decay}` : ''}${t.user ? `; user decay ${t.user.decay}, prior ${t.user.prior}` : ''}${t.adapt ? `; user vector adapted (rank ${t.adapt.rank})` : ''} in pack.json`
          : "not tuned: pack.json keeps the model's settings (the tuning line above says why)",
      )
    } else if (noTune) log("not tuned (--no-tune): pack.json keeps the model's settings")
    // To pin the pack on a page (SECURITY.md, threat model): a pack.json with any other key is refused.
    const k = m.signature.publicKey
    console.log(`catalog: pin it: catalog: { url: '<where you serve it>/', publicKey: ${JSON.stringify({ kty: k.kty, crv: k.crv, x: k.x, y: k.y })} }`)
  } finally {
    await loaded?.model.release()
  }
}
