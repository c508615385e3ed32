// A command line a CLI does not understand: scripts/run-ts.mjs prints the message (the problem, then the
// usage) and exits with 2. Shared by eval/cli.ts and catalog/cli.ts.

export class UsageError extends Error {
  override name = 'UsageError'
  constructor(problem: string, usage: string) {
    super(`${problem}\n${usage}`)
  }
}

/** A UsageError factory bound to one CLI's usage text. */
export const usageErrors = (usage: string) => (problem: string) => new UsageError(problem, usage)
