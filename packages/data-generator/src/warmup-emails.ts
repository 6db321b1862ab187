import type { TenantCalendar } from './calendar.js'
import { emptyOutcome, type Outcome, sampleWarmupOutcome } from './email-outcome.js'
import { apportion, STREAM, seededRandom } from './random.js'
import type { MailboxPlan, TenantPlan } from './world.js'

/** A window day on which a mailbox warms up: its share of the volume and when sends may happen. */
interface WarmupDay {
  day: number
  /**
   * the ramp: day n of r sends n/r of the full volume, then the full volume; a day cut short (the
   * warmup's first, the window's last) in proportion to the time left
   */
  weight: number
  /** ms after the local midnight: sends happen in [from, to) */
  from: number
  to: number
}

function warmupDays(mailbox: MailboxPlan, cal: TenantCalendar, end: number): WarmupDay[] {
  const w = mailbox.warmup
  if (!w) return []
  const out: WarmupDay[] = []
  const lastDay = Math.min(cal.days - 1, w.pausedDay ?? cal.days - 1)
  for (let day = Math.max(0, w.startDay); day <= lastDay; day++) {
    const midnight = cal.midnight(day)
    // nothing before the warmup started, nothing at or after the end
    const from = day === w.startDay ? Math.max(0, w.startedAt - midnight) : 0
    const to = Math.min(cal.length(day), end - midnight)
    if (to <= from) continue
    const ramp = Math.min(1, (day - w.startDay + 1) / w.rampDays)
    out.push({ day, weight: (ramp * (to - from)) / cal.length(day), from, to })
  }
  return out
}

/** How much a mailbox warms up in the window, relative to the others. */
export function warmupWeight(mailbox: MailboxPlan, cal: TenantCalendar, end: number): number {
  return warmupDays(mailbox, cal, end).reduce((a, d) => a + d.weight, 0)
}

/**
 * The mailbox's warmup emails, day by day and in time order within a day: its volume follows the
 * ramp (never fewer emails on a later whole day). Yields one reused outcome per email.
 */
export function* warmupEmails(
  seed: number,
  tenant: TenantPlan,
  mailbox: MailboxPlan,
  end: number,
): Generator<Outcome> {
  const r = seededRandom(seed, STREAM.warmup, tenant.index, mailbox.index)
  const days = warmupDays(mailbox, tenant.calendar, end)
  const counts = apportion(
    mailbox.warmupEmails,
    days.map((d) => d.weight),
  )
  const o = emptyOutcome()
  for (let i = 0; i < days.length; i++) {
    const d = days[i] as WarmupDay
    const n = counts[i] as number
    if (n === 0) continue
    const midnight = tenant.calendar.midnight(d.day)
    const times = new Float64Array(n)
    for (let k = 0; k < n; k++)
      times[k] = midnight + d.from + Math.floor(r.next() * (d.to - d.from))
    times.sort()
    for (let k = 0; k < n; k++) {
      sampleWarmupOutcome(r, times[k] as number, end, o)
      yield o
    }
  }
}
