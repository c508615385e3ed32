// The store-side verbs' heavy dependencies are optional peers of the package: a storefront's install stays
// lean, and a verb that needs a missing one says which command installs it instead of a resolver stack.

/** The optional peer dependencies each verb imports (test/package-bin.test.ts checks this against the bundles). */
export const VERB_PEERS = Object.freeze({
  assets: [],
  convert: [],
  catalog: ['@duckdb/node-api', 'onnxruntime-node'],
  eval: ['onnxruntime-node'],
  uplift: [],
})

export class PeerMissingError extends Error {
  name = 'PeerMissingError'
}

const resolvable = (name, resolve) => {
  try {
    resolve(name)
    return true
  } catch {
    return false
  }
}

/** Throws a PeerMissingError naming the install command when `verb` needs a package that does not resolve from here. */
export function checkPeers(verb, resolve = (name) => import.meta.resolve(name)) {
  const missing = (VERB_PEERS[verb] ?? []).filter((name) => !resolvable(name, resolve))
  if (missing.length)
    throw new PeerMissingError(`\`inpage ${verb}\` needs ${missing.join(' and ')} (optional peer ${missing.length > 1 ? 'dependencies' : 'dependency'} of inpage): npm install ${missing.join(' ')}`)
}
