// The uplift report's statistics on generated data: it finds a known effect, it does not find one
// that is not there (at its stated 5 %), and its sample sizes give the power they promise.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { analyze, betaInc, clopperPearson, normalQuantile, readEvents, rng, sampleSizeProportions, sampleSizeRatio, upliftMain, type ArmData } from '../eval/uplift'
import { main as evalMain } from '../eval/cli'

interface Truth {
  ctr: number
  conversion: number
}

/**
 * Shoppers of one arm: 1-6 impressions each, a CTR of their own around the arm's (0.5x-1.5x: shoppers
 * differ, so selects cluster by shopper as in real data), a purchase with the arm's probability.
 */
function simulate(n: number, t: Truth, rand: () => number): ArmData {
  const d: ArmData = { impressions: new Float64Array(n), selects: new Float64Array(n), bought: new Uint8Array(n) }
  for (let i = 0; i < n; i++) {
    const imp = 1 + Math.floor(rand() * 6)
    const ctr = t.ctr * (0.5 + rand())
    let sel = 0
    for (let j = 0; j < imp; j++) if (rand() < ctr) sel++
    d.impressions[i] = imp
    d.selects[i] = sel
    d.bought[i] = rand() < t.conversion ? 1 : 0
  }
  return d
}

/** The same shoppers as an analytics export: one row per impression, select and purchase. */
function toCsv(arms: { personalized: ArmData; holdout: ArmData }): string {
  const rows = ['event,shopper,variant,list,item_id,position']
  for (const [arm, d] of Object.entries(arms))
    for (let i = 0; i < d.bought.length; i++) {
      const who = `${arm[0]}${i}`
      for (let j = 0; j < d.impressions[i]!; j++) rows.push(`view_item_list,${who},${arm},category,,`)
      for (let j = 0; j < d.selects[i]!; j++) rows.push(`select_item,${who},${arm},category,sku${j},${j}`)
      // The purchase row has no variant: the shopper's other rows give it.
      if (d.bought[i]) rows.push(`purchase,${who},,,sku0,`)
    }
  return rows.join('\n') + '\n'
}

