// What status() says of the engine: its own file, free of comlink, because these types are public and the
// published .d.ts files may name only the package's dependencies (comlink is bundled, not one of them).
import type { CatalogReport, EngineInfo, Progress } from './protocol/engine'

export type EngineState = 'idle' | 'loading' | 'ready' | 'error'

/**
 * The text encoder: 'on-demand' until a call needs it (with a catalog pack), then 'loading' and 'ready';
 * 'error' when its load failed (calls that need it answer with the server's order, the others still rerank).
 */
export type EncoderState = 'on-demand' | 'loading' | 'ready' | 'error'

export interface EngineStatus {
  state: EngineState
  info?: EngineInfo
  encoder?: EncoderState
  /** What the last rerank read of the catalog pack (with the `catalog` option). */
  catalog?: CatalogReport
  error?: { name: string; message: string }
  progress?: Progress
  /** The encoder's own download progress (stage 'encoder'), once it started. */
  encoderProgress?: Progress
}
