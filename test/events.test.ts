import { describe, expect, it } from 'vitest'
import { nameOf } from './helpers'
import { validateEvent, LIMITS } from '../src/history/events'

const item = { title: 'Nitrile gloves', brand: 'Acme', category: ['Industrial & Scientific', 'Lab Supplies'], price: 12.5 }

describe('validateEvent', () => {
  it('keeps the known fields of a view and stamps the time', () => {
    const ev = validateEvent({ type: 'view', itemId: 'B01', item, surface: 'category' }, 1000)
    expect(ev).toEqual({ type: 'view', itemId: 'B01', item, surface: 'category', ts: 1000 })
  })

  it('accepts every event type with what it needs', () => {
    for (const type of ['view', 'click', 'add_to_cart', 'purchase'] as const)
      expect(validateEvent({ type, itemId: 'x', item }).type).toBe(type)
    expect(validateEvent({ type: 'search', query: ' gloves ' }).query).toBe('gloves')
    expect(validateEvent({ type: 'dwell', itemId: 'x', item, dwellMs: 3200 }).dwellMs).toBe(3200)
  })

  it.each([
    ['not an object', 42],
    ['null', null],
    ['an array', []],
    ['an unknown type', { type: 'like', itemId: 'x', item }],
    ['a view without itemId', { type: 'view', item }],
    ['a view without item', { type: 'view', itemId: 'x' }],
    ['an item without title', { type: 'view', itemId: 'x', item: { brand: 'b' } }],
    ['a numeric title', { type: 'view', itemId: 'x', item: { title: 5 } }],
    ['a string category', { type: 'view', itemId: 'x', item: { title: 't', category: 'a > b' } }],
    ['a NaN price', { type: 'view', itemId: 'x', item: { title: 't', price: NaN } }],
    ['a negative price', { type: 'view', itemId: 'x', item: { title: 't', price: -1 } }],
    ['an empty search', { type: 'search', query: '  ' }],
    ['a dwell without ms', { type: 'dwell', itemId: 'x', item }],
    ['an infinite dwell', { type: 'dwell', itemId: 'x', item, dwellMs: Infinity }],
    ['a future timestamp', { type: 'view', itemId: 'x', item, timestamp: Date.now() + 7 * 86400e3 }],
    ['a string timestamp', { type: 'view', itemId: 'x', item, timestamp: '2026-01-01' }],
    ['a huge id', { type: 'view', itemId: 'x'.repeat(LIMITS.id + 1), item }],
  ])('rejects %s with InvalidEventError', (_, raw) => {
    expect(nameOf(() => validateEvent(raw))).toBe('InvalidEventError')
  })

  it('truncates over-long strings instead of failing', () => {
    const ev = validateEvent({ type: 'view', itemId: 'x', item: { title: 't'.repeat(5000), category: Array(40).fill('c') } })
    expect(ev.item!.title).toHaveLength(LIMITS.title)
    expect(ev.item!.category).toHaveLength(LIMITS.categoryDepth)
  })

  it('never copies unknown or hostile keys', () => {
    const raw = JSON.parse('{"type":"view","itemId":"x","item":{"title":"t","__proto__":{"polluted":1}},"__proto__":{"polluted":1},"extra":1}')
    const ev = validateEvent(raw)
    expect(Object.keys(ev).sort()).toEqual(['item', 'itemId', 'ts', 'type'])
    expect(Object.keys(ev.item!)).toEqual(['title'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})
