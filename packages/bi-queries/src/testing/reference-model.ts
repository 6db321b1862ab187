// Plain TypeScript computations of every BI output from the rows a fixture wrote: what the SQL
// must equal. They follow the contract's words, not the queries' code.
import type { AdminActivityRow } from '../admin-activity.js'
import type { CampaignDayRow } from '../campaign-daily-trend.js'
import type { CampaignLeadRow, LeadStatus } from '../campaign-leads.js'
import type { CampaignPerformanceRow } from '../campaign-performance.js'
import { formatDay, parseDay } from '../date-range.js'
import { COUNT_COLUMNS, type EmailRates } from '../email-metrics.js'
import type { MailboxRow } from '../mailboxes.js'
import { MIN_SAMPLE_SIZE, type RateUncertainty, rateUncertainty } from '../rate-uncertainty.js'
import type { StepFunnelRow } from '../step-funnel.js'
import type { TenantUsageRow } from '../tenant-usage.js'
import type { WarmupPerformanceRow } from '../warmup-performance.js'
import { wilsonInterval } from '../wilson-interval.js'
import type { AnalyticsFixture, Counts } from './analytics-fixture.js'
import { average, averageOfRates, ranks, rate, roundRatio } from './reference-arithmetic.js'

const zero = (): Counts => ({
  sent: 0,
  delivered: 0,
  opened_tracked: 0,
  clicked_tracked: 0,
  replied: 0,
  bounced: 0,
  unsubscribed: 0,
  spam_complaints: 0,
})

function add(total: Counts, row: Counts): Counts {
  for (const c of COUNT_COLUMNS) total[c] += row[c]
  return total
}

export function rates(c: Counts): EmailRates & RateUncertainty {
  return {
    delivery_rate: rate(c.delivered, c.sent),
    open_rate: rate(c.opened_tracked, c.delivered),
    click_rate: rate(c.clicked_tracked, c.delivered),
    reply_rate: rate(c.replied, c.delivered),
    bounce_rate: rate(c.bounced, c.sent),
    ...rateUncertainty(c),
  }
}

const inRange = (day: string, from: string, to: string) => day >= from && day < to
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
// rates compare with NULL below every number, as `desc nulls last` orders them
const higher = (a: number | null, b: number | null) => a !== null && (b === null || a > b)

export function expectedCampaignPerformance(
  f: AnalyticsFixture,
  tenantId: string,
  from: string,
  to: string,
): CampaignPerformanceRow[] {
  const groups = new Map<string, AnalyticsFixture['campaignDays']>()
  for (const r of f.campaignDays)
    if (r.tenant_id === tenantId && inRange(r.day, from, to))
      groups.set(r.campaign_id, [...(groups.get(r.campaign_id) ?? []), r])
  const rows = [...groups].map(([campaignId, days]) => {
    const counts = days.reduce((t, r) => add(t, r), zero())
    const sorted = days.map((d) => d.day).sort()
    const latest = days.reduce((a, b) => (a.day > b.day ? a : b))
    const campaign = f.campaigns.find((c) => c.tenant_id === tenantId && c.id === campaignId)
    return {
      campaign_id: campaignId,
      campaign_name: campaign?.name ?? null,
      company_id: latest.company_id,
      status: campaign?.status ?? latest.status,
      ...counts,
      completed_leads: days.reduce((t, r) => t + r.completed_leads, 0),
      ...rates(counts),
      active_days: days.length,
      first_day: sorted[0] as string,
      last_day: sorted[sorted.length - 1] as string,
      volume_rank: 0,
      open_rate_rank: 0,
      reply_rate_rank: 0,
    }
  })
  const volume = ranks(rows, (a, b) => a.sent > b.sent)
  // rate rankings: a sufficient sample first, then the 95% Wilson lower bound, unrounded
  const better = (
    a: CampaignPerformanceRow,
    b: CampaignPerformanceRow,
    x: 'opened_tracked' | 'replied',
  ) => {
    const smallA = a.delivered < MIN_SAMPLE_SIZE
    const smallB = b.delivered < MIN_SAMPLE_SIZE
    if (smallA !== smallB) return smallB
    return higher(
      wilsonInterval(a[x], a.delivered)?.lower ?? null,
      wilsonInterval(b[x], b.delivered)?.lower ?? null,
    )
  }
  const open = ranks(rows, (a, b) => better(a, b, 'opened_tracked'))
  const reply = ranks(rows, (a, b) => better(a, b, 'replied'))
  rows.forEach((r, i) => {
    r.volume_rank = volume[i] as number
    r.open_rate_rank = open[i] as number
    r.reply_rate_rank = reply[i] as number
  })
  return rows
}

