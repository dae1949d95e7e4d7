// Filtering the category combobox: there can be hundreds of categories, so match words and rank prefixes first.

export interface Filtered {
  /** The matches to show, best first. */
  shown: string[]
  /** How many options matched in all (more than shown when the list is cut at the limit). */
  total: number
}

/** Options holding every word of `text` (case-insensitive); those starting with it first, then by name. */
export function filterOptions(options: readonly string[], text: string, limit = 50): Filtered {
  const needle = text.trim().toLowerCase()
  const words = needle.split(/\s+/).filter(Boolean)
  const matches = options.filter((option) => {
    const name = option.toLowerCase()
    return words.every((word) => name.includes(word))
  })
  const rank = (option: string) => (needle && option.toLowerCase().startsWith(needle) ? 0 : 1)
  matches.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b, undefined, { numeric: true }))
  return { shown: matches.slice(0, limit), total: matches.length }
}

/** The option index after pressing a key that moves (wrapping at the ends); -1 for none. */
export function moveActive(current: number, count: number, key: string): number {
  if (count === 0) return -1
  if (key === 'ArrowDown') return current < 0 ? 0 : (current + 1) % count
  if (key === 'ArrowUp') return current <= 0 ? count - 1 : current - 1
  if (key === 'Home') return 0
  if (key === 'End') return count - 1
  return current
}
