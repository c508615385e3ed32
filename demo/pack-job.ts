// One catalog-pack build for the demo's store server, run in its own process by demo/packs.ts
// (`node scripts/run-ts.mjs demo/pack-job.ts …`), so the server keeps answering while DuckDB and the
// shard writer work: what a store runs as `npm run eval -- convert` then `npm run catalog`. Prints its
// progress one line at a time on stdout.
//   --data DIR --out DIR --name ID --model DIR --text-vectors none|int8 [--events CSV --items JSONL] [--vector-cache DIR]
// With --items, converts the store's files (node/convert.ts) into DIR first. Text vectors are cached in
// --vector-cache (default: text-vectors/ beside --out), so a rebuild encodes only new texts.
import { createHash } from 'node:crypto'
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { buildPack } from '../catalog/build'
import { convertFiles, type ConvertStats } from '../node/convert'

/**
 * The model's encoder behind a cache of the vectors it made, one file per encoder (its sha256) in `dir`:
 * a rebuild (new pack code, new aggregates, the other store) encodes only texts it has not seen, instead
 * of minutes of encoding on 2 cores. Each entry: the text's sha256 (16 bytes), then `d` float32s.
 */
export function cachedEncoder(file: string, d: number, encode: (texts: string[]) => Promise<Float32Array[]>) {
  const KEY = 16
  const entry = KEY + 4 * d
  const known = new Map<string, Float32Array>()
  if (existsSync(file)) {
    const b = readFileSync(file)
    // A torn last entry (a build killed while appending) is left out.
    for (let o = 0; o + entry <= b.length; o += entry) {
      const v = new Float32Array(d)
      new Uint8Array(v.buffer).set(b.subarray(o + KEY, o + entry))
      known.set(b.subarray(o, o + KEY).toString('hex'), v)
    }
  }
  mkdirSync(dirname(file), { recursive: true })
  const keyOf = (t: string) => createHash('sha256').update(t).digest().subarray(0, KEY)
  let hits = 0
  return {
    get hits() {
      return hits
    },
    async encode(texts: string[]): Promise<Float32Array[]> {
      const keys = texts.map((t) => keyOf(t).toString('hex'))
      const missing = texts.filter((_, i) => !known.has(keys[i]!))
      hits += texts.length - missing.length
      const todo = [...new Set(missing)]
      if (todo.length) {
        const made = await encode(todo)
        const out = Buffer.alloc(todo.length * entry)
        todo.forEach((t, i) => {
          const k = keyOf(t)
          known.set(k.toString('hex'), made[i]!)
          k.copy(out, i * entry)
          Buffer.from(made[i]!.buffer, made[i]!.byteOffset, 4 * d).copy(out, i * entry + KEY)
        })
        appendFileSync(file, out)
      }
      return keys.map((k) => known.get(k)!)
    },
  }
}

export async function main(args: string[]) {
  const { values: v } = parseArgs({
    args,
    options: {
      data: { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      model: { type: 'string' },
      'text-vectors': { type: 'string' },
      events: { type: 'string' },
      items: { type: 'string' },
      'vector-cache': { type: 'string' },
    },
  })
  if (!v.data || !v.out || !v.name || !v.model) throw new Error('pack-job: --data, --out, --name and --model are required')
  const textVectors = v['text-vectors'] === 'int8' ? 'int8' : 'none'
  const say = (line: string) => console.log(line)
  let converted: ConvertStats | undefined
  if (v.items) {
    if (!v.events) throw new Error('pack-job: --items needs --events (an empty CSV with its header is fine)')
    const s = convertFiles(v.events, v.items, v.data)
    converted = s
    say(`converted: ${s.items} items (${s.itemsWithoutEvents} without events), ${s.events} events of ${s.users} shoppers`)
    // Every event the conversion did not keep, by reason.
    if (s.droppedEvents) say(`dropped: ${s.droppedEvents} events of ${s.droppedUsers} shoppers with fewer than 3 events (a shopper needs a history, a validation and a test purchase)`)
    if (s.itemsWithoutMetadata) say(`kept: ${s.itemsWithoutMetadata} items of the events are not in the catalog file, titled by their id`)
  }
  let encoder: ReturnType<typeof cachedEncoder> | undefined
  let release = async () => {}
  if (textVectors === 'int8') {
    const { loadModel } = await import('../node/model-node')
    const loaded = await loadModel(v.model, { threads: 2 })
    encoder = cachedEncoder(join(v['vector-cache'] ?? join(v.out, '..', 'text-vectors'), `${loaded.encoderSha.slice(0, 16)}.bin`), loaded.model.dims.text, (t) => loaded.model.encode(t))
    release = () => loaded.model.release()
  }
  try {
    const r = await buildPack({ data: v.data, model: v.model, out: v.out, name: v.name, textVectors, force: true, log: say, ...(encoder ? { encode: encoder.encode } : {}) })
    say(`built ${v.name}@${r.manifest.version}: ${r.manifest.items} items, ${r.manifest.shards.count} shards, ${(r.bytes / 1e6).toFixed(1)} MB in ${r.seconds.total.toFixed(1)} s`)
    if (encoder) say(`text vectors: ${r.encodedItems - encoder.hits} encoded, ${encoder.hits} from the cache of earlier builds`)
    // Why the pack's event count is below the converted one: eval's split holds out each shopper's last two.
    if (converted && converted.events !== r.manifest.aggregates.events)
      say(`aggregates: ${r.manifest.aggregates.events} of the ${converted.events} events: the pack reads each shopper's history before their last two purchases, which eval holds out for validation and test (and at most the 50 most recent)`)
  } finally {
    await release()
  }
}