export function expectedCampaignTrend(
  f: AnalyticsFixture,
  tenantId: string,
  campaignId: string,
  from: string,
  to: string,
): CampaignDayRow[] {
  const rows: CampaignDayRow[] = []
  for (let d = parseDay(from) as number; d < (parseDay(to) as number); d++) {
    const day = formatDay(d)
    const row = f.campaignDays.find(
      (r) => r.tenant_id === tenantId && r.campaign_id === campaignId && r.day === day,
    )
    const counts = row ? add(zero(), row) : zero()
    rows.push({ day, ...counts, completed_leads: row?.completed_leads ?? 0, ...rates(counts) })
  }
  return rows
}

export function expectedStepFunnel(
  f: AnalyticsFixture,
  tenantId: string,
  campaignId: string,
  from: string,
  to: string,
): StepFunnelRow[] {
  const steps = f.steps
    .filter((s) => s.tenant_id === tenantId && s.campaign_id === campaignId)
    .sort((a, b) => a.step_number - b.step_number || byText(a.id, b.id))
  const sums = steps.map((s) =>
    f.stepDays
      .filter(
        (r) => r.tenant_id === tenantId && r.sequence_step_id === s.id && inRange(r.day, from, to),
      )
      .reduce((t, r) => add(t, r), zero()),
  )
  return steps.map((s, i) => {
    const counts = sums[i] as Counts
    return {
      sequence_step_id: s.id,
      step_number: s.step_number,
      ...counts,
      ...rates(counts),
      share_of_first_step: rate(counts.sent, (sums[0] as Counts).sent),
      conversion_from_previous: i === 0 ? null : rate(counts.sent, (sums[i - 1] as Counts).sent),
    }
  })
}

