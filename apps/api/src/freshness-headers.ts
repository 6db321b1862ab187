import type { TenantFreshness } from '@penguinmails/bi-queries'

/**
 * The freshness watermark as response headers, on every tenant read, JSON and CSV alike (a CSV
 * body has no room for it); JSON bodies also carry it as `freshness`.
 */
export const AS_OF_HEADER = 'x-analytics-as-of'
export const PENDING_HEADER = 'x-analytics-pending-changes'

export const FRESHNESS_HEADERS = {
  [AS_OF_HEADER]: {
    description:
      'ISO 8601 instant up to which the tenant’s analytics reflect its source (the freshness watermark’s as_of)',
    schema: { type: 'string' as const, format: 'date-time' },
  },
  [PENDING_HEADER]: {
    description: 'source changes of the tenant recorded but not yet applied to its analytics',
    schema: { type: 'integer' as const, minimum: 0 },
  },
}

export function freshnessHeaders(freshness: TenantFreshness | undefined): Record<string, string> {
  if (!freshness) return {}
  return {
    [AS_OF_HEADER]: freshness.as_of,
    [PENDING_HEADER]: String(freshness.pending_changes),
  }
}