describe('the statistics', () => {
  it('agrees with published values', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5)
    expect(normalQuantile(0.8)).toBeCloseTo(0.841621, 5)
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 5)
    expect(betaInc(0.5, 2, 3)).toBeCloseTo(0.6875, 10)
    // Clopper-Pearson for 5 of 20 (e.g. R's binom.test): 0.0866, 0.4910.
    const [lo, hi] = clopperPearson(5, 20)
    expect(lo).toBeCloseTo(0.08657, 4)
    expect(hi).toBeCloseTo(0.49105, 4)
    expect(clopperPearson(0, 10)[0]).toBe(0)
    expect(clopperPearson(10, 10)[1]).toBe(1)
    // Two proportions 10 % vs 15 %, equal arms: 1,372 in all by the textbook formula (686 per arm).
    expect(sampleSizeProportions(0.1, 0.5, 0.5)).toBeGreaterThanOrEqual(1370)
    expect(sampleSizeProportions(0.1, 0.5, 0.5)).toBeLessThanOrEqual(1374)
  })

  it('finds a known effect, read from an analytics export through the CLI', () => {
    const rand = rng(7)
    const arms = { personalized: simulate(16_000, { ctr: 0.12, conversion: 0.065 }, rand), holdout: simulate(4_000, { ctr: 0.1, conversion: 0.05 }, rand) }
    const dir = mkdtempSync(join(tmpdir(), 'uplift-'))
    const file = join(dir, 'export.csv')
    writeFileSync(file, toCsv(arms) + 'page_view,p1,,,,\n')
    let json = ''
    upliftMain(['--events', file, '--json', '--bootstrap', '1000'], (s) => (json += s))
    const r = JSON.parse(json)
    expect(r.arms.personalized.shoppers).toBe(16_000)
    expect(r.arms.holdout.shoppers).toBe(4_000)
    expect(r.read.ignoredRows).toBe(1)
    for (const [metric, truth] of [['ctr', 0.02], ['conversion', 0.015]] as const) {
      expect(r[metric].significant, metric).toBe(true)
      expect(r[metric].absolute.lo, metric).toBeGreaterThan(0)
      // The estimate is near the truth (its interval covers the truth 95 % of the time: see the next test).
      expect(Math.abs(r[metric].absolute.estimate - truth), metric).toBeLessThan(truth / 2)
    }
    // Same seed, same report; the markdown names both arms and the verdicts.
    let md = ''
    upliftMain(['--events', file, '--bootstrap', '1000'], (s) => (md += s))
    expect(md).toMatch(/\| personalized \| 16000 \|/)
    expect(md).toMatch(/\| CTR \| \+\d\.\d\d .*\| significant \|/)
    let again = ''
    upliftMain(['--events', file, '--json', '--bootstrap', '1000'], (s) => (again += s))
    expect(again).toBe(json)
  })

  it('false positives: with no effect, the 95 % interval excludes 0 in about 5 % of 400 experiments', () => {
    const rand = rng(11)
    const truth = { ctr: 0.1, conversion: 0.2 }
    let ctr = 0
    let conversion = 0
    const SIMS = 400
    for (let s = 0; s < SIMS; s++) {
      const r = analyze({ personalized: simulate(800, truth, rand), holdout: simulate(200, truth, rand) }, { bootstrap: 400, seed: s })
      if (r.ctr.significant) ctr++
      if (r.conversion.significant) conversion++
    }
    // Binomial sd of the rate at 5 % over 400 runs: 1.1 points; 3 sd either side.
    for (const [metric, n] of [['ctr', ctr], ['conversion', conversion]] as const) {
      expect(n / SIMS, metric).toBeGreaterThan(0.017)
      expect(n / SIMS, metric).toBeLessThan(0.083)
    }
  })

  it('the sample size it names gives about the power it names (80 %)', () => {
    const rand = rng(5)
    const base = { ctr: 0.1, conversion: 0.2 }
    const f = 0.2
    const nConv = sampleSizeProportions(base.conversion, 0.5, f)
    // The CTR's size needs the per-shopper variance: from a large pilot holdout.
    const nCtr = sampleSizeRatio(simulate(50_000, base, rand), 0.3, f)
    const SIMS = 300
    const found = { conversion: 0, ctr: 0 }
    for (let s = 0; s < SIMS; s++) {
      const c = analyze({ personalized: simulate(Math.round(nConv * (1 - f)), { ...base, conversion: 0.3 }, rand), holdout: simulate(Math.round(nConv * f), base, rand) }, { bootstrap: 300, seed: s })
      if (c.conversion.significant && c.conversion.absolute.estimate > 0) found.conversion++
      const t = analyze({ personalized: simulate(Math.round(nCtr * (1 - f)), { ...base, ctr: 0.13 }, rand), holdout: simulate(Math.round(nCtr * f), base, rand) }, { bootstrap: 300, seed: s })
      if (t.ctr.significant && t.ctr.absolute.estimate > 0) found.ctr++
    }
    // Binomial sd at 80 % over 300 runs: 2.3 points; 3.5 sd either side.
    for (const [metric, n] of Object.entries(found)) {
      expect(n / SIMS, metric).toBeGreaterThan(0.72)
      expect(n / SIMS, metric).toBeLessThan(0.88)
    }
  })
})

describe('the export and the command line', () => {
  it('refuses a file without the columns, or a bad variant, by name', () => {
    expect(() => readEvents('event,user\nimpression,u1\n')).toThrow(expect.objectContaining({ name: 'UpliftInputError', message: expect.stringContaining('"shopper"') }))
    expect(() => readEvents('event,shopper,variant\nimpression,u1,control\n')).toThrow(expect.objectContaining({ name: 'UpliftInputError' }))
    expect(() => readEvents('event,shopper,variant\nimpression,,holdout\n')).toThrow(expect.objectContaining({ name: 'UpliftInputError' }))
    expect(() => analyze(readEvents('event,shopper,variant\nimpression,u1,holdout\n').arms)).toThrow(/no shopper of the personalized arm/)
  })

  it('leaves out shoppers seen in both arms, and purchases of shoppers never assigned', () => {
    const r = readEvents(['Event,Shopper,Variant', 'impression,a,holdout', 'impression,a,personalized', 'purchase,b,', 'impression,c,personalized', 'purchase,c,'].join('\r\n'))
    expect(r.mixedShoppers).toBe(1)
    expect(r.unassignedShoppers).toBe(1)
    expect(Array.from(r.arms.personalized.bought)).toEqual([1])
    expect(r.arms.holdout.bought.length).toBe(0)
  })

  it('npm run eval -- uplift: strict flags with the usage', async () => {
    await expect(evalMain(['uplift', '--event', 'x.csv'])).rejects.toMatchObject({ name: 'UsageError' })
    await expect(evalMain(['uplift'])).rejects.toThrow(/needs --events/)
    await expect(evalMain(['uplift', '--events', 'x.csv', '--mde', '0'])).rejects.toThrow(/--mde takes/)
    await expect(evalMain(['uplift', '--events', 'x.csv', '--bootstrap', '5'])).rejects.toThrow(/--bootstrap takes/)
  })
})
