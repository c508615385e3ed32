// The store-side CLIs (`npm run catalog`, `npm run eval -- convert`) against careless and hostile input
// (issue 22): nothing is destroyed before every input is checked, and then only a pack; ids are kept
// exactly (`__proto__`, `constructor`, tabs); bytes that are not the declared encoding are refused with
// the file and line; malformed files give one line `<file>:<line>: <what>`, never a parser dump.
// Inputs are generated here, small, in a temporary folder; the CLIs run for real (scripts/run-ts.mjs).
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { snapshot } from './helpers'
import { afterAll, describe, expect, it } from 'vitest'
import { buildPack } from '../catalog/build'
import { openPack } from '../catalog/read'
import { convertFiles } from '../node/convert'
import { loadDataset, readItems } from '../node/data'
import { splitShardFile, type PackManifest, type Shard } from '../src/pack/format'

const MODEL = 'public/models/inpage-sci-v1'
const tmp = mkdtempSync(join(tmpdir(), 'inpage-cli-hostile-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
let seq = 0
const fresh = (name: string) => {
  const d = join(tmp, `${name}-${seq++}`)
  mkdirSync(d, { recursive: true })
  return d
}

/** A data folder in eval's format: items.jsonl (ids as given) and valid.inter (histories as item indices). */
function dataFolder(ids: readonly string[], histories: readonly (readonly number[])[], name = 'store'): string {
  const d = join(fresh('data'), name)
  mkdirSync(d)
  writeFileSync(join(d, 'items.jsonl'), ids.map((asin, item) => JSON.stringify({ item, asin, title: `Thing ${item}`, brand: null, categories: ['Root', 'Leaf'], description: null })).join('\n') + '\n')
  writeFileSync(join(d, 'valid.inter'), ['user_id:token\titem_id_list:token_seq\titem_id:token', ...histories.map((h, u) => `${u}\t${h.join(' ')}\t0`)].join('\n') + '\n')
  return d
}
const IDS = Array.from({ length: 20 }, (_, i) => `sku-${i}`)
const HIST = [[0, 1, 2], [0, 1, 3], [1, 0], [5, 6, 5, 6], [7, 8, 9]]


const build = (data: string, out: string, more: Partial<Parameters<typeof buildPack>[0]> = {}) =>
  buildPack({ data, model: MODEL, out, textVectors: 'none', itemsPerShard: 4, ...more })

/** An existing pack at `<parent>/<name>`, as a store has it deployed. */
async function existingPack(parent = fresh('site'), name = 'pack') {
  const out = join(parent, name)
  await build(dataFolder(IDS, HIST), out, { name: 'live' })
  return out
}

const cli = (script: string, args: string[]) => spawnSync(process.execPath, ['scripts/run-ts.mjs', script, ...args], { encoding: 'utf8', timeout: 60_000 })
const catalogCli = (args: string[]) => cli('eval/catalog-cli.ts', ['--model', MODEL, '--text-vectors', 'none', ...args])

/** The error's name and that its message is one line (no parser dump, no stack). */
async function failure(p: Promise<unknown> | (() => unknown)): Promise<Error> {
  let err: unknown
  try {
    await (typeof p === 'function' ? p() : p)
  } catch (e) {
    err = e
  }
  expect(err, 'expected a failure').toBeInstanceOf(Error)
  const e = err as Error
  expect(e.message.split('\n')).toHaveLength(1)
  return e
}

describe('catalog: nothing destroyed before every input is checked, and then only a pack', () => {
  it('a mistyped --data with --force leaves the pack as it was (the CLI says which file, in one line)', async () => {
    const out = await existingPack()
    const before = snapshot(out)
    const r = catalogCli(['--data', join(tmp, 'no-such-data'), '--out', out, '--force'])
    expect(existsSync(out) && snapshot(out)).toEqual(before)
    expect(r.status).toBe(1)
    expect(r.stderr.trim().split('\n')).toEqual([`error: ${join(tmp, 'no-such-data', 'items.jsonl')}: no such file`])
  }, 60_000)

  it('--force on a model folder, a folder of other packs, a non-pack folder or a pack with other files: refused, untouched', async () => {
    const data = dataFolder(IDS, HIST)
    // A model folder (a copy: its manifest and a file beside it).
    const model = fresh('model')
    copyFileSync(join(MODEL, 'manifest.json'), join(model, 'manifest.json'))
    copyFileSync(join(MODEL, 'config.json'), join(model, 'config.json'))
    // A folder holding two stores' packs.
    const packs = fresh('packs')
    await existingPack(packs, 'acme')
    await existingPack(packs, 'globex')
    // A site folder with other files.
    const site = fresh('site')
    writeFileSync(join(site, 'index.html'), '<h1>shop</h1>')
    // A pack someone put a file beside.
    const mixed = await existingPack()
    writeFileSync(join(mixed, 'robots.txt'), 'User-agent: *')
    for (const [out, why] of [
      [model, /holds manifest\.json \(a model folder\?\)/],
      [packs, /holds "acme" and 1 more and no pack\.json/],
      [site, /holds "index\.html" and no pack\.json/],
      [mixed, /holds a pack and "robots\.txt"/],
    ] as const) {
      const before = snapshot(out)
      const e = await failure(build(data, out, { force: true }))
      expect(e.name, out).toBe('OutputError')
      expect(e.message).toMatch(why)
      expect(e.message).toContain('never replaced (--force or not)')
      expect(snapshot(out), out).toEqual(before)
    }
    // A symbolic link to a pack: refused (the pack it points to is not replaced through it).
    const target = await existingPack()
    const link = join(fresh('site'), 'pack')
    symlinkSync(target, link)
    const linked = snapshot(target)
    expect((await failure(build(data, link, { force: true }))).message).toBe(`${link}: is a symbolic link: pass the folder it points to`)
    expect(snapshot(target)).toEqual(linked)
    // The CLI: one line on stderr, exit 1, the model as it was.
    const before = snapshot(model)
    const r = catalogCli(['--data', data, '--out', model, '--force'])
    expect(r.status).toBe(1)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^error: .*holds manifest\.json \(a model folder\?\): not a catalog pack/)
    expect(snapshot(model)).toEqual(before)
  }, 60_000)

  it('a build that fails midway (the encoder, bad histories, a bad items line) leaves the old pack intact and no staging folder', async () => {
    const parent = fresh('site')
    const out = await existingPack(parent)
    const before = snapshot(out)
    let calls = 0
    const encode = async (texts: string[]) => {
      if (++calls === 2) throw Object.assign(new Error('encoder ran out of memory'), { name: 'EncoderError' })
      return texts.map(() => new Float32Array(384).fill(0.5))
    }
    // Half the shards are written, then the encoder fails.
    const e = await failure(build(dataFolder(IDS, HIST), out, { force: true, textVectors: 'int8', encode, batchShards: 1 }))
    expect(e.message).toBe('encoder ran out of memory')
    expect(calls).toBe(2)
    expect(snapshot(out)).toEqual(before)
    // Histories with a line DuckDB would choke on, and an items line that is not JSON.
    const badInter = dataFolder(IDS, HIST)
    writeFileSync(join(badInter, 'valid.inter'), readFileSync(join(badInter, 'valid.inter'), 'utf8') + '9\t1 two 3\t4\n')
    // (The encoder is loaded in `ready`, once every input is checked: never for these.)
    let readied = 0
    const ready = async () => void readied++
    expect((await failure(build(badInter, out, { force: true, ready }))).name).toBe('InputError')
    const badItems = dataFolder(IDS, HIST)
    writeFileSync(join(badItems, 'items.jsonl'), readFileSync(join(badItems, 'items.jsonl'), 'utf8') + '{"item": 20, "asin": "x",\n')
    expect((await failure(build(badItems, out, { force: true, ready }))).name).toBe('InputError')
    expect(readied).toBe(0)
    expect(snapshot(out)).toEqual(before)
    expect(readdirSync(parent)).toEqual(['pack'])
    // A good build replaces it (new key, new version), still nothing left beside.
    const old = JSON.parse(before['pack.json']!) as PackManifest
    const r = await build(dataFolder(IDS, HIST), out, { force: true })
    expect(r.manifest.version).not.toBe(old.version)
    expect((JSON.parse(readFileSync(join(out, 'pack.json'), 'utf8')) as PackManifest).version).toBe(r.manifest.version)
    expect(readdirSync(parent)).toEqual(['pack'])
  }, 60_000)

  it('a pack without --force, and a bad --name or --memory-limit, are refused before anything is read or written; an empty folder is fine', async () => {
    const out = await existingPack()
    const before = snapshot(out)
    expect((await failure(build(dataFolder(IDS, HIST), out))).message).toMatch(/holds a pack: pass --force to replace it$/)
    expect((await failure(build(dataFolder(IDS, HIST), out, { force: true, name: 'a@b' }))).message).toMatch(/^--name: "a@b" is not a pack name/)
    expect((await failure(build(dataFolder(IDS, HIST), out, { force: true, memoryLimit: "1GB'; COPY x TO 'y" }))).message).toMatch(/^--memory-limit: .* is not a size/)
    expect(snapshot(out)).toEqual(before)
    const empty = fresh('empty')
    await build(dataFolder(IDS, HIST), empty)
    expect(existsSync(join(empty, 'pack.json'))).toBe(true)
  }, 60_000)

  it('convert writes only a new or empty folder, or its own earlier output', () => {
    const input = fresh('input')
    writeFileSync(join(input, 'events.csv'), 'user,item,timestamp\nu1,a,1\nu1,b,2\nu1,c,3\n')
    writeFileSync(join(input, 'items.jsonl'), '{"id":"a"}\n')
    const model = fresh('model')
    copyFileSync(join(MODEL, 'manifest.json'), join(model, 'manifest.json'))
    const before = snapshot(model)
    expect(() => convertFiles(join(input, 'events.csv'), join(input, 'items.jsonl'), model)).toThrow(/holds "manifest\.json", which this command does not write/)
    expect(snapshot(model)).toEqual(before)
    const out = join(fresh('conv'), 'data')
    convertFiles(join(input, 'events.csv'), join(input, 'items.jsonl'), out)
    convertFiles(join(input, 'events.csv'), join(input, 'items.jsonl'), out) // again: its own files
    expect(readdirSync(out).sort()).toEqual(['item2index', 'items.jsonl', 'test.inter', 'train.inter', 'user2index', 'valid.inter'])
  })
})

describe('ids are kept exactly', () => {
  const ODD = ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf', 'tab\there', 'line\nbreak', ' spaced ', 'ünï', '']
  it('__proto__, constructor, toString, a tab or a newline: each is one item in the shards, with its neighbours, and read back by openPack', async () => {
    const ids = [...ODD.filter(Boolean), ...IDS.slice(0, 22 - ODD.filter(Boolean).length)]
    expect(ids).toHaveLength(22)
    // __proto__ (0) and constructor (1) bought together by three shoppers: each is the other's neighbour.
    const out = join(fresh('site'), 'pack')
    const r = await build(dataFolder(ids, [[0, 1, 2], [1, 0, 3], [0, 1], [5, 6, 7]]), out)
    expect(r.manifest.items).toBe(22)
    const inShards = new Map<string, Shard['items'][string]>()
    for (const f of readdirSync(join(out, 'shards'))) {
      const items = (JSON.parse(splitShardFile(readFileSync(join(out, 'shards', f), 'utf8')).json) as Shard).items
      for (const id of Object.keys(items)) {
        expect(inShards.has(id), id).toBe(false)
        inShards.set(id, items[id]!)
      }
    }
    expect([...inShards.keys()].sort()).toEqual([...ids].sort())
    expect(inShards.get('__proto__')).toMatchObject({ p: 3, n: [['constructor', expect.any(Number)]] })
    const pack = openPack(out)
    for (const id of ids) expect(pack.record(id), JSON.stringify(id)).toBeDefined()
    expect(pack.item('constructor')!.neighbors[0]![0]).toBe('__proto__')
    expect(pack.record('tab\there')!.p).toBe(1)
    for (const absent of ['isPrototypeOf', 'tab here', 'line break', 'nope']) expect(pack.record(absent), absent).toBeUndefined()
  }, 60_000)

  it('through convert and eval\'s reader: the same ids, each its own item', () => {
    const input = fresh('input')
    const csvId = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s)
    const odd = ['__proto__', 'constructor', 'hasOwnProperty', 'toString']
    writeFileSync(join(input, 'events.csv'), ['user,item,timestamp', ...odd.flatMap((id, k) => [0, 1, 2].map((j) => `${csvId(odd[(k + j) % 4]!)},${csvId(id)},${j}`))].join('\n') + '\n')
    writeFileSync(join(input, 'items.jsonl'), odd.map((id) => JSON.stringify({ id, title: `T ${id}` })).join('\n') + '\n')
    const out = join(fresh('conv'), 'odd')
    const stats = convertFiles(join(input, 'events.csv'), join(input, 'items.jsonl'), out)
    expect(stats).toMatchObject({ users: 4, items: 4, itemsWithoutMetadata: 0 })
    const ds = loadDataset(out, ['test'])
    expect(ds.items.map((r) => r.asin).sort()).toEqual([...odd].sort())
    expect(ds.items.find((r) => r.asin === '__proto__')!.title).toBe('T __proto__')
  })
})