export function expectedTenantUsage(
  f: AnalyticsFixture,
  tenantId: string,
  from: string,
  to: string,
): TenantUsageRow[] {
  const months = f.billing.filter((b) => b.tenant_id === tenantId)
  const nextMonth = (month: string) => {
    const [y, m] = month.split('-').map(Number) as [number, number]
    return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`
  }
  return months
    .filter((b) => `${b.month}-01` < to && `${nextMonth(b.month)}-01` > from)
    .sort((a, b) => byText(a.month, b.month))
    .map((b) => {
      const previous = months.find((p) => nextMonth(p.month) === b.month)?.emails_sent ?? 0
      return {
        period: b.month,
        billing_id: `${tenantId}:${b.month}`,
        period_start: b.period_start as string,
        period_end: b.period_end as string,
        subscription_id: b.subscription_id,
        emails_sent: b.emails_sent,
        mailboxes_used: b.mailboxes_used,
        domains_used: b.domains_used,
        campaigns_used: b.campaigns_used,
        leads_used: b.leads_used,
        warmups_active: b.warmups_active,
        emails_per_mailbox: roundRatio(BigInt(b.emails_sent), BigInt(b.mailboxes_used)),
        emails_per_campaign: roundRatio(BigInt(b.emails_sent), BigInt(b.campaigns_used)),
        previous_period_emails: previous,
        mom_growth: roundRatio(100n * BigInt(b.emails_sent - previous), BigInt(previous)),
      }
    })
}

export function expectedWarmupPerformance(
  f: AnalyticsFixture,
  tenantId: string,
  days: number,
  to: string,
): WarmupPerformanceRow[] {
  const from = formatDay((parseDay(to) as number) - days)
  const groups = new Map<string, AnalyticsFixture['warmupDays']>()
  for (const r of f.warmupDays)
    if (r.tenant_id === tenantId && inRange(r.day, from, to))
      groups.set(r.email_account_id, [...(groups.get(r.email_account_id) ?? []), r])
  const rows: WarmupPerformanceRow[] = []
  for (const [mailboxId, rowsOfMailbox] of groups) {
    if (rowsOfMailbox.length < 3) continue
    const sorted = [...rowsOfMailbox].sort((a, b) => byText(a.day, b.day))
    const firstRow = sorted[0] as (typeof sorted)[number]
    const lastRow = sorted[sorted.length - 1] as (typeof sorted)[number]
    const health = sorted.map((r) => r.health_score)
    const healthSum = health.reduce((a, b) => a + b, 0)
    const n = health.length
    rows.push({
      email_account_id: mailboxId,
      address:
        f.mailboxes.find((m) => m.tenant_id === tenantId && m.id === mailboxId)?.address ?? null,
      warmup_status:
        f.warmupStatus.find((w) => w.tenant_id === tenantId && w.email_account_id === mailboxId)
          ?.status ?? null,
      tracking_days: n,
      first_day: firstRow.day,
      last_day: lastRow.day,
      avg_health_score: average(health) as number,
      avg_progress_percentage: average(sorted.map((r) => r.progress_percentage)) as number,
      avg_delivery_rate: averageOfRates(sorted.map((r) => [r.delivered, r.sent] as const)),
      avg_daily_progress_increase: roundRatio(
        BigInt(lastRow.progress_percentage - firstRow.progress_percentage),
        BigInt((parseDay(lastRow.day) as number) - (parseDay(firstRow.day) as number)),
      ) as number,
      warmup_sent: sorted.reduce((t, r) => t + r.sent, 0),
      insufficient_sample: sorted.reduce((t, r) => t + r.sent, 0) < MIN_SAMPLE_SIZE,
      category:
        healthSum >= 80 * n
          ? 'Excellent'
          : healthSum >= 60 * n
            ? 'Good'
            : healthSum >= 40 * n
              ? 'Fair'
              : 'Poor',
    })
  }
  return rows.sort((a, b) => byText(a.email_account_id, b.email_account_id))
}

export function expectedMailboxes(
  f: AnalyticsFixture,
  tenantId: string,
  from: string,
  to: string,
): MailboxRow[] {
  return f.mailboxes
    .filter((m) => m.tenant_id === tenantId)
    .map((m) => {
      const days = f.mailboxDays
        .filter(
          (r) =>
            r.tenant_id === tenantId && r.email_account_id === m.id && inRange(r.day, from, to),
        )
        .sort((a, b) => byText(a.day, b.day))
      const latest = days[days.length - 1]
      const warmup = f.warmupDays
        .filter(
          (r) =>
            r.tenant_id === tenantId && r.email_account_id === m.id && inRange(r.day, from, to),
        )
        .sort((a, b) => byText(a.day, b.day))
      const counts = days.reduce((t, r) => add(t, r), zero())
      const healthSample = latest
        ? f.mailboxDays
            .filter(
              (r) =>
                r.tenant_id === tenantId &&
                r.email_account_id === m.id &&
                r.day <= latest.day &&
                (parseDay(r.day) as number) > (parseDay(latest.day) as number) - 7,
            )
            .reduce((t, r) => t + r.current_volume, 0)
        : null
      return {
        email_account_id: m.id,
        address: m.address,
        domain_id: m.domain_id,
        warmup_status:
          f.warmupStatus.find((w) => w.tenant_id === tenantId && w.email_account_id === m.id)
            ?.status ?? null,
        active_days: days.length,
        total_volume: days.reduce((t, r) => t + r.current_volume, 0),
        ...counts,
        ...rates(counts),
        last_active_day: latest?.day ?? null,
        health_score: latest?.health_score ?? null,
        health_sample_sent: healthSample,
        health_insufficient_sample: healthSample === null ? null : healthSample < MIN_SAMPLE_SIZE,
        campaign_status: latest?.campaign_status ?? null,
        warmup_progress_percentage: warmup[warmup.length - 1]?.progress_percentage ?? null,
      }
    })
}

export function expectedCampaignLeads(
  f: AnalyticsFixture,
  tenantId: string,
  campaignId: string,
  status?: LeadStatus,
): CampaignLeadRow[] {
  return f.leadCampaigns
    .filter(
      (r) =>
        r.tenant_id === tenantId &&
        r.campaign_id === campaignId &&
        (status === undefined || r.status === status),
    )
    .map((r) => {
      const counts = add(zero(), r)
      return {
        lead_id: r.lead_id,
        email: f.leads.find((l) => l.tenant_id === tenantId && l.id === r.lead_id)?.email ?? null,
        status: r.status,
        ...counts,
        last_sent_at: r.last_sent_at,
      }
    })
}

export function expectedAdminActivity(
  f: AnalyticsFixture,
  from: string,
  to: string,
): AdminActivityRow[] {
  const groups = new Map<string, AnalyticsFixture['audit']>()
  for (const a of f.audit) {
    const day = a.created_at.slice(0, 10)
    if (!inRange(day, from, to)) continue
    const key = JSON.stringify([
      a.admin_id,
      a.action,
      a.resource_type,
      day,
      Number(a.created_at.slice(11, 13)),
    ])
    groups.set(key, [...(groups.get(key) ?? []), a])
  }
  return [...groups].map(([key, entries]) => {
    const [admin_id, action, resource_type, day, hour] = JSON.parse(key) as [
      string,
      string,
      string,
      string,
      number,
    ]
    const distinct = (values: (string | null)[]) => new Set(values.filter((v) => v !== null)).size
    return {
      admin_id,
      action,
      resource_type,
      day,
      hour,
      action_count: entries.length,
      tenants_affected: distinct(entries.map((e) => e.tenant_id)),
      unique_ips: distinct(entries.map((e) => e.ip_address)),
      time_category:
        hour >= 9 && hour <= 17
          ? 'Business Hours'
          : hour >= 18 && hour <= 22
            ? 'After Hours'
            : 'Night Time',
    }
  })
}
