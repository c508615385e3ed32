// Types of tools/vite.mjs (`inpage/vite`). Structural, so this package needs no `vite` types to check.
export interface InPagePluginOptions {
  /** URL path the assets are served at, plain segments ending in "/" (default "/inpage/"). */
  base?: string
}
export interface InPageVitePlugin {
  name: 'inpage'
  configResolved(config: { root: string; build: { outDir: string } }): void
  configureServer(server: { middlewares: { use(fn: (...args: any[]) => void): unknown } }): void
  configurePreviewServer(server: { middlewares: { use(fn: (...args: any[]) => void): unknown } }): void
  writeBundle(): void
}
export declare class InPagePluginError extends Error {
  name: 'InPagePluginError'
}
/** The Vite plugin: serves the assets in dev (with COOP/COEP), writes them at build under `base`. */
export declare function inpage(options?: InPagePluginOptions): InPageVitePlugin
export default inpage
/** `{ model, wasmPaths }` for createRecommender when the assets are served at `base`. */
export declare function inpageUrls(base?: string): { model: string; wasmPaths: string }
/** The dev middleware: serves files of `dir` under `base` (their `.br` copy when accepted); anything else goes to `next`. */
export declare function serveAssets(dir: string, base: string): (req: { url?: string; headers: Record<string, string | string[] | undefined> }, res: unknown, next: () => void) => void
