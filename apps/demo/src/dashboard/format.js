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

/** The denominator of each rate (the contract's): what its sample size counts. */
const DENOMINATORS = {
  delivery_rate: 'sent',
  open_rate: 'delivered',
  click_rate: 'delivered',
  reply_rate: 'delivered',
  bounce_rate: 'sent',
}

/**
 * How sure a rate of an API row is: its 95% Wilson interval and sample, for a tooltip, and
 * whether the API flags the sample as too small.
 */
export function rateCertainty(row, field) {
  const lower = row[`${field}_lower`]
  const upper = row[`${field}_upper`]
  const insufficient = row[`${field}_insufficient_sample`] === true
  const denominator = DENOMINATORS[field]
  const n = `${count(row[denominator])} ${denominator}`
  if (lower === null || lower === undefined) return { insufficient, title: `no rate: ${n}` }
  const range = `95% interval ${lower.toFixed(2)}–${upper.toFixed(2)}% (±${((upper - lower) / 2).toFixed(2)} pts)`
  return {
    insufficient,
    title: `${range} over ${n}${insufficient ? ' — too few emails to trust (fewer than 30)' : ''}`,
  }
}

/**
 * A change over the previous period: for a rate in percentage points (▲ 1.25 pts), for a count
 * relative (▲ 12.50%), or absolute (+40) when the previous count was 0.
 */
export function change(metric) {
  if (!metric || metric.change === null) return NONE
  const arrow = metric.change > 0 ? '▲ ' : metric.change < 0 ? '▼ ' : ''
  if (metric.metric.endsWith('_rate')) return `${arrow}${Math.abs(metric.change).toFixed(2)} pts`
  if (metric.relative_change === null) return `+${count(metric.change)}`
  return growth(metric.relative_change)
}
