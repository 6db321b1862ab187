// The contract (shared/spec/analytics-contract.md §2–3) computed in plain TypeScript over source
// rows, independently of the SQL under test: the reference the analytics tables must equal.

export interface SourceRows {
  tenants: { id: string; time_zone: string }[]
  subscriptions: { tenant_id: string; id: string; started_at: Date; ended_at: Date | null }[]
  email_accounts: { tenant_id: string; id: string; company_id: string; domain_id: string }[]
  warmup_status: {
    tenant_id: string
    id: string
    email_account_id: string
    status: string
    started_at: Date
    ramp_days: number
  }[]
  campaigns: { tenant_id: string; id: string; company_id: string; status: string }[]
  campaign_sequence_steps: {
    tenant_id: string
    id: string
    company_id: string
    campaign_id: string
    step_number: number
  }[]
  emails: {
    tenant_id: string
    id: string
    email_account_id: string
    is_warmup: boolean
    campaign_id: string | null
    sequence_step_id: string | null
    lead_id: string | null
    status: string
    sent_at: Date | null
    opened_at: Date | null
    clicked_at: Date | null
    replied_at: Date | null
    bounce_type: string | null
    unsubscribed_at: Date | null
    complaint_at: Date | null
  }[]
}

type Email = SourceRows['emails'][number]
export type Row = Record<string, string | number | null>
export type Tables = Record<
  | 'campaign_analytics'
  | 'sequence_step_analytics'
  | 'mailbox_analytics'
  | 'warmup_analytics'
  | 'lead_analytics'
  | 'billing_analytics',
  Row[]
>

const formatters = new Map<string, Intl.DateTimeFormat>()
/** The calendar day of an instant in a time zone, 'YYYY-MM-DD'. */
export function localDay(at: Date, timeZone: string): string {
  let f = formatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    })
    formatters.set(timeZone, f)
  }
  return f.format(at)
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>()
function offsetMs(at: number, timeZone: string): number {
  let f = offsetFormatters.get(timeZone)
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
    offsetFormatters.set(timeZone, f)
  }
  const p = Object.fromEntries(f.formatToParts(new Date(at)).map((x) => [x.type, Number(x.value)]))
  const part = (name: string) => p[name] ?? 0
  const wall = Date.UTC(
    part('year'),
    part('month') - 1,
    part('day'),
    part('hour'),
    part('minute'),
    part('second'),
  )
  return wall - Math.floor(at / 1000) * 1000
}

/** The first instant of a local day (its midnight), as an ISO string. */
export function localMidnight(day: string, timeZone: string): string {
  const wall = Date.parse(`${day}T00:00:00Z`)
  let at = wall - offsetMs(wall, timeZone)
  at = wall - offsetMs(at, timeZone)
  return new Date(at).toISOString()
}

const dayNumber = (d: string) => Date.parse(`${d}T00:00:00Z`) / 86_400_000
const addDays = (d: string, n: number) =>
  new Date((dayNumber(d) + n) * 86_400_000).toISOString().slice(0, 10)
const nextMonth = (m: string) => {
  const [y, mo] = m.split('-').map(Number) as [number, number]
  return mo === 12 ? `${y + 1}-01-01` : `${y}-${String(mo + 1).padStart(2, '0')}-01`
}

interface Counts {
  sent: number
  delivered: number
  opened_tracked: number
  clicked_tracked: number
  replied: number
  bounced: number
  unsubscribed: number
  spam_complaints: number
}

function counts(emails: Email[]): Counts {
  return {
    sent: emails.length,
    delivered: emails.filter((e) => e.status === 'delivered').length,
    opened_tracked: emails.filter((e) => e.opened_at !== null).length,
    clicked_tracked: emails.filter((e) => e.clicked_at !== null).length,
    replied: emails.filter((e) => e.replied_at !== null).length,
    bounced: emails.filter((e) => e.bounce_type !== null).length,
    unsubscribed: emails.filter((e) => e.unsubscribed_at !== null).length,
    spam_complaints: emails.filter((e) => e.complaint_at !== null).length,
  }
}

