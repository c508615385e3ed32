// Types for bin/peers.mjs (plain JS: the installed package runs it as is).
export declare const VERB_PEERS: Readonly<Record<'assets' | 'convert' | 'catalog' | 'eval', readonly string[]>>
export declare class PeerMissingError extends Error {
  name: 'PeerMissingError'
}
export declare function checkPeers(verb: string, resolve?: (name: string) => unknown): void
