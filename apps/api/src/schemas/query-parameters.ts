import { z } from '@hono/zod-openapi'
import { MAX_RANGE_DAYS, parseDay } from '@penguinmails/bi-queries'

/** The most rows one JSON page holds (CSV exports stream the whole list). */
export const MAX_API_PAGE_SIZE = 100
export const DEFAULT_API_PAGE_SIZE = 50

export const calendarDate = (description: string) =>
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
    .refine((v) => parseDay(v) !== null, 'is not a calendar date')
    .openapi({ format: 'date', example: '2024-03-01', description })

export const dateRangeFields = {
  from: calendarDate('first day of the range, included (YYYY-MM-DD)'),
  to: calendarDate(
    `first day after the range, excluded; at most ${MAX_RANGE_DAYS} days after from`,
  ),
}

/** [from, to) must be non-empty and at most MAX_RANGE_DAYS long; reported on `to`. */
export function checkRange(value: { from?: unknown; to?: unknown }, ctx: z.RefinementCtx): void {
  if (typeof value.from !== 'string' || typeof value.to !== 'string') return
  const from = parseDay(value.from)
  const to = parseDay(value.to)
  if (from === null || to === null) return
  if (to <= from)
    ctx.addIssue({
      code: 'custom',
      path: ['to'],
      message: 'must be after from (the range is [from, to))',
    })
  else if (to - from > MAX_RANGE_DAYS)
    ctx.addIssue({
      code: 'custom',
      path: ['to'],
      message: `the range may span at most ${MAX_RANGE_DAYS} days`,
    })
}

const wholeNumber = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .openapi({ type: 'integer', minimum: min, maximum: max, description: name })

export const pageFields = {
  limit: wholeNumber(
    `rows per page, 1 to ${MAX_API_PAGE_SIZE} (default ${DEFAULT_API_PAGE_SIZE}); ignored by CSV exports, which stream every row`,
    1,
    MAX_API_PAGE_SIZE,
  ).optional(),
  cursor: z.string().min(1).max(4000).optional().openapi({
    description: 'next_cursor of the previous page; the other parameters must not change',
  }),
}

export const formatField = {
  format: z
    .enum(['json', 'csv'])
    .optional()
    .openapi({ description: 'csv streams the whole list as text/csv (as does Accept: text/csv)' }),
}

export const daysField = (name: string, fallback: number) =>
  wholeNumber(`${name}, 1 to ${MAX_RANGE_DAYS} (default ${fallback})`, 1, MAX_RANGE_DAYS)
    .optional()
    .transform((v) => v ?? fallback)

export const sortField = <T extends readonly [string, ...string[]]>(
  values: T,
  fallback: T[number],
) =>
  z
    .enum(values)
    .optional()
    .openapi({ description: `order of the rows (default ${fallback})` })

export const textFilter = (description: string) =>
  z.string().min(1).max(200).optional().openapi({ description })

export const identifier = (description: string) =>
  z.string().min(1).max(200).openapi({ description })

export const compareField = {
  compare: z.enum(['previous']).optional().openapi({
    description:
      'previous: also return `comparison`, the range’s totals against the period of equal length just before it, with the change, absolute and relative (JSON only)',
  }),
}
