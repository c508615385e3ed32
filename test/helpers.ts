/** The `name` of the error `f` throws, or 'no error'. */
export function nameOf(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    return (e as Error).name
  }
  return 'no error'
}
