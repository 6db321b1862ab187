import { InvalidQueryError } from './query-errors.js'

/** A half-open range of calendar days [from, to) over the analytics `day` column. */
export interface DateRange {
  /** first day included, YYYY-MM-DD */
  from: string
  /** first day excluded, YYYY-MM-DD */
  to: string
}

/** The longest range a query accepts, in days: a year, leap years included. */
export const MAX_RANGE_DAYS = 366

const DAY_MS = 86_400_000

/** Days since 1970-01-01 of a valid YYYY-MM-DD date, or null (2024-02-30 is not a date). */
export function parseDay(value: string): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value)
  if (!match) return null
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const time = Date.UTC(year, month - 1, day)
  const back = new Date(time)
  if (
    back.getUTCFullYear() !== year ||
    back.getUTCMonth() !== month - 1 ||
    back.getUTCDate() !== day
  )
    return null
  return time / DAY_MS
}

export function formatDay(daysSinceEpoch: number): string {
  return new Date(daysSinceEpoch * DAY_MS).toISOString().slice(0, 10)
}

/** Checks a range and returns its length in days; throws InvalidQueryError naming the field. */
export function checkDateRange(range: DateRange, maxDays = MAX_RANGE_DAYS): number {
  const from = parseDay(range.from)
  if (from === null)
    throw new InvalidQueryError('from', `not a calendar date (YYYY-MM-DD): ${range.from}`)
  const to = parseDay(range.to)
  if (to === null)
    throw new InvalidQueryError('to', `not a calendar date (YYYY-MM-DD): ${range.to}`)
  if (to <= from) throw new InvalidQueryError('to', 'must be after from (the range is [from, to))')
  if (to - from > maxDays)
    throw new InvalidQueryError('to', `the range may span at most ${maxDays} days`)
  return to - from
}
