// The published declarations for every resolution mode: tsc writes relative imports as the sources spell them
// (`from './recommender'`), which node16/nodenext ESM resolution cannot follow. This rewrites each relative
// specifier in dist/types to the file it names (`./recommender.js`, `../index.js`, `./embed/index.js`), checked
// against the emitted files, so `@arethetypeswrong/cli` finds no internal resolution error.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*)(['"])(\.{1,2}(?:\/[^'"]*)?)\2/g

/** Rewrites the relative specifiers of every .d.ts under `dir`; throws for one that names no emitted file. */
export function fixDeclarationSpecifiers(dir) {
  for (const rel of readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.d.ts'))) {
    const file = join(dir, rel)
    const text = readFileSync(file, 'utf8')
    const fixed = text.replace(SPECIFIER, (all, lead, quote, spec) => {
      if (/\.(js|mjs|json)$/.test(spec)) return all
      const base = join(dirname(file), spec)
      const target = existsSync(`${base}.d.ts`) ? `${spec}.js` : existsSync(join(base, 'index.d.ts')) ? `${spec.replace(/\/$/, '')}/index.js` : undefined
      if (!target) throw new Error(`${file}: ${spec} names no emitted declaration`)
      return `${lead}${quote}${target}${quote}`
    })
    if (fixed !== text) writeFileSync(file, fixed)
  }
}
