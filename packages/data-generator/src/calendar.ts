// Calendar days of a tenant's time zone: where its local midnights fall in UTC, across
// daylight-saving changes and in half-hour zones.

export const DAY_MS = 86_400_000
export const HOUR_MS = 3_600_000

/** Days since 1970-01-01 of a 'YYYY-MM-DD' date. */
export function dayNumber(day: string): number {
  return Date.parse(`${day}T00:00:00Z`) / DAY_MS
}

/** The 'YYYY-MM-DD' date of a day number. */
export function dayString(n: number): string {
  return new Date(n * DAY_MS).toISOString().slice(0, 10)
}

/** 0 = Sunday … 6 = Saturday, of a day number. */
export function weekday(n: number): number {
  return (((n + 4) % 7) + 7) % 7
}

const partFormatters = new Map<string, Intl.DateTimeFormat>()
function partsFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = partFormatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    partFormatters.set(timeZone, f)
  }
  return f
}

/** The wall-clock time of an instant in a zone, read as if it were UTC (ms). */
function wallClock(at: number, timeZone: string): number {
  const p: Record<string, number> = {}
  for (const x of partsFormatter(timeZone).formatToParts(new Date(at))) p[x.type] = Number(x.value)
  const part = (name: string) => p[name] ?? 0
  return Date.UTC(
    part('year'),
    part('month') - 1,
    part('day'),
    part('hour'),
    part('minute'),
    part('second'),
  )
}

/** The zone's offset from UTC at an instant (ms, east positive). */
export function zoneOffset(at: number, timeZone: string): number {
  return wallClock(at, timeZone) - Math.floor(at / 1000) * 1000
}

/** The day number of an instant's calendar day in a zone. */
export function localDayNumber(at: number, timeZone: string): number {
  return Math.floor((at + zoneOffset(at, timeZone)) / DAY_MS)
}

/** The first instant of a local calendar day (its midnight), in ms since the epoch. */
export function localMidnight(day: number, timeZone: string): number {
  const wall = day * DAY_MS
  let at = wall - zoneOffset(wall, timeZone)
  at = wall - zoneOffset(at, timeZone)
  return at
}

/**
 * A tenant's days, numbered from the first day of the generated window (0) to its last (days − 1),
 * the local day that contains the end instant. Negative numbers are days before the window.
 */
export class TenantCalendar {
  readonly timeZone: string
  /** the day number (since 1970) of window day 0 */
  readonly firstDay: number
  readonly days: number
  readonly #midnights = new Map<number, number>()
  readonly #middays = new Map<number, number>()

  constructor(timeZone: string, end: number, days: number) {
    this.timeZone = timeZone
    this.days = days
    this.firstDay = localDayNumber(end - 1, timeZone) - (days - 1)
  }

  /** The instant local day `d` of the window starts. */
  midnight(d: number): number {
    let at = this.#midnights.get(d)
    if (at === undefined) {
      at = localMidnight(this.firstDay + d, this.timeZone)
      this.#midnights.set(d, at)
    }
    return at
  }

  /**
   * The instant local day `d` shows `ms` after midnight on the wall clock, for times after the
   * day's clock change (which happens at night): 09:00 is 09:00 on the day the clocks go forward too.
   */
  wallClock(d: number, ms: number): number {
    let at = this.#middays.get(d)
    if (at === undefined) {
      const midnight = this.midnight(d)
      at =
        midnight +
        zoneOffset(midnight, this.timeZone) -
        zoneOffset(midnight + 12 * HOUR_MS, this.timeZone)
      this.#middays.set(d, at)
    }
    return at + ms
  }

  /** How long local day `d` lasts: 23 or 25 hours on daylight-saving changes. */
  length(d: number): number {
    return this.midnight(d + 1) - this.midnight(d)
  }

  isWeekend(d: number): boolean {
    const w = weekday(this.firstDay + d)
    return w === 0 || w === 6
  }

  /** The window day of an instant. */
  dayOf(at: number): number {
    return localDayNumber(at, this.timeZone) - this.firstDay
  }
}
