// The IIFE entry for merchants without a build step: <script src="inpage.iife.js"> gives window.InPage.
// With `data-model` on the tag it also wires the page (see src/embed/auto.ts): InPage.recommender
// and InPage.embed then exist.

import { setDefaultWorkerUrl } from '../engine-client'
import { autoWire } from './auto'
import { defineListElement } from './element'

// document.currentScript is only set while this script first runs: resolve the worker beside it now.
const script = typeof document !== 'undefined' ? (document.currentScript as HTMLScriptElement | null) : null
if (script?.src) setDefaultWorkerUrl(new URL('inpage.worker.js', script.src))

export * from '../index'
export { wire } from './wire'
export const { recommender, embed } = autoWire(script)
defineListElement(() => embed)
