// Calendar days as YYYY-MM-DD strings, computed in UTC so that no time zone shifts them. The page
// shows [from, to] with `to` included; the API takes [from, to) with `to` excluded.

const DAY_MS = 86_400_000

export function addDays(day, n) {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10)
}

export function daysBetween(from, to) {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS)
}

/** Today in the browser's time zone. */
export function today() {
  const now = new Date()
  const local = new Date(now.getTime() - now.getTimezoneOffset() * 60_000)
  return local.toISOString().slice(0, 10)
}

/** The last `days` days up to today, both included. */
export function lastDays(days) {
  const to = today()
  return { from: addDays(to, -(days - 1)), to }
}

/** The API's half-open range of a shown [from, to]. */
export function apiRange(range) {
  return { from: range.from, to: addDays(range.to, 1) }
}

/** Seconds since the epoch of a day's UTC midnight: the x values of the trend chart. */
export function dayToSeconds(day) {
  return Date.parse(`${day}T00:00:00Z`) / 1000
}
