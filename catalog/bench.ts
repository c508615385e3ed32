// `npm run bench:catalog [-- --items 200000 --events 5000000 --encode-sample 2000] [--spark] [--full]`: builds a catalog pack
// for a generated catalog and reports wall time, peak memory and encoding throughput. `--spark` also times the
// Spark job (training/inpage_train/spark_pack.py, local mode) on the same generated store. `--full` times the whole
// `npm run catalog` as a store runs it (the general model's text vectors, then tuning) in its own process, against
// issue 26's budget: `-- --items 10000 --events 500000 --full` (≈ 50,000 shoppers) in ≤ 15 min on 2 cores. A
// benchmark, never part of `npm test`. Its figures stand against the budget of issue 14 (aggregation ≤ 10 min and
// ≤ 4 GB on this 2-core machine).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { cpus, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { loadModel } from '../node/model-node'
import { buildPack } from './build'

/** Zipf-like popularity: item k drawn with weight 1 / (k + 10)^0.8, the long tail of a real store. */
function sampler(n: number, seed: number) {
  let s = seed >>> 0
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32)
  const cdf = new Float64Array(n)
  let acc = 0
  for (let k = 0; k < n; k++) cdf[k] = acc += 1 / (k + 10) ** 0.8
  return {
    rand,
    item() {
      const x = rand() * acc
      let lo = 0
      let hi = n - 1
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (cdf[mid]! < x) lo = mid + 1
        else hi = mid
      }
      return lo
    },
  }
}

