// `import 'inpage/global'` (or `/// <reference types="inpage/global" />`): the type of `window.InPage`, the
// global the script tag (inpage.iife.js) defines, for pages that use the tag from TypeScript. No code.
import type * as ScriptTag from './script-tag'

declare global {
  interface Window {
    /** Defined by `<script src="…/inpage.iife.js">`; `recommender` and `embed` exist when the tag has `data-model`. */
    InPage: typeof ScriptTag
  }
}
export {}
