import { DAY_MS, dayString, HOUR_MS, localMidnight, weekday } from './calendar.js'
import type { SourceTable } from './options.js'
import { instant as iso, type Row } from './source-tables.js'

/**
 * The edge cases `edgeCases: true` adds, in three tenants of their own (so the random data stays
 * as it was), for the aggregator's exactness tests:
 * - campaign and warmup sends at exactly local midnight and at 23:59:59.999 on the most recent
 *   day New York's clocks went forward, the most recent day they went back, and the most recent
 *   month end (plus one at the first instant of the next month), in UTC, America/New_York and
 *   Asia/Kolkata;
 * - a queued email (sent_at NULL) and a failed one with sent_at;
 * - a completed campaign with nothing delivered (one hard bounce, one failure);
 * - a warmup-only mailbox (m2), a mailbox without a warmup row (m3), a warmup email before its
 *   warmup's started_at (m1), a draft campaign with steps and no email, a paused one with a queued step;
 * - a lead who complained and replied, a lead who unsubscribed;
 * - a tenant with no subscription (edge-utc) and one with overlapping subscriptions, two of them
 *   starting at the same instant (edge-ny).
 * Every day used is at least three days before the end, so every send and event precedes it.
 */
export const EDGE_CASE_TENANTS = [
  { id: 'edge-utc', timeZone: 'UTC' },
  { id: 'edge-ny', timeZone: 'America/New_York' },
  { id: 'edge-ist', timeZone: 'Asia/Kolkata' },
] as const

export interface EdgeCaseDays {
  /** day numbers since 1970-01-01 of New York's most recent spring-forward and fall-back days */
  springForward: number
  fallBack: number
  monthEnd: number
  /** the day the warmup of each edge tenant's m1 starts (at noon) */
  anchor: number
}

function mostRecent(from: number, test: (day: number) => boolean): number {
  for (let d = from; d > from - 800; d--) if (test(d)) return d
  throw new Error(`no such day in the 800 days before ${dayString(from)}`)
}

export function edgeCaseDays(end: number): EdgeCaseDays {
  const limit = Math.floor(end / DAY_MS) - 3
  const date = (d: number) => dayString(d)
  const dom = (d: number) => Number(date(d).slice(8, 10))
  const month = (d: number) => Number(date(d).slice(5, 7))
  return {
    // second Sunday of March, first Sunday of November (the US rules since 2007)
    springForward: mostRecent(
      limit,
      (d) => month(d) === 3 && weekday(d) === 0 && dom(d) >= 8 && dom(d) <= 14,
    ),
    fallBack: mostRecent(limit, (d) => month(d) === 11 && weekday(d) === 0 && dom(d) <= 7),
    monthEnd: mostRecent(limit - 1, (d) => dom(d + 1) === 1),
    anchor: limit - 7,
  }
}

type EdgeRows = Record<SourceTable, Row[]>

