// The tuning knobs: personalization strength, calibration to the history's category mix, relevance vs variety
// (MMR λ), the category cap and the popularity prior; each change reranks the page soon after.
import { $, h } from './dom'
import { state } from './state'
import { personalizeSoon } from './lists'

function slider(id: string, label: string, hint: string, min: number, max: number, step: number, value: number, fmt: (v: number) => string, set: (v: number) => void) {
  const out = h('output', { for: id }, fmt(value))
  const input = h('input', { id, type: 'range', min, max, step, value, oninput: () => {
    const v = Number(input.value)
    out.textContent = fmt(v)
    set(v)
    personalizeSoon(200)
  } })
  return h('label', { class: 'knob' }, h('span', { class: 'knob-head' }, h('span', {}, label), out), input, h('span', { class: 'muted small' }, hint))
}

export function renderTuning() {
  const k = state.knobs
  const cap = h(
    'select',
    { id: 'max-per-category', onchange: () => ((k.maxPerCategory = Number(cap.value)), personalizeSoon()) },
    ...[0, 1, 2, 3, 4, 5].map((n) => h('option', { value: n, selected: n === k.maxPerCategory }, n ? `at most ${n} per category` : 'no cap')),
  )
  $('#tuning').replaceChildren(
    h('h3', { id: 'tune-h' }, 'Tuning'),
    slider('personal-weight', 'Personalization strength', '0 = the server’s order, 1 = this shopper’s taste only.', 0, 1, 0.05, k.personalWeight, (v) => v.toFixed(2), (v) => (k.personalWeight = v)),
    slider('calibration', 'Calibration to the history', 'Steck 2018: 0 = off, higher = the top 10 mirrors the category mix of what this shopper bought and viewed.', 0, 1, 0.05, k.calibration, (v) => v.toFixed(2), (v) => (k.calibration = v)),
    slider('lambda', 'Relevance vs variety', 'MMR λ: 1 = relevance only, lower = more varied top 10.', 0, 1, 0.05, k.lambda, (v) => v.toFixed(2), (v) => (k.lambda = v)),
    h('label', { class: 'knob' }, h('span', { class: 'knob-head' }, h('span', {}, 'Category cap in the top 10')), cap),
    h(
      'label',
      { class: 'knob' },
      h('span', { class: 'knob-head' }, h('span', {}, 'Popularity prior')),
      h('input', { id: 'popularity-prior', type: 'checkbox', checked: k.popularityPrior, onchange: (e: Event) => ((k.popularityPrior = (e.target as HTMLInputElement).checked), personalizeSoon()) }),
      h('span', { class: 'muted small' }, 'Off: less weight on best-sellers, wider exposure of the catalog.'),
    ),
  )
}
