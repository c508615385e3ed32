// One catalog-pack build for the demo's store server, run in its own process by demo/packs.ts
// (`node scripts/run-ts.mjs demo/pack-job.ts …`), so the server keeps answering while DuckDB and the
// shard writer work: what a store runs as `npm run eval -- convert` then `npm run catalog`. Prints its
// progress one line at a time on stdout.
//   --data DIR --out DIR --name ID --model DIR --text-vectors none|int8 [--events CSV --items JSONL]
// With --items, converts the store's files (node/convert.ts) into DIR first.
import { parseArgs } from 'node:util'
import { buildPack } from '../catalog/build'
import { convertFiles, type ConvertStats } from '../node/convert'

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
  let encode: ((t: string[]) => Promise<Float32Array[]>) | undefined
  let release = async () => {}
  if (textVectors === 'int8') {
    const { loadModel } = await import('../node/model-node')
    const loaded = await loadModel(v.model, { threads: 2 })
    encode = (t) => loaded.model.encode(t)
    release = () => loaded.model.release()
  }
  try {
    const r = await buildPack({ data: v.data, model: v.model, out: v.out, name: v.name, textVectors, force: true, log: say, ...(encode ? { encode } : {}) })
    say(`built ${v.name}@${r.manifest.version}: ${r.manifest.items} items, ${r.manifest.shards.count} shards, ${(r.bytes / 1e6).toFixed(1)} MB in ${r.seconds.total.toFixed(1)} s`)
    // Why the pack's event count is below the converted one: eval's split holds out each shopper's last two.
    if (converted && converted.events !== r.manifest.aggregates.events)
      say(`aggregates: ${r.manifest.aggregates.events} of the ${converted.events} events: the pack reads each shopper's history before their last two purchases, which eval holds out for validation and test (and at most the 50 most recent)`)
  } finally {
    await release()
  }
}