export function edgeCaseRows(end: number, firstEmailId: number): EdgeRows {
  const days = edgeCaseDays(end)
  const out: EdgeRows = {
    tenants: [],
    subscriptions: [],
    companies: [],
    domains: [],
    email_accounts: [],
    warmup_status: [],
    campaigns: [],
    campaign_sequence_steps: [],
    leads: [],
    emails: [],
  }
  let id = firstEmailId
  const edgeDays = [days.springForward, days.fallBack, days.monthEnd]
  const earliest = Math.min(...edgeDays, days.anchor - 1)
  for (const { id: T, timeZone } of EDGE_CASE_TENANTS) {
    const midnight = (day: number) => localMidnight(day, timeZone)
    const at = (day: number, hours: number) => midnight(day) + hours * HOUR_MS
    const co = `${T}-co`
    out.tenants.push([T, `Edge cases (${timeZone})`, timeZone, iso(midnight(earliest - 90))])
    out.companies.push([T, co, 'Edge Cases Inc', iso(midnight(earliest - 90))])
    out.domains.push(
      [T, `${T}-d1`, co, 'edge-one.example', iso(midnight(earliest - 80))],
      [T, `${T}-d2`, co, 'edge-two.example', iso(midnight(earliest - 80))],
    )
    out.email_accounts.push(
      [T, `${T}-m1`, co, `${T}-d1`, 'ana@edge-one.example', iso(midnight(earliest - 70))],
      [T, `${T}-m2`, co, `${T}-d1`, 'ben@edge-one.example', iso(midnight(earliest - 70))],
      [T, `${T}-m3`, co, `${T}-d2`, 'cy@edge-two.example', iso(midnight(earliest - 70))],
    )
    out.warmup_status.push(
      [T, `${T}-w1`, `${T}-m1`, 'active', iso(at(days.anchor, 12)), '14'],
      [T, `${T}-w2`, `${T}-m2`, 'completed', iso(midnight(earliest - 1)), '30'],
    )
    const k = (n: number) => `${T}-k${n}`
    const s = (n: number, step: number) => `${T}-k${n}-s${step}`
    out.campaigns.push(
      [
        T,
        k(1),
        co,
        'Edge: three steps',
        'active',
        iso(at(earliest - 3, 9)),
        iso(at(earliest - 1, 7)),
        null,
      ],
      [
        T,
        k(2),
        co,
        'Edge: nothing delivered',
        'completed',
        iso(at(days.anchor - 2, 9)),
        iso(at(days.anchor + 1, 9)),
        iso(at(days.anchor + 1, 18)),
      ],
      [
        T,
        k(3),
        co,
        'Edge: paused',
        'paused',
        iso(at(days.anchor, 9)),
        iso(at(days.anchor + 2, 8)),
        null,
      ],
      [T, k(4), co, 'Edge: draft', 'draft', iso(at(days.anchor, 9)), null, null],
    )
    for (const [n, steps] of [
      [1, 3],
      [2, 1],
      [3, 2],
      [4, 2],
    ] as const) {
      for (let step = 1; step <= steps; step++) {
        out.campaign_sequence_steps.push([T, s(n, step), co, k(n), String(step)])
      }
    }
    const l = (n: number) => `${T}-l${n}`
    for (let n = 1; n <= 12; n++) {
      out.leads.push([T, l(n), co, `lead${n}@prospect.example`, iso(midnight(earliest - 30))])
    }

    interface EdgeEmail {
      mailbox: string
      campaign?: [number, number, number]
      status: string
      sentAt: number
      opened?: number
      replied?: number
      bounceType?: string
      unsubscribed?: number
      complaint?: number
      updatedAt?: number
    }
    const email = (e: EdgeEmail) => {
      const c = e.campaign
      const events = [e.opened, e.replied, e.unsubscribed, e.complaint].filter(
        (x): x is number => x !== undefined,
      )
      const updatedAt = e.updatedAt ?? Math.max(e.sentAt, ...events)
      const t = (x: number | undefined) => (x === undefined ? null : iso(x))
      out.emails.push([
        T,
        String(id++),
        co,
        `${T}-m${e.mailbox}`,
        c ? 'f' : 't',
        c ? k(c[0]) : null,
        c ? s(c[0], c[1]) : null,
        c ? l(c[2]) : null,
        e.status,
        iso(e.sentAt),
        t(e.opened),
        null,
        t(e.replied),
        e.bounceType ?? null,
        t(e.unsubscribed),
        t(e.complaint),
        iso(updatedAt),
      ])
    }
    edgeDays.forEach((day, i) => {
      const first = midnight(day)
      const lastMs = midnight(day + 1) - 1
      email({
        mailbox: '1',
        campaign: [1, 1, 1 + i],
        status: 'delivered',
        sentAt: first,
        opened: first + HOUR_MS,
      })
      email({ mailbox: '3', campaign: [1, 3, 4 + i], status: 'delivered', sentAt: lastMs })
      email({ mailbox: '2', status: 'delivered', sentAt: first })
      email({ mailbox: '2', status: 'delivered', sentAt: lastMs })
    })
    // the first instant of the month after the month end
    email({
      mailbox: '1',
      campaign: [1, 2, 7],
      status: 'delivered',
      sentAt: midnight(days.monthEnd + 1),
    })
    const a = days.anchor
    email({ mailbox: '1', campaign: [1, 1, 8], status: 'failed', sentAt: at(a, 9) })
    email({
      mailbox: '1',
      campaign: [1, 2, 8],
      status: 'queued',
      sentAt: Number.NaN,
      updatedAt: at(a, 9),
    })
    email({
      mailbox: '3',
      campaign: [2, 1, 9],
      status: 'bounced',
      bounceType: 'hard',
      sentAt: at(a + 1, 10),
    })
    email({ mailbox: '3', campaign: [2, 1, 10], status: 'failed', sentAt: at(a + 1, 11) })
    // m1's warmup starts at noon on the anchor day: one warmup email the day before, one after
    email({ mailbox: '1', status: 'delivered', sentAt: at(a - 1, 10) })
    email({ mailbox: '1', status: 'delivered', sentAt: at(a + 1, 10), opened: at(a + 1, 11) })
    email({
      mailbox: '1',
      campaign: [1, 1, 11],
      status: 'delivered',
      sentAt: at(a + 2, 10),
      opened: at(a + 2, 10) + 600_000,
      replied: at(a + 2, 12),
      complaint: at(a + 2, 13),
    })
    email({
      mailbox: '3',
      campaign: [3, 1, 12],
      status: 'delivered',
      sentAt: at(a + 2, 11),
      opened: at(a + 2, 11.5),
    })
    email({
      mailbox: '3',
      campaign: [3, 2, 12],
      status: 'queued',
      sentAt: Number.NaN,
      updatedAt: at(a + 2, 11),
    })
    email({
      mailbox: '3',
      campaign: [3, 1, 1],
      status: 'delivered',
      sentAt: at(a + 2, 12),
      unsubscribed: at(a + 2, 13),
    })
  }

  if (out.tenants.length > 0) {
    const ny = 'edge-ny'
    const nyMidnight = (day: number) => localMidnight(day, 'America/New_York')
    out.subscriptions.push(
      [
        ny,
        'edge-ny-sub1',
        'starter',
        'cancelled',
        iso(nyMidnight(earliest - 60)),
        iso(nyMidnight(days.monthEnd) + 12 * HOUR_MS),
      ],
      [ny, 'edge-ny-sub2', 'pro', 'active', iso(nyMidnight(days.monthEnd - 5)), null],
      [ny, 'edge-ny-sub3', 'pro', 'active', iso(nyMidnight(days.monthEnd - 5)), null],
      [
        'edge-ist',
        'edge-ist-sub1',
        'growth',
        'active',
        iso(localMidnight(earliest - 60, 'Asia/Kolkata')),
        null,
      ],
    )
  }
  return out
}
