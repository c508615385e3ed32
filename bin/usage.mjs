/** A bad command line: the problem and the usage; exits with 2 (catalog/cli.ts and eval/cli.ts throw their own of the same name). */
export class UsageError extends Error {
  name = 'UsageError'
}