export async function main(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { items: { type: 'string' }, events: { type: 'string' }, 'encode-sample': { type: 'string' }, 'memory-limit': { type: 'string' }, spark: { type: 'boolean' }, 'spark-only': { type: 'boolean' }, 'spark-master': { type: 'string' }, 'spark-driver-memory': { type: 'string' }, 'spark-partitions': { type: 'string' }, 'spark-log': { type: 'string' }, full: { type: 'boolean' } },
  })
  const nItems = Number(values.items ?? 200_000)
  const nEvents = Number(values.events ?? 5_000_000)
  const sample = Number(values['encode-sample'] ?? 2000)
  const dir = mkdtempSync(join(tmpdir(), 'inpage-catalog-bench-'))
  try {
    // 1. A generated store: items with real-looking titles, shoppers with 4–16 events each.
    const t0 = performance.now()
    const words = ['nitrile', 'glove', 'beaker', 'flask', 'tape', 'epoxy', 'filter', 'pipette', 'sensor', 'clamp', 'valve', 'resistor', 'cable', 'magnet', 'scale']
    const items: string[] = []
    for (let i = 0; i < nItems; i++)
      items.push(JSON.stringify({ item: i, asin: `G${i}`, title: `${words[i % 15]} ${words[(i * 7) % 15]} model ${i}`, brand: `Brand ${i % 500}`, categories: ['Store', `Aisle ${i % 40}`, `Shelf ${i % 900}`], description: null }))
    writeFileSync(join(dir, 'items.jsonl'), items.join('\n') + '\n')
    const z = sampler(nItems, 7)
    const lines = ['user_id:token\titem_id_list:token_seq\titem_id:token']
    let events = 0
    let users = 0
    for (let u = 0; events < nEvents; u++, users++) {
      const len = Math.min(nEvents - events, 4 + Math.floor(z.rand() * 13))
      const h = Array.from({ length: len }, () => z.item())
      // The valid target (what tuning scores; the aggregates never read it): the next pick, from the same tail.
      lines.push(`${u}\t${h.join(' ')}\t${z.item()}`)
      events += len
    }
    writeFileSync(join(dir, 'valid.inter'), lines.join('\n') + '\n')
    lines.length = 0
    console.log(`generated ${nItems} items, ${events} events of ${users} shoppers in ${((performance.now() - t0) / 1000).toFixed(1)} s`)

    // 2. The pack's aggregates and shards (no text vectors: the browser or step 3 encodes).
    if (!values['spark-only']) {
      const cpu0 = process.cpuUsage()
      const agg = await buildPack({ data: dir, model: 'public/models/inpage-sci-v1', out: join(dir, 'pack'), textVectors: 'none', memoryLimit: values['memory-limit'] ?? '3GB', log: (l) => console.log(`  ${l}`) })
      console.log(
        `aggregate + write: ${agg.seconds.total.toFixed(1)} s wall (aggregate ${agg.seconds.aggregate.toFixed(1)} s), peak RSS ${agg.peakRssMB.toFixed(0)} MB, CPU ${((process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1e6).toFixed(0)} s, ` +
          `${agg.manifest.shards.count} shards (${agg.files} files), ${(agg.bytes / 1e6).toFixed(1)} MB (budget: ≤ 600 s, ≤ 4096 MB)`,
      )
    }

    // 2b. The same aggregation on Spark in local mode: wall time and the peak memory of its whole process tree.
    if (values.spark || values['spark-only']) {
      const r = spawnSync('training/.venv/bin/python', ['training/inpage_train/spark_bench.py', '--data', dir, '--model', 'public/models/inpage-sci-v1', '--master', values['spark-master'] ?? 'local[2]', '--driver-memory', values['spark-driver-memory'] ?? '3g', ...(values['spark-partitions'] ? ['--partitions', values['spark-partitions']] : []), ...(values['spark-log'] ? ['--log', values['spark-log']] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
      if (r.status !== 0) throw new Error(`spark_bench.py failed (${r.status})`)
      console.log(`spark: ${r.stdout.trim()}`)
    }

    if (values['spark-only']) return
    // 2c. `npm run catalog` itself, as a store runs it: the general model's text vectors, then the tuning step.
    if (values.full) {
      const load = loadavg()[0]!.toFixed(1)
      const t = performance.now()
      // Under bash for its `times`: the command's CPU time (user + system), which a shared machine's load does not inflate.
      const cmd = [process.execPath, 'scripts/run-ts.mjs', 'eval/catalog-cli.ts', '--data', dir, '--model', 'public/models/inpage-general-v1', '--out', join(dir, 'pack-full')]
      const r = spawnSync('bash', ['-c', '"$@"; rc=$?; times; exit $rc', 'bash', ...cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
      const wall = (performance.now() - t) / 1000
      const lines = r.stdout.trim().split('\n')
      const secs = (t: string) => {
        const m = /(\d+)m([\d.]+)s/.exec(t)
        return m ? 60 * Number(m[1]) + Number(m[2]) : NaN
      }
      const [user, sys] = (lines.pop() ?? '').split(' ').map(secs)
      lines.pop()
      console.log(lines.map((l) => `  ${l}`).join('\n'))
      if (r.status !== 0) throw new Error(`npm run catalog failed (${r.status})`)
      console.log(
        `npm run catalog (text vectors + tuning): ${wall.toFixed(0)} s wall, ${(user! + sys!).toFixed(0)} s CPU (user ${user!.toFixed(0)}, system ${sys!.toFixed(0)}) for ${nItems} items, ${users} shoppers ` +
          `on ${cpus().length} cores, load ${load} at the start, ${loadavg()[0]!.toFixed(1)} at the end (budget: ≤ 900 s)`,
      )
      return
    }
    // 3. Encoding throughput of the model's encoder in Node, on a sample (the full catalog at this rate is reported, not run).
    const loaded = await loadModel('public/models/inpage-sci-v1', { threads: 2 })
    const texts = items.slice(0, sample).map((l) => (JSON.parse(l) as { title: string }).title)
    const te = performance.now()
    await loaded.model.encode(texts)
    const perSec = sample / ((performance.now() - te) / 1000)
    await loaded.model.release()
    console.log(`encode: ${perSec.toFixed(0)} items/s (onnxruntime-node, 2 threads, ${sample} items); all ${nItems} items ≈ ${(nItems / perSec / 60).toFixed(1)} min`)
    console.log(`peak RSS of the whole run ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
