// Markdown table and SVG bar chart of an eval result.

import type { EvalResult } from './harness'

const COLS = ['recall@10', 'ndcg@10', 'mrr@10', 'coverage@10', 'gini@10', 'moved_up_with_reason@10'] as const

/** The second table: calibration, exposure, duplicates, purchases, and the reasons (eval/exposure.ts). */
const MORE = ['miscalibration@10', 'brand_gini@10', 'long_tail@10', 'near_dup@10', 'purchased@10', 'distinct_reasons@10', 'cited_vs_largest@10'] as const

const f4 = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(4))

export function markdown(r: EvalResult): string {
  const lines = [
    `### ${r.protocol} protocol, ${r.split} split, ${r.users} users${r.excludeHistory ? '' : ' (history kept)'}`,
    '',
    `Model ${r.model.name}@${r.model.version} (\`${r.model.dir}\`, encoder sha256 \`${r.model.encoderSha256}\`); data ${r.data}; ${r.seconds.toFixed(0)} s.`,
    '',
    `Model coverage: ${r.modelCoverage.collab} of the data's ${r.modelCoverage.items} item ids in collab.json, ${r.modelCoverage.neighbors} in neighbors.json. ` +
      'Baselines (popularity, item-knn, next-item) are built from this data\'s training histories.',
    ...(r.categoryPages
      ? ['', `Category pages: ${r.categoryPages.pages}, ${r.categoryPages.meanItems.toFixed(1)} catalogue items each on average; target on its page in ${(100 * r.categoryPages.targetOnPage).toFixed(1)} % of rows.`]
      : []),
    ...r.warnings.map((w) => `\n**${w}**`),
    ...(r.semiSynthetic ? ['', `**${r.semiSynthetic}**`] : []),
    '',
    `| system | ${COLS.map((c) => c.replace('moved_up_with_reason@10', 'moved up w/ reason')).join(' | ')} |`,
    `|---|${COLS.map(() => '---').join('|')}|`,
    ...Object.entries(r.systems).map(([name, m]) => `| ${name} | ${COLS.map((c) => f4(m[c])).join(' | ')} |`),
    '',
    `| system | ${MORE.join(' | ')} |`,
    `|---|${MORE.map(() => '---').join('|')}|`,
    ...Object.entries(r.systems).map(([name, m]) => `| ${name} | ${MORE.map((c) => f4(m[c])).join(' | ')} |`),
    '',
    `Settings: \`${JSON.stringify(r.settings)}\``,
  ]
  if (r.grid?.length) {
    lines.push('', `Grid (${r.split}):`, '', '| system | personalWeight | queryWeight | textDecay | R@10 | N@10 | MRR@10 |', '|---|---|---|---|---|---|---|')
    for (const g of r.grid)
      lines.push(`| ${g.system} | ${g.personalWeight ?? '–'} | ${g.queryWeight ?? '–'} | ${g.textDecay ?? '–'} | ${f4(g.metrics['recall@10'])} | ${f4(g.metrics['ndcg@10'])} | ${f4(g.metrics['mrr@10'])} |`)
    if (r.best) lines.push('', `Best on ${r.split} (NDCG@10): \`${JSON.stringify(r.best)}\``)
  }
  return lines.join('\n') + '\n'
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** Horizontal bars of NDCG@10 per system. */
export function svg(r: EvalResult): string {
  const sys = Object.entries(r.systems)
  const max = Math.max(1e-9, ...sys.map(([, m]) => m['ndcg@10']))
  const W = 640
  const left = 170
  const barH = 22
  const top = 40
  const H = top + sys.length * (barH + 8) + 30
  const scale = (W - left - 70) / max
  const bars = sys
    .map(([name, m], i) => {
      const y = top + i * (barH + 8)
      const w = m['ndcg@10'] * scale
      const colour = name.startsWith('inpage') ? '#2f6fdf' : '#9aa5b1'
      return (
        `<text x="${left - 8}" y="${y + barH * 0.7}" text-anchor="end">${esc(name)}</text>` +
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${colour}"/>` +
        `<text x="${(left + w + 6).toFixed(1)}" y="${y + barH * 0.7}">${m['ndcg@10'].toFixed(4)}</text>`
      )
    })
    .join('\n  ')
  const title = `NDCG@10, ${r.protocol} protocol, ${r.split} (${r.users} users)${r.protocol === 'search' ? ', semi-synthetic' : ''}`
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="13">
  <rect width="100%" height="100%" fill="white"/>
  <text x="${W / 2}" y="22" text-anchor="middle" font-weight="bold">${esc(title)}</text>
  ${bars}
  <text x="${left}" y="${H - 8}" fill="#555" font-size="11">model ${esc(r.model.name)}@${esc(r.model.version)}; history ${r.excludeHistory ? 'excluded' : 'kept'}</text>
</svg>
`
}

/**
 * The accuracy/exposure trade-off of a `--grid` category run: NDCG@10 against the long-tail share of the top 10, one
 * line per popularity-prior setting through its calibration levels (`inpage-int8[-prior-…]-calibration-<c>`), the
 * baselines as grey points. Undefined when the run has no calibration levels.
 */
export function tradeoffSvg(r: EvalResult): string | undefined {
  const sys = Object.entries(r.systems)
  const series = new Map<string, { c: number; x: number; y: number }[]>()
  for (const [name, m] of sys) {
    const hit = /^(inpage-int8(?:-prior-(?:on|off))?)-calibration-([\d.]+)$/.exec(name)
    if (!hit) continue
    const key = hit[1] === 'inpage-int8' ? `prior ${r.settings.popularityPrior === false ? 'off' : 'on'}` : `prior ${hit[1]!.endsWith('off') ? 'off' : 'on'}`
    if (!series.has(key)) series.set(key, [])
    series.get(key)!.push({ c: Number(hit[2]), x: m['long_tail@10'], y: m['ndcg@10'] })
  }
  if (!series.size) return undefined
  const refs = sys.filter(([n]) => ['server', 'item-knn', 'text-only'].includes(n)).map(([n, m]) => ({ n, x: m['long_tail@10'], y: m['ndcg@10'] }))
  const pts = [...[...series.values()].flat(), ...refs]
  const [x0, x1] = [Math.min(...pts.map((p) => p.x)), Math.max(...pts.map((p) => p.x))]
  const [y0, y1] = [Math.min(...pts.map((p) => p.y)), Math.max(...pts.map((p) => p.y))]
  // Width, height, and the margins left, right, top, bottom.
  const [W, H, L, R, T, B] = [640, 420, 70, 150, 40, 50]
  const px = (x: number) => L + ((x - x0) / Math.max(1e-9, x1 - x0)) * (W - L - R)
  const py = (y: number) => H - B - ((y - y0) / Math.max(1e-9, y1 - y0)) * (H - T - B)
  const colours = ['#2f6fdf', '#d9822b']
  const lines = [...series].map(([key, ps], s) => {
    ps.sort((a, b) => a.c - b.c)
    const col = colours[s % colours.length]!
    const path = ps.map((p, i) => `${i ? 'L' : 'M'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')
    const dots = ps.map((p) => `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="4" fill="${col}"/><text x="${(px(p.x) + 6).toFixed(1)}" y="${(py(p.y) - 6).toFixed(1)}" font-size="10" fill="${col}">${p.c}</text>`).join('')
    return `<path d="${path}" fill="none" stroke="${col}" stroke-width="2"/>${dots}<text x="${W - R + 12}" y="${T + 20 * s}" fill="${col}">inpage, ${esc(key)}</text>`
  })
  const grey = refs.map((p) => `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="4" fill="#9aa5b1"/><text x="${(px(p.x) + 6).toFixed(1)}" y="${(py(p.y) + 4).toFixed(1)}" font-size="11" fill="#555">${esc(p.n)}</text>`)
  const tick = (v: number, horizontal: boolean) =>
    horizontal ? `<text x="${px(v).toFixed(1)}" y="${H - B + 16}" text-anchor="middle" font-size="11">${v.toFixed(3)}</text>` : `<text x="${L - 6}" y="${(py(v) + 4).toFixed(1)}" text-anchor="end" font-size="11">${v.toFixed(3)}</text>`
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="13">
  <rect width="100%" height="100%" fill="white"/>
  <text x="${W / 2}" y="22" text-anchor="middle" font-weight="bold">${esc(`NDCG@10 vs long-tail share, ${r.protocol} protocol, ${r.split} (${r.users} users)`)}</text>
  <line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#555"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#555"/>
  ${tick(x0, true)}${tick(x1, true)}${tick(y0, false)}${tick(y1, false)}
  <text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">long-tail share of the top 10 (outside the 20 % most popular items)</text>
  <text x="16" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(T + H - B) / 2})">NDCG@10</text>
  ${lines.join('\n  ')}
  ${grey.join('\n  ')}
  <text x="${W - R + 12}" y="${T + 20 * series.size + 10}" font-size="11" fill="#555">labels: calibration</text>
</svg>
`
}
