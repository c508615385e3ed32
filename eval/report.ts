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
