// `npx inpage <command>`: the command line shipped in the package (dist/inpage-cli.mjs, built by
// scripts/build.mjs). One command so far: `uplift`, the holdout's report on a store's analytics export
// (eval/uplift.ts; `npm run eval -- uplift` runs the same code in this repository).
import { UPLIFT_USAGE, upliftMain } from '../eval/uplift'

const USAGE = `usage: npx inpage uplift --events <export.csv> [options]\n\n${UPLIFT_USAGE}`

export function main(argv: readonly string[]): number {
  try {
    if (argv[0] === 'uplift') upliftMain(argv.slice(1))
    else if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === undefined) console.log(USAGE)
    else throw Object.assign(new Error(`unknown command ${JSON.stringify(argv[0])}\n${USAGE}`), { name: 'UsageError' })
    return 0
  } catch (e) {
    const err = e as Error
    console.error(err.message)
    return err.name === 'UsageError' ? 2 : 1
  }
}

process.exitCode = main(process.argv.slice(2))
