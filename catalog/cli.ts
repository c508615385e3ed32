// `npm run catalog -- --data <dir> --model <model dir> --out <pack dir> [...]`: builds a catalog pack
// (docs/catalog-pack.md). Run by scripts/run-ts.mjs.

import { UsageError, usageErrors } from '../node/usage'
import { parseArgs } from 'node:util'
import { ENCODINGS, parseEncoding } from '../node/input'
import { loadModel, type LoadedModel } from '../node/model-node'
import { buildPack } from './build'

export const USAGE = `usage:
  npm run catalog -- --data <dir> --model <model dir> --out <pack dir>
                     [--name NAME] [--items-per-shard N] [--text-vectors int8|none]
                     [--memory-limit 3GB] [--threads 2] [--encoding utf-8|latin1] [--force]
  npm run catalog -- --aggregates <dir> --model <model dir> --out <pack dir> [--name NAME] [...]
  --data: items.jsonl + valid.inter (eval's format; \`npm run eval -- convert\` makes it from an events CSV)
  --aggregates: Parquet + inpage-aggregates.json made elsewhere (Spark: training/inpage_train/spark_pack.py,
                or a warehouse query; docs/catalog-pack.md); its settings must be the model's
  --items-per-shard: the dense layout (format 1, ~N items a file, every shard written); without it the
                     sparse layout (format 2: about one item a file, so a page downloads close to its records' bytes)
  --force: replaces --out only when it holds a pack (nothing else); the new pack is moved in when complete`

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
  help: { type: 'boolean', short: 'h' },
} as const

const int = (v: string | undefined, flag: string, d: number) => {
  if (v === undefined) return d
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) throw usage(`--${flag} takes a positive whole number, got ${JSON.stringify(v)}`)
  return n
}

export async function main(argv: string[]) {
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
      log: (l) => console.log(`catalog: ${l}`),
    })
    const m = report.manifest
    console.log(
      `catalog: wrote ${values.out}: pack ${m.name}@${m.version} for ${m.model}, ${m.items} items, ${m.shards.count} shards${m.shards.sparse ? ` (sparse: ${report.files} files)` : ''}, ${(report.bytes / 1e6).toFixed(1)} MB; ` +
        `aggregate ${report.seconds.aggregate.toFixed(1)} s, encode ${report.seconds.encode.toFixed(1)} s (${(report.encodedItems / Math.max(report.seconds.encode, 1e-9)).toFixed(0)} items/s), ` +
        `total ${report.seconds.total.toFixed(1)} s, peak RSS ${report.peakRssMB.toFixed(0)} MB`,
    )
    // To pin the pack on a page (SECURITY.md, threat model): a pack.json with any other key is refused.
    const k = m.signature.publicKey
    console.log(`catalog: pin it: catalog: { url: '<where you serve it>/', publicKey: ${JSON.stringify({ kty: k.kty, crv: k.crv, x: k.x, y: k.y })} }`)
  } finally {
    await loaded?.model.release()
  }
}
