// Types of scripts/engines.mjs for the TypeScript that imports it (e2e specs).
export type EngineName = 'firefox' | 'webkit'

export interface EngineSession {
  readonly engine: EngineName
  /** e.g. 'Firefox 153.8.0', 'WebKitGTK 2.50.6'. */
  readonly version: string
  /** Uncaught page errors, where the driver can see them (Firefox); WebKit's stays empty. */
  readonly errors: string[]
  /** Navigates and waits for the load event. */
  goto(url: string): Promise<void>
  /** Runs `fn(arg)` in the page (its source only: no closures) and returns its JSON result; a throw rejects. */
  run<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<Awaited<R>>
  close(): Promise<void>
}

export declare const FIREFOX: string
export declare const WEBKIT_DRIVER: string
export declare const MINIBROWSER: string
export declare function launchFirefox(options?: { prefs?: Record<string, unknown> }): Promise<EngineSession>
export declare function launchWebKit(): Promise<EngineSession>
export declare function launchEngine(name: EngineName, options?: { prefs?: Record<string, unknown> }): Promise<EngineSession>
