// `<inpage-list surface="category" query="…" k="…" budget-ms="…">`: the script tag's list wiring as an element,
// so Vue, Svelte and plain pages behave the same: its `[data-inpage-item]` children are reordered like a
// `[data-inpage-rerank]` list's (it marks itself as one), when it is added to a loaded page and when its
// attributes change. Defined by the script tag (src/embed/script-tag.ts); without `data-model` it keeps its order.
import type { Embed } from './wire'

const ATTRIBUTES: Record<string, string> = { query: 'query', k: 'k', 'budget-ms': 'budgetMs', 'personal-weight': 'personalWeight', 'popularity-prior': 'popularityPrior' }

export function defineListElement(embed: () => Embed | undefined): void {
  if (typeof customElements === 'undefined' || customElements.get('inpage-list')) return
  class InPageList extends HTMLElement {
    static observedAttributes = ['surface', ...Object.keys(ATTRIBUTES)]
    connectedCallback() {
      this.mark()
      // While the page is parsing, the tag's first pass (at DOMContentLoaded) reorders every marked list.
      if (document.readyState !== 'loading') void embed()?.rerank(this)
    }
    attributeChangedCallback() {
      if (!this.isConnected) return
      this.mark()
      if (document.readyState !== 'loading') void embed()?.rerank(this)
    }
    private mark() {
      this.dataset.inpageRerank = this.getAttribute('surface') || 'category'
      for (const [attr, key] of Object.entries(ATTRIBUTES)) {
        const v = this.getAttribute(attr)
        if (v === null) delete this.dataset[key]
        else this.dataset[key] = v
      }
    }
  }
  customElements.define('inpage-list', InPageList)
}
