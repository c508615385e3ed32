// The store-side verbs as the package runs them (bin/inpage.mjs): eval/catalog-cli.ts (the pack, then its tuning) and eval/cli.ts bundled
// to plain ESM under dist/cli/, so an installed package needs no TypeScript step. Dependencies stay
// external (the optional peers @duckdb/node-api and onnxruntime-node are imported only by the verbs
// that need them; bin/peers.mjs names them). The same code `npm run catalog` / `npm run eval` run.
import { build } from 'vite'

/** Vite's SSR build of Node entry points into plain ESM, dependencies external: the one recipe the package's
 * CLI (dist/cli/) and `npm run eval|catalog` (scripts/run-ts.mjs) both use, so they bundle alike. */
export function buildNode(root, outDir, { ssr = true, input, output }) {
  return build({
    root,
    configFile: false,
    logLevel: 'warn',
    publicDir: false,
    build: {
      ssr,
      outDir,
      emptyOutDir: true,
      target: 'node20',
      minify: false,
      sourcemap: false,
      rollupOptions: { ...(input ? { input } : {}), output: { format: 'es', ...output } },
    },
  })
}

/** Builds dist/cli/catalog.mjs and dist/cli/eval.mjs (shared code in dist/cli/chunks/). */
export function buildCli(root, dist) {
  return buildNode(root, `${dist}/cli`, {
    input: { catalog: `${root}eval/catalog-cli.ts`, eval: `${root}eval/cli.ts` },
    output: { entryFileNames: '[name].mjs', chunkFileNames: 'chunks/[name]-[hash].mjs' },
  })
}
