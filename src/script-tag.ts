// The IIFE entry for merchants without a build step: <script src="inpage.iife.js"> gives window.InPage.

import { setDefaultWorkerUrl } from './engine-client'

// document.currentScript is only set while this script first runs: resolve the worker beside it now.
const script = typeof document !== 'undefined' ? (document.currentScript as HTMLScriptElement | null) : null
if (script?.src) setDefaultWorkerUrl(new URL('inpage.worker.js', script.src))

export * from './index'
