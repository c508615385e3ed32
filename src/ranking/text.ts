// The item text the encoder reads. Python training builds it the same way (docs/model-contract.md).

export interface TextFields {
  title: string
  brand?: string | null
  category?: string[] | null
}

export function itemText(f: TextFields): string {
  const parts = [f.title, (f.category ?? []).join(' '), f.brand ?? ''].map((p) => p.trim()).filter((p) => p !== '')
  return parts.join('. ') + '.'
}

/** 'Root > Child > Leaf' as a path, root first; empty levels dropped. */
export function parseCategoryPath(s: string): string[] {
  return s.split('>').map((c) => c.trim()).filter(Boolean)
}

// Hashing lives in src/core (the pack format and the caches use it too); re-exported for the text's users.
export { fnv1a32, textHash } from '../core/hash'
