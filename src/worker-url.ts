// Where the engine worker is loaded from when the page names none. Its own file, apart from worker-session.ts:
// the published types reach it (the script tag's entry), and they may not name comlink.

let url: string | URL | undefined

/** The script-tag build knows its own URL only while it runs: it records the worker's here. */
export function setDefaultWorkerUrl(u: string | URL) {
  url = u
}

export const defaultWorkerUrl = () => url