export function health(emails: Email[]): number {
  const n = emails.length
  if (n === 0) return 100
  const b = emails.filter((e) => e.bounce_type !== null).length
  const c = emails.filter((e) => e.complaint_at !== null).length
  return 100 - Math.min(50, Math.floor((600 * b) / n)) - Math.min(50, Math.floor((10000 * c) / n))
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>()
  for (const i of items) {
    const k = key(i)
    const list = m.get(k)
    if (list) list.push(i)
    else m.set(k, [i])
  }
  return m
}

export function computeContract(src: SourceRows): Tables {
  const tz = new Map(src.tenants.map((t) => [t.id, t.time_zone]))
  const key = (...parts: (string | null)[]) => parts.join('\u0000')
  const campaigns = new Map(src.campaigns.map((c) => [key(c.tenant_id, c.id), c]))
  const steps = new Map(src.campaign_sequence_steps.map((s) => [key(s.tenant_id, s.id), s]))
  const mailboxes = new Map(src.email_accounts.map((m) => [key(m.tenant_id, m.id), m]))
  const warmups = new Map(src.warmup_status.map((w) => [key(w.tenant_id, w.email_account_id), w]))
  const finalStep = new Map<string, string>()
  for (const [k, list] of groupBy(src.campaign_sequence_steps, (s) =>
    key(s.tenant_id, s.campaign_id),
  )) {
    const top = [...list].sort((a, b) => b.step_number - a.step_number)[0]
    if (top) finalStep.set(k, top.id)
  }
  const sent = src.emails
    .filter((e) => e.sent_at !== null && tz.has(e.tenant_id))
    .map((e) => ({ ...e, day: localDay(e.sent_at as Date, tz.get(e.tenant_id) as string) }))
  const campaignEmails = sent.filter((e) => !e.is_warmup && e.campaign_id !== null)
  const billingId = (tenant: string, day: string) => `${tenant}:${day.slice(0, 7)}`

  const campaign_analytics: Row[] = []
  for (const list of groupBy(campaignEmails, (e) =>
    key(e.tenant_id, e.campaign_id, e.day),
  ).values()) {
    const e0 = list[0] as (typeof list)[number]
    const c = campaigns.get(key(e0.tenant_id, e0.campaign_id))
    if (!c) continue
    const fin = finalStep.get(key(e0.tenant_id, e0.campaign_id))
    campaign_analytics.push({
      tenant_id: e0.tenant_id,
      company_id: c.company_id,
      campaign_id: c.id,
      day: e0.day,
      billing_id: billingId(e0.tenant_id, e0.day),
      ...counts(list),
      completed_leads: new Set(list.filter((e) => e.sequence_step_id === fin).map((e) => e.lead_id))
        .size,
      status: c.status,
    })
  }

  const sequence_step_analytics: Row[] = []
  for (const list of groupBy(campaignEmails, (e) =>
    key(e.tenant_id, e.sequence_step_id, e.day),
  ).values()) {
    const e0 = list[0] as (typeof list)[number]
    const s = steps.get(key(e0.tenant_id, e0.sequence_step_id))
    if (!s) continue
    const own = list.filter((e) => e.campaign_id === s.campaign_id)
    if (own.length === 0) continue
    sequence_step_analytics.push({
      tenant_id: e0.tenant_id,
      company_id: s.company_id,
      campaign_id: s.campaign_id,
      sequence_step_id: s.id,
      step_number: s.step_number,
      day: e0.day,
      billing_id: billingId(e0.tenant_id, e0.day),
      ...counts(own),
    })
  }

  const byMailbox = groupBy(sent, (e) => key(e.tenant_id, e.email_account_id))
  const mailbox_analytics: Row[] = []
  const warmup_analytics: Row[] = []
  for (const list of byMailbox.values()) {
    const e0 = list[0] as (typeof list)[number]
    const m = mailboxes.get(key(e0.tenant_id, e0.email_account_id))
    if (!m) continue
    const w = warmups.get(key(e0.tenant_id, m.id))
    const zone = tz.get(e0.tenant_id) as string
    const byDay = groupBy(list, (e) => e.day)
    const window = (day: string, pick: (e: Email) => boolean) =>
      list.filter((e) => pick(e) && e.day <= day && e.day >= addDays(day, -6))
    for (const [day, dayList] of byDay) {
      const campaignOnes = dayList.filter((e) => !e.is_warmup)
      mailbox_analytics.push({
        tenant_id: m.tenant_id,
        company_id: m.company_id,
        email_account_id: m.id,
        day,
        billing_id: billingId(m.tenant_id, day),
        ...counts(campaignOnes),
        current_volume: dayList.length,
        warmup_status: w?.status ?? null,
        campaign_status: campaignOnes.length > 0 ? 'active' : 'idle',
        health_score: health(window(day, () => true)),
      })
      const warmupOnes = dayList.filter((e) => e.is_warmup)
      if (warmupOnes.length === 0) continue
      let progress = 0
      if (w) {
        const start = localDay(w.started_at, zone)
        if (day >= start) {
          progress = Math.min(
            100,
            Math.floor((100 * (dayNumber(day) - dayNumber(start) + 1)) / w.ramp_days),
          )
        }
      }
      warmup_analytics.push({
        tenant_id: m.tenant_id,
        company_id: m.company_id,
        email_account_id: m.id,
        day,
        billing_id: billingId(m.tenant_id, day),
        ...counts(warmupOnes),
        health_score: health(window(day, (e) => e.is_warmup)),
        progress_percentage: progress,
      })
    }
  }

  const lead_analytics: Row[] = []
  for (const list of groupBy(
    campaignEmails.filter((e) => e.lead_id !== null),
    (e) => key(e.tenant_id, e.lead_id, e.campaign_id),
  ).values()) {
    const e0 = list[0] as (typeof list)[number]
    const c = campaigns.get(key(e0.tenant_id, e0.campaign_id))
    if (!c) continue
    const k = counts(list)
    const fin = finalStep.get(key(e0.tenant_id, e0.campaign_id))
    const last = new Date(Math.max(...list.map((e) => (e.sent_at as Date).getTime())))
    const status =
      k.spam_complaints > 0
        ? 'complained'
        : k.unsubscribed > 0
          ? 'unsubscribed'
          : k.bounced > 0
            ? 'bounced'
            : k.replied > 0
              ? 'replied'
              : list.some((e) => e.sequence_step_id === fin)
                ? 'completed'
                : 'contacted'
    lead_analytics.push({
      tenant_id: e0.tenant_id,
      company_id: c.company_id,
      lead_id: e0.lead_id,
      campaign_id: c.id,
      billing_id: billingId(e0.tenant_id, localDay(last, tz.get(e0.tenant_id) as string)),
      ...k,
      status,
      last_sent_at: last.toISOString(),
    })
  }

  const billing_analytics: Row[] = []
  for (const list of groupBy(sent, (e) => key(e.tenant_id, e.day.slice(0, 7))).values()) {
    const e0 = list[0] as (typeof list)[number]
    const zone = tz.get(e0.tenant_id) as string
    const month = `${e0.day.slice(0, 7)}-01`
    const start = localMidnight(month, zone)
    const end = localMidnight(nextMonth(month), zone)
    const campaignOnes = list.filter((e) => !e.is_warmup)
    const domains = new Set(
      list
        .map((e) => mailboxes.get(key(e.tenant_id, e.email_account_id))?.domain_id)
        .filter((d) => d !== undefined),
    )
    const subscription = src.subscriptions
      .filter(
        (s) =>
          s.tenant_id === e0.tenant_id &&
          s.started_at.toISOString() < end &&
          (s.ended_at === null || s.ended_at.toISOString() > start),
      )
      .sort((a, b) =>
        a.started_at.getTime() !== b.started_at.getTime()
          ? b.started_at.getTime() - a.started_at.getTime()
          : b.id < a.id
            ? -1
            : 1,
      )[0]
    billing_analytics.push({
      tenant_id: e0.tenant_id,
      id: `${e0.tenant_id}:${e0.day.slice(0, 7)}`,
      period_start: start,
      period_end: end,
      subscription_id: subscription?.id ?? null,
      emails_sent: campaignOnes.length,
      mailboxes_used: new Set(list.map((e) => e.email_account_id)).size,
      domains_used: domains.size,
      campaigns_used: new Set(campaignOnes.map((e) => e.campaign_id)).size,
      leads_used: new Set(campaignOnes.map((e) => e.lead_id)).size,
      warmups_active: new Set(list.filter((e) => e.is_warmup).map((e) => e.email_account_id)).size,
    })
  }
  return {
    campaign_analytics,
    sequence_step_analytics,
    mailbox_analytics,
    warmup_analytics,
    lead_analytics,
    billing_analytics,
  }
}
