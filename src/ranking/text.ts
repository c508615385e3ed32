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

/** FNV-1a, 32 bit, over UTF-16 code units: text hashes and catalog-pack shard numbers. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** A short stable hash so cached vectors follow edits of an item's text. */
export function textHash(s: string): string {
  return fnv1a32(s).toString(36)
}
