// Days and months as 'YYYY-MM-DD' strings in UTC: partition bounds and archive cutoffs must not
// depend on the session's (or this process's) time zone.

export type Day = string

export interface Age {
  count: number
  unit: 'y' | 'm' | 'w' | 'd'
  text: string
}

export function parseAge(raw: string): Age | undefined {
  const match = /^(\d{1,4})([ymwd])$/.exec(raw.trim())
  if (!match) return undefined
  return { count: Number(match[1]), unit: match[2] as Age['unit'], text: raw.trim() }
}

/** The UTC calendar day of an instant. */
export function utcDay(at: Date): Day {
  return at.toISOString().slice(0, 10)
}

export function monthOf(day: Day): Day {
  return `${day.slice(0, 7)}-01`
}

function parts(day: Day): [number, number, number] {
  return [Number(day.slice(0, 4)), Number(day.slice(5, 7)), Number(day.slice(8, 10))]
}

function format(year: number, month: number, date: number): Day {
  return new Date(Date.UTC(year, month - 1, date)).toISOString().slice(0, 10)
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

/** The first day of the month `n` months after (or before, for n < 0) `day`'s month. */
export function addMonths(day: Day, n: number): Day {
  const [y, m] = parts(day)
  return format(y, m + n, 1)
}

export function addDays(day: Day, n: number): Day {
  const [y, m, d] = parts(day)
  return format(y, m, d + n)
}

/** `day` minus `age`; a date missing in the target month (Feb 29) becomes its month's last day. */
export function subtractAge(day: Day, age: Age): Day {
  const [y, m, d] = parts(day)
  if (age.unit === 'd') return format(y, m, d - age.count)
  if (age.unit === 'w') return format(y, m, d - 7 * age.count)
  const months = age.unit === 'y' ? 12 * age.count : age.count
  const target = new Date(Date.UTC(y, m - 1 - months, 1))
  const ty = target.getUTCFullYear()
  const tm = target.getUTCMonth() + 1
  return format(ty, tm, Math.min(d, daysInMonth(ty, tm)))
}

/** The months [from, to] (first days), oldest first. */
export function monthRange(from: Day, to: Day): Day[] {
  const out: Day[] = []
  for (let m = monthOf(from); m <= to; m = addMonths(m, 1)) out.push(m)
  return out
}

/** `<table>_yYYYYmMM`, the name the partitions of `table` for `month` have. */
export function partitionName(table: string, month: Day): string {
  return `${table}_y${month.slice(0, 4)}m${month.slice(5, 7)}`
}
