// How numbers are shown. The browser test parses cells back (commas and % removed), so every
// number shown is the API's value, only grouped or suffixed.

const counts = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })
const decimals = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 })

export const NONE = '—'

export function count(value) {
  return value === null || value === undefined ? NONE : counts.format(value)
}

export function decimal(value) {
  return value === null || value === undefined ? NONE : decimals.format(value)
}

export function percent(value) {
  return value === null || value === undefined ? NONE : `${value.toFixed(2)}%`
}

/** A growth in percent with its sign: ▲ 12.50% or ▼ 3.10%. */
export function growth(value) {
  if (value === null || value === undefined) return NONE
  return `${value > 0 ? '▲' : value < 0 ? '▼' : ''} ${value.toFixed(2)}%`.trim()
}

/** Health score class: the contract's warmup categories (≥ 80, ≥ 60, ≥ 40, below). */
export function healthClass(score) {
  if (score === null || score === undefined) return 'none'
  if (score >= 80) return 'excellent'
  if (score >= 60) return 'good'
  if (score >= 40) return 'fair'
  return 'poor'
}
