// The store-side verbs as the package runs them (bin/inpage.mjs): catalog/cli.ts and eval/cli.ts bundled
// to plain ESM under dist/cli/, so an installed package needs no TypeScript step. Dependencies stay
// external (the optional peers @duckdb/node-api and onnxruntime-node are imported only by the verbs
// that need them; bin/peers.mjs names them). The same code `npm run catalog` / `npm run eval` run.
import { build } from 'vite'

/** Builds dist/cli/catalog.mjs and dist/cli/eval.mjs (shared code in dist/cli/chunks/). */
export async function buildCli(root, dist) {
  await build({
    root,
    configFile: false,
    logLevel: 'warn',
    publicDir: false,
    build: {
      ssr: true,
      outDir: `${dist}/cli`,
      emptyOutDir: true,
      target: 'node20',
      minify: false,
      sourcemap: false,
      rollupOptions: {
        input: { catalog: `${root}catalog/cli.ts`, eval: `${root}eval/cli.ts` },
        output: { format: 'es', entryFileNames: '[name].mjs', chunkFileNames: 'chunks/[name]-[hash].mjs' },
      },
    },
  })
}
