import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

/** The `name` of the error `f` throws, or 'no error'. */
export function nameOf(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    return (e as Error).name
  }
  return 'no error'
}

/** Every file under `dir` with its bytes (as text), to show a folder is exactly as it was. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e)
      if (statSync(p).isDirectory()) walk(p)
      else out[relative(dir, p)] = readFileSync(p, 'latin1')
    }
  }
  walk(dir)
  return out
}