describe('text that is not the declared encoding is refused with the file and line', () => {
  const latin1 = (s: string) => Buffer.from(s, 'latin1')
  it('eval convert: a Latin-1 events CSV is refused at its line; with --encoding latin1 café1 and cafè1 stay two items', () => {
    const input = fresh('input')
    const events = join(input, 'events.csv')
    const items = join(input, 'items.jsonl')
    writeFileSync(events, latin1('user,item,timestamp\nu1,café1,1\nu1,cafè1,2\nu1,tea,3\nu2,café1,1\nu2,tea,2\nu2,cafè1,3\n'))
    writeFileSync(items, latin1('{"id":"café1","title":"Café au lait"}\n{"id":"cafè1","title":"Cafè"}\n{"id":"tea","title":"Tea"}\n'))
    const out = join(fresh('conv'), 'latin')
    let e: Error | undefined
    try {
      convertFiles(events, items, out)
    } catch (err) {
      e = err as Error
    }
    expect(e?.name).toBe('InputError')
    expect(e?.message).toBe(`${events}:2: not UTF-8 (byte 0xE9 at column 7); if the file is Latin-1 or Windows-1252, pass --encoding latin1`)
    expect(existsSync(out)).toBe(false)
    const stats = convertFiles(events, items, out, { encoding: 'latin1' })
    expect(stats.items).toBe(3)
    const ds = loadDataset(out, [])
    expect(ds.items.map((r) => r.asin).sort()).toEqual(['cafè1', 'café1', 'tea'])
    expect(ds.items.find((r) => r.asin === 'café1')!.title).toBe('Café au lait')
    // The written folder is UTF-8 whatever the input was.
    expect(readFileSync(join(out, 'items.jsonl'), 'utf8')).toContain('"asin":"café1"')
  })

  it('an encoding the CLIs do not read is a usage error', async () => {
    const { main } = await import('../eval/cli')
    await expect(main(['convert', '--events', 'e', '--items', 'i', '--out', 'o', '--encoding', 'utf-16'])).rejects.toMatchObject({ name: 'UsageError', message: expect.stringContaining('--encoding is one of utf-8, latin1, windows-1252') })
    const { main: catalog } = await import('../catalog/cli')
    await expect(catalog(['--data', 'd', '--model', 'm', '--out', 'o', '--encoding', 'ebcdic'])).rejects.toMatchObject({ name: 'UsageError' })
  })

  it('npm run eval -- convert: exit 1 and one line naming file and line; --encoding latin1 converts', () => {
    const input = fresh('input')
    const events = join(input, 'events.csv')
    writeFileSync(events, latin1('user,item,timestamp\nu1,a,1\nu1,b,2\nu1,Ñ,3\n'))
    writeFileSync(join(input, 'items.jsonl'), '{"id":"a"}\n')
    const out = join(fresh('conv'), 'o')
    const bad = cli('eval/cli.ts', ['convert', '--events', events, '--items', join(input, 'items.jsonl'), '--out', out])
    expect(bad.status).toBe(1)
    expect(bad.stderr.trim().split('\n')).toEqual([`error: ${events}:4: not UTF-8 (byte 0xD1 at column 4); if the file is Latin-1 or Windows-1252, pass --encoding latin1`])
    const ok = cli('eval/cli.ts', ['convert', '--events', events, '--items', join(input, 'items.jsonl'), '--out', out, '--encoding', 'latin1'])
    expect(ok.stderr).toBe('')
    expect(ok.status).toBe(0)
    expect(readFileSync(join(out, 'items.jsonl'), 'utf8')).toContain('"asin":"Ñ"')
  }, 60_000)

  it("catalog: a Latin-1 items.jsonl or valid.inter is refused at its line; with encoding latin1 the ids stay distinct in the shards", async () => {
    const data = dataFolder(['café1', 'cafè1', ...IDS.slice(2)], HIST)
    const utf8 = readFileSync(join(data, 'items.jsonl'), 'utf8')
    writeFileSync(join(data, 'items.jsonl'), latin1(utf8))
    const out = join(fresh('site'), 'pack')
    const e = await failure(build(data, out))
    expect(e.name).toBe('InputError')
    expect(e.message).toMatch(new RegExp(`^${join(data, 'items.jsonl').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1: not UTF-8 \\(byte 0xE9`))
    expect(existsSync(out)).toBe(false)
    await build(data, out, { encoding: 'latin1' })
    const pack = openPack(out)
    expect(pack.record('café1')).toBeDefined()
    expect(pack.record('cafè1')).toBeDefined()
    expect(pack.manifest.items).toBe(20)
    // A Latin-1 byte in the histories (a user token): refused at its line, before DuckDB reads it.
    const inter = dataFolder(IDS, HIST)
    writeFileSync(join(inter, 'valid.inter'), Buffer.concat([readFileSync(join(inter, 'valid.inter')), latin1('josé\t1 2\t3\n')]))
    expect((await failure(build(inter, join(fresh('site'), 'pack')))).message).toBe(
      `${join(inter, 'valid.inter')}:7: not UTF-8 (byte 0xE9 at column 4); if the file is Latin-1 or Windows-1252, pass --encoding latin1`,
    )
  }, 60_000)

  it('large histories are read in chunks: the line number is right past the first chunk, and a UTF-16 file is named as such', async () => {
    const lines = ['user_id:token\titem_id_list:token_seq\titem_id:token']
    for (let u = 0; u < 120_000; u++) lines.push(`user-ü-${u}\t${u % 20} ${(u + 1) % 20}\t${(u + 2) % 20}`) // ~3 MB, multi-byte chars across chunk edges
    lines[100_000] = `b\xe9d\t1\t2`
    const data = dataFolder(IDS, [])
    writeFileSync(join(data, 'valid.inter'), Buffer.concat(lines.map((l, i) => Buffer.from(l + '\n', i === 100_000 ? 'latin1' : 'utf8'))))
    expect((await failure(build(data, join(fresh('site'), 'pack')))).message).toMatch(/valid\.inter:100001: not UTF-8 \(byte 0xE9 at column 2\)/)
    lines[100_000] = 'ok\t1\t2'
    writeFileSync(join(data, 'valid.inter'), lines.join('\n') + '\n')
    const r = await build(data, join(fresh('site'), 'pack'))
    expect(r.manifest.aggregates.users).toBe(120_000)
    writeFileSync(join(data, 'items.jsonl'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"item":0}\n', 'utf16le')]))
    expect((await failure(build(data, join(fresh('site'), 'pack')))).message).toMatch(/items\.jsonl:1: starts with a UTF-16 byte order mark/)
  }, 120_000)
})

describe('empty or malformed input: one line naming file and line', () => {
  const convertWith = (events: string, items: string) => {
    const input = fresh('input')
    writeFileSync(join(input, 'events.csv'), events)
    writeFileSync(join(input, 'items.jsonl'), items)
    return { run: () => convertFiles(join(input, 'events.csv'), join(input, 'items.jsonl'), join(fresh('conv'), 'o')), input }
  }
  const ITEMS = '{"id":"a"}\n{"id":"b"}\n'
  const EVENTS = 'user,item,timestamp\nu1,a,1\nu1,b,2\nu1,a,3\n'

  it('eval convert: events and items files', async () => {
    const cases: [string, string, string, RegExp][] = [
      ['empty events file', '', ITEMS, /events\.csv:1: empty: the header line/],
      ['header missing', 'u1,a,1\nu1,b,2\n', ITEMS, /events\.csv:1: the header needs a "user" column/],
      ['wrong column count', 'user,item,timestamp\nu1,a,1\nu1,b\n', ITEMS, /events\.csv:3: 2 fields, the header has 3/],
      ['missing item', 'user,item,timestamp\nu1,a,1\n\nu1,,2\n', ITEMS, /events\.csv:4: user and item are required/],
      ['non-numeric timestamp', 'user,item,timestamp\nu1,a,1\nu1,b,yesterday-ish\n', ITEMS, /events\.csv:3: timestamp "yesterday-ish" is neither a number nor a date/],
      ['unclosed quote', 'user,item,timestamp\nu1,a,1\nu1,"b,2\nu1,a,3\n', ITEMS, /events\.csv:3: a quoted field never closes/],
      ['bad JSON line', EVENTS, '{"id":"a"}\n{"id": "b",\n', /items\.jsonl:2: not JSON \(/],
      ['missing id', EVENTS, '{"id":"a"}\n\n{"title":"no id"}\n', /items\.jsonl:3: "id" is required/],
      ['not an object', EVENTS, '{"id":"a"}\n[1,2]\n', /items\.jsonl:2: not a JSON object/],
      ['repeated id', EVENTS, '{"id":"a"}\n{"id":"b"}\n{"id":"a"}\n', /items\.jsonl:3: id "a" is already on line 1/],
      ['title of the wrong type', EVENTS, '{"id":"a","title":{"en":"x"}}\n', /items\.jsonl:1: "title" must be a string/],
    ]
    for (const [what, events, items, msg] of cases) {
      const c = convertWith(events, items)
      const e = await failure(c.run)
      expect(e.name, what).toBe('InputError')
      expect(e.message, what).toMatch(msg)
      expect(e.message.startsWith(c.input), what).toBe(true)
    }
  })

  it('a byte order mark and CRLF line ends are read as plain UTF-8 (same result as without)', () => {
    const crlf = (s: string) => s.replace(/\n/g, '\r\n')
    const plain = convertWith(EVENTS, ITEMS)
    plain.run()
    const a = convertWith('\uFEFF' + crlf(EVENTS), '\uFEFF' + crlf(ITEMS))
    const outA = join(fresh('conv'), 'o')
    const outB = join(fresh('conv'), 'o')
    convertFiles(join(a.input, 'events.csv'), join(a.input, 'items.jsonl'), outA)
    convertFiles(join(plain.input, 'events.csv'), join(plain.input, 'items.jsonl'), outB)
    expect(snapshot(outA)).toEqual(snapshot(outB))
  })

  it('catalog: items.jsonl, valid.inter and the model manifest', async () => {
    const inter = (lines: string) => {
      const d = dataFolder(IDS, [])
      writeFileSync(join(d, 'valid.inter'), lines)
      return d
    }
    const items = (text: string) => {
      const d = dataFolder(IDS, HIST)
      writeFileSync(join(d, 'items.jsonl'), text)
      return d
    }
    const H = 'user_id:token\titem_id_list:token_seq\titem_id:token\n'
    const cases: [string, string, RegExp][] = [
      ['empty valid.inter', inter(''), /valid\.inter:1: empty: the header line/],
      ['valid.inter without its header', inter('0\t1 2\t3\n'), /valid\.inter:1: not a \.inter file: the first line should be its header/],
      ['two fields', inter(`${H}0\t1 2\t3\n1\t4 5\n`), /valid\.inter:3: expected 3 tab-separated fields \(user, history, target\), got 2/],
      ['a non-numeric item', inter(`${H}0\t1 x2\t3\n`), /valid\.inter:2: history item "x2" is not an item index/],
      ['an index past the catalog', inter(`${H}0\t1 2\t3\r\n1\t4 20\t3\r\n`), /valid\.inter:3: history item 20 is not in items\.jsonl \(20 items\)/],
      ['empty items.jsonl', items(''), /items\.jsonl:1: no items/],
      ['items line not JSON', items('{"item":0,"asin":"a"}\n{"item":1,"asin":"b"\n'), /items\.jsonl:2: not JSON/],
      ['item index missing', items('{"item":0,"asin":"a"}\n{"asin":"b"}\n'), /items\.jsonl:2: "item" \(the index, a whole number\) is required/],
      ['repeated store id', items('{"item":0,"asin":"a"}\n{"item":1,"asin":"a"}\n'), /items\.jsonl:2: id "a" is already on line 1/],
      ['a gap in the indices', items('{"item":0,"asin":"a"}\n{"item":2,"asin":"b"}\n'), /items\.jsonl:2: item indices must be 0\.\.n-1 \(1 is missing\)/],
    ]
    for (const [what, data, msg] of cases) {
      const e = await failure(build(data, join(fresh('site'), 'pack')))
      expect(e.name, what).toBe('InputError')
      expect(e.message, what).toMatch(msg)
    }
    const model = fresh('model')
    writeFileSync(join(model, 'manifest.json'), '{"name": "m",')
    expect((await failure(build(dataFolder(IDS, HIST), join(fresh('site'), 'pack'), { model }))).message).toMatch(/manifest\.json: not a model manifest \(/)
    // CRLF histories build the same pack as LF ones.
    const crlf = dataFolder(IDS, HIST)
    writeFileSync(join(crlf, 'valid.inter'), readFileSync(join(crlf, 'valid.inter'), 'utf8').replace(/\n/g, '\r\n'))
    writeFileSync(join(crlf, 'items.jsonl'), '\uFEFF' + readFileSync(join(crlf, 'items.jsonl'), 'utf8').replace(/\n/g, '\r\n'))
    const a = join(fresh('site'), 'pack')
    const b = join(fresh('site'), 'pack')
    await build(crlf, a)
    await build(dataFolder(IDS, HIST), b)
    const shards = (d: string) => readdirSync(join(d, 'shards')).map((f) => splitShardFile(readFileSync(join(d, 'shards', f), 'utf8')).json)
    expect(shards(a)).toEqual(shards(b))
  }, 60_000)

  it('a store without events yet (a header-only CSV) or with empty histories still gets a pack', async () => {
    const c = convertWith('user,item,timestamp\r\n', '{"id":"a","title":"A"}\n{"id":"b","title":"B"}\n')
    const data = join(fresh('conv'), 'data')
    convertFiles(join(c.input, 'events.csv'), join(c.input, 'items.jsonl'), data)
    const r = await build(data, join(fresh('site'), 'pack'))
    expect(r.manifest).toMatchObject({ items: 2, aggregates: { users: 0, events: 0 } })
    const blank = dataFolder(IDS, [[], []])
    expect((await build(blank, join(fresh('site'), 'pack'))).manifest).toMatchObject({ items: 20, aggregates: { events: 0 } })
  }, 60_000)

  it('npm run catalog on a broken valid.inter: exit 1, one line, no DuckDB dump', () => {
    const d = dataFolder(IDS, HIST)
    writeFileSync(join(d, 'valid.inter'), 'user_id:token\titem_id_list:token_seq\titem_id:token\n0\t1 2\t3\n1\t"4 5\t6\n')
    const r = catalogCli(['--data', d, '--out', join(fresh('site'), 'pack')])
    expect(r.status).toBe(1)
    expect(r.stderr.trim().split('\n')).toEqual([`error: ${join(d, 'valid.inter')}:3: history item "\\"4" is not an item index (a whole number)`])
  }, 60_000)
})

// The readers are exercised above; this keeps the one with no CLI of its own honest about odd ids too.
it('readItems keeps __proto__ and constructor as ordinary ids', () => {
  const items = readItems('{"item":1,"asin":"constructor"}\n{"item":0,"asin":"__proto__"}\n', 'x.jsonl')
  expect(items.map((r) => r.asin)).toEqual(['__proto__', 'constructor'])
})
