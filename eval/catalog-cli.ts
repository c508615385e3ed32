// `npm run catalog` and `npx inpage catalog`: builds the pack (catalog/cli.ts), then chooses its blend on the
// store's own valid split (eval/tune-cli.ts) before it is moved into place. Lives in eval/ because tuning
// evaluates, and catalog/ may not import eval/ (.dependency-cruiser.cjs). Run by scripts/run-ts.mjs.

import { main as build } from '../catalog/cli'
import { catalogTuneStep } from './tune-cli'

export { USAGE, UsageError } from '../catalog/cli'

export function main(argv: string[]) {
  return build(argv, catalogTuneStep)
}
