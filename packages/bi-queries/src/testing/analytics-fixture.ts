import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { LEAD_STATUSES, type LeadStatus } from '../campaign-leads.js'
import { formatDay, parseDay } from '../date-range.js'
import type { CountColumn } from '../email-metrics.js'
import { type Random, seededRandom } from './random.js'

export type Counts = Record<CountColumn, number>

export interface FixtureTenant {
  id: string
  time_zone: string
}

export interface CampaignDay extends Counts {
  tenant_id: string
  company_id: string
  campaign_id: string
  day: string
  completed_leads: number
  status: string
}

export interface StepDay extends Counts {
  tenant_id: string
  company_id: string
  campaign_id: string
  sequence_step_id: string
  step_number: number
  day: string
}

export interface MailboxDay extends Counts {
  tenant_id: string
  company_id: string
  email_account_id: string
  day: string
  current_volume: number
  warmup_status: string | null
  campaign_status: 'active' | 'idle'
  health_score: number
}

export interface WarmupDay extends Counts {
  tenant_id: string
  company_id: string
  email_account_id: string
  day: string
  health_score: number
  progress_percentage: number
}

export interface LeadCampaign extends Counts {
  tenant_id: string
  company_id: string
  lead_id: string
  campaign_id: string
  status: LeadStatus
  /** ISO 8601 with microseconds, UTC */
  last_sent_at: string
}

export interface BillingPeriod {
  tenant_id: string
  /** YYYY-MM in the tenant's zone */
  month: string
  subscription_id: string | null
  emails_sent: number
  mailboxes_used: number
  domains_used: number
  campaigns_used: number
  leads_used: number
  warmups_active: number
  /** filled in from the database after writing: the month's first instant in the tenant's zone */
  period_start?: string
  period_end?: string
}

export interface AuditEntry {
  admin_id: string
  action: string
  resource_type: string
  tenant_id: string | null
  ip_address: string | null
  /** ISO 8601, UTC */
  created_at: string
}

export interface AnalyticsFixture {
  tenants: FixtureTenant[]
  campaigns: { tenant_id: string; id: string; company_id: string; name: string; status: string }[]
  steps: { tenant_id: string; id: string; campaign_id: string; step_number: number }[]
  mailboxes: { tenant_id: string; id: string; domain_id: string; address: string }[]
  warmupStatus: { tenant_id: string; email_account_id: string; status: string }[]
  leads: { tenant_id: string; id: string; email: string }[]
  campaignDays: CampaignDay[]
  stepDays: StepDay[]
  mailboxDays: MailboxDay[]
  warmupDays: WarmupDay[]
  leadCampaigns: LeadCampaign[]
  billing: BillingPeriod[]
  audit: AuditEntry[]
}

export interface FixtureOptions {
  seed: number
  tenants: FixtureTenant[]
  /** the days analytics rows may fall on: [firstDay, firstDay + days) */
  firstDay?: string
  days?: number
  campaignsPerTenant?: number
  mailboxesPerTenant?: number
  leadsPerTenant?: number
}

function randomCounts(rng: Random, maxSent: number, minSent = 1): Counts {
  const sent = rng.int(minSent, maxSent)
  const delivered = rng.int(0, sent)
  return {
    sent,
    delivered,
    opened_tracked: rng.int(0, delivered),
    clicked_tracked: rng.int(0, delivered),
    replied: rng.int(0, delivered),
    bounced: rng.int(0, sent - delivered),
    unsubscribed: rng.int(0, Math.min(2, sent)),
    spam_complaints: rng.chance(0.2) ? 1 : 0,
  }
}

function someDays(rng: Random, first: number, count: number, probability: number): string[] {
  const days: string[] = []
  for (let d = 0; d < count; d++) if (rng.chance(probability)) days.push(formatDay(first + d))
  return days
}

/**
 * Random analytics rows for a few tenants, with the edge cases the BI queries must get right:
 * rank ties (a campaign cloned from another), a campaign that never delivered (NULL rates), a
 * campaign without analytics, a mailbox with too few warmup days, a billing month skipped (growth
 * over a month without sends) and an id shared by two tenants.
 */
export function generateAnalyticsFixture(options: FixtureOptions): AnalyticsFixture {
  const rng = seededRandom(options.seed)
  const first = parseDay(options.firstDay ?? '2024-01-20') as number
  const span = options.days ?? 60
  const f: AnalyticsFixture = {
    tenants: options.tenants,
    campaigns: [],
    steps: [],
    mailboxes: [],
    warmupStatus: [],
    leads: [],
    campaignDays: [],
    stepDays: [],
    mailboxDays: [],
    warmupDays: [],
    leadCampaigns: [],
    billing: [],
    audit: [],
  }
  for (const tenant of options.tenants) {
    const t = tenant.id
    const company = `${t}-co`
    const nCampaigns = options.campaignsPerTenant ?? 6
    const nMailboxes = options.mailboxesPerTenant ?? 6
    const nLeads = options.leadsPerTenant ?? 25
    for (let i = 0; i < nMailboxes; i++) {
      const id = `${t}-mb${i}`
      f.mailboxes.push({
        tenant_id: t,
        id,
        domain_id: `${t}-dom${i % 2}`,
        address: `s${i}@${t}.test`,
      })
      if (i % 4 !== 3)
        f.warmupStatus.push({
          tenant_id: t,
          email_account_id: id,
          status: rng.pick(['active', 'paused', 'completed']),
        })
    }
    for (let i = 0; i < nLeads; i++)
      f.leads.push({ tenant_id: t, id: `${t}-lead${i}`, email: `lead${i}@${t}.test` })

    for (let i = 0; i < nCampaigns; i++) {
      // the last campaign's id is the same in every tenant: keys are per tenant
      const id = i === nCampaigns - 1 ? 'shared-campaign' : `${t}-c${i}`
      const status = rng.pick(['draft', 'active', 'paused', 'completed'])
      f.campaigns.push({
        tenant_id: t,
        id,
        company_id: company,
        name: `Campaign ${i} of ${t}`,
        status,
      })
      const nSteps = rng.int(1, 4)
      const steps = Array.from(
        { length: nSteps },
        (_, s) => `${id === 'shared-campaign' ? t : ''}${id}-s${s + 1}`,
      )
      steps.forEach((sid, s) => {
        f.steps.push({ tenant_id: t, id: sid, campaign_id: id, step_number: s + 1 })
      })
      if (i === 2) continue // a campaign without analytics
      const days = i === 1 ? [] : someDays(rng, first, span, 0.5)
      if (i === 1) {
        // a clone of campaign 0: ties in every rank
        for (const row of f.campaignDays.filter(
          (r) => r.tenant_id === t && r.campaign_id === `${t}-c0`,
        ))
          f.campaignDays.push({ ...row, campaign_id: id, status })
      }
      for (const day of days) {
        const counts = randomCounts(rng, 40)
        // campaign 3 never delivers: open, click and reply rates are NULL
        if (i === 3)
          Object.assign(counts, { delivered: 0, opened_tracked: 0, clicked_tracked: 0, replied: 0 })
        f.campaignDays.push({
          tenant_id: t,
          company_id: company,
          campaign_id: id,
          day,
          ...counts,
          completed_leads: rng.int(0, 5),
          status,
        })
        // a step may skip a day; the funnel sums whatever the steps have
        steps.forEach((sid, s) => {
          if (s > 0 && rng.chance(0.3)) return
          f.stepDays.push({
            tenant_id: t,
            company_id: company,
            campaign_id: id,
            sequence_step_id: sid,
            step_number: s + 1,
            day,
            ...randomCounts(rng, 20),
          })
        })
      }
      for (let l = 0; l < nLeads; l++) {
        if (!rng.chance(0.6)) continue
        // microseconds, and every fifth lead sent at one shared instant: the cursor must keep
        // both exact (a millisecond cursor would skip or repeat rows)
        const shared = l % 5 === 0
        const sentAt = new Date(
          Date.UTC(2024, 0, 20) + (shared ? 86_400 : rng.int(0, span * 86_400)) * 1000,
        )
        const micros = shared ? '123456' : String(rng.int(0, 999_999)).padStart(6, '0')
        f.leadCampaigns.push({
          tenant_id: t,
          company_id: company,
          lead_id: `${t}-lead${l}`,
          campaign_id: id,
          status: rng.pick(LEAD_STATUSES),
          last_sent_at: `${sentAt.toISOString().slice(0, 19)}.${micros}Z`,
          ...randomCounts(rng, 4),
        })
      }
    }

    f.mailboxes
      .filter((m) => m.tenant_id === t)
      .forEach((m, i) => {
        const warmup = f.warmupStatus.find((w) => w.tenant_id === t && w.email_account_id === m.id)
        for (const day of someDays(rng, first, span, 0.6)) {
          const idle = rng.chance(0.3)
          const counts = idle ? randomCounts(rng, 0, 0) : randomCounts(rng, 30)
          f.mailboxDays.push({
            tenant_id: t,
            company_id: company,
            email_account_id: m.id,
            day,
            ...counts,
            current_volume: counts.sent + rng.int(1, 10),
            warmup_status: warmup?.status ?? null,
            campaign_status: idle ? 'idle' : 'active',
            health_score: rng.int(20, 100),
          })
        }
        // mailbox 1 warms up on two days only, mailbox 2 on exactly three: the cut-off is 3
        const warmupDays =
          i === 1
            ? [formatDay(first + span - 3), formatDay(first + span - 1)]
            : i === 2
              ? [
                  formatDay(first + span - 5),
                  formatDay(first + span - 4),
                  formatDay(first + span - 2),
                ]
              : someDays(rng, first, span, 0.7)
        let progress = rng.int(0, 20)
        for (const day of warmupDays) {
          progress = Math.min(100, progress + rng.int(0, 6))
          f.warmupDays.push({
            tenant_id: t,
            company_id: company,
            email_account_id: m.id,
            day,
            ...randomCounts(rng, 15),
            health_score: rng.int(20, 100),
            progress_percentage: progress,
          })
        }
      })

    // billing months: 2023-12 .. 2024-04, one of them skipped
    const skipped = rng.pick(['2024-01', '2024-02'])
    for (const month of ['2023-12', '2024-01', '2024-02', '2024-03', '2024-04']) {
      if (month === skipped) continue
      f.billing.push({
        tenant_id: t,
        month,
        subscription_id: rng.chance(0.8) ? `${t}-sub` : null,
        emails_sent: rng.int(0, 5000),
        mailboxes_used: rng.int(0, 6),
        domains_used: rng.int(0, 2),
        campaigns_used: rng.int(0, 6),
        leads_used: rng.int(0, 25),
        warmups_active: rng.int(0, 6),
      })
    }

    for (let i = 0; i < 40; i++) {
      const at = new Date(Date.UTC(2024, 1, 1) + rng.int(0, 20 * 86_400) * 1000)
      f.audit.push({
        admin_id: rng.pick(['admin-1', 'admin-2', 'admin-3']),
        action: rng.pick(['read', 'export']),
        resource_type: rng.pick(['campaign_performance', 'tenant_usage']),
        tenant_id: rng.chance(0.8) ? t : null,
        ip_address: rng.chance(0.9) ? rng.pick(['10.0.0.1', '10.0.0.2', '2001:db8::1']) : null,
        created_at: at.toISOString(),
      })
    }
  }
  return f
}

const billingId = (tenantId: string, month: string) => `${tenantId}:${month}`
const monthOf = (day: string) => day.slice(0, 7)

/**
 * Writes the fixture with a connection that may write every table (a superuser, or pm_writer for
 * the tenant tables), and fills in each billing period's instants as PostgreSQL computed them.
 */
export async function writeAnalyticsFixture(db: Kysely<DB>, f: AnalyticsFixture): Promise<void> {
  const allDays = [...f.campaignDays, ...f.mailboxDays, ...f.warmupDays, ...f.stepDays].map(
    (r) => r.day,
  )
  const sortedDays = [...allDays].sort()
  const lo = sortedDays[0] ?? '2024-01-01'
  const hi = sortedDays[sortedDays.length - 1] ?? '2024-01-01'
  await db.transaction().execute(async (trx) => {
    await sql`select pm_ensure_monthly_partitions(t, ${lo}::date, (${hi}::date + 1))
                from unnest(array['campaign_analytics', 'sequence_step_analytics', 'mailbox_analytics',
                                  'warmup_analytics']::regclass[]) t`.execute(trx)
    await sql`select pm_ensure_monthly_partitions(t, '2023-12-01', '2024-06-01')
                from unnest(array['admin_audit_log', 'admin_system_events']::regclass[]) t`.execute(
      trx,
    )
    const insert = async <T extends keyof DB>(table: T, rows: Record<string, unknown>[]) => {
      for (let i = 0; i < rows.length; i += 500) {
        // biome-ignore lint/suspicious/noExplicitAny: rows are built to the table's shape above
        const chunk = rows.slice(i, i + 500) as any
        await trx.insertInto(table).values(chunk).execute()
      }
    }
    await insert(
      'tenants',
      f.tenants.map((t) => ({ id: t.id, name: `Tenant ${t.id}`, time_zone: t.time_zone })),
    )
    await insert(
      'companies',
      f.tenants.map((t) => ({ tenant_id: t.id, id: `${t.id}-co`, name: `Company of ${t.id}` })),
    )
    await insert(
      'domains',
      f.tenants.flatMap((t) =>
        [0, 1].map((i) => ({
          tenant_id: t.id,
          id: `${t.id}-dom${i}`,
          company_id: `${t.id}-co`,
          name: `d${i}.${t.id}.test`,
        })),
      ),
    )
    await insert(
      'email_accounts',
      f.mailboxes.map((m) => ({ ...m, company_id: `${m.tenant_id}-co` })),
    )
    await insert(
      'warmup_status',
      f.warmupStatus.map((w) => ({
        ...w,
        id: `${w.email_account_id}-wu`,
        started_at: new Date('2024-01-01T00:00:00Z'),
        ramp_days: 30,
      })),
    )
    await insert('campaigns', f.campaigns)
    await insert(
      'campaign_sequence_steps',
      f.steps.map((s) => ({ ...s, company_id: `${s.tenant_id}-co` })),
    )
    await insert(
      'leads',
      f.leads.map((l) => ({ ...l, company_id: `${l.tenant_id}-co` })),
    )
    await insert(
      'subscriptions',
      f.tenants.map((t) => ({
        tenant_id: t.id,
        id: `${t.id}-sub`,
        plan: 'pro',
        status: 'active',
        started_at: new Date('2023-01-01T00:00:00Z'),
      })),
    )
    await insert(
      'campaign_analytics',
      f.campaignDays.map((r) => ({ ...r, billing_id: billingId(r.tenant_id, monthOf(r.day)) })),
    )
    await insert(
      'sequence_step_analytics',
      f.stepDays.map((r) => ({ ...r, billing_id: billingId(r.tenant_id, monthOf(r.day)) })),
    )
    await insert(
      'mailbox_analytics',
      f.mailboxDays.map((r) => ({ ...r, billing_id: billingId(r.tenant_id, monthOf(r.day)) })),
    )
    await insert(
      'warmup_analytics',
      f.warmupDays.map((r) => ({ ...r, billing_id: billingId(r.tenant_id, monthOf(r.day)) })),
    )
    await insert(
      'lead_analytics',
      f.leadCampaigns.map((r) => ({
        ...r,
        billing_id: billingId(r.tenant_id, monthOf(r.last_sent_at)),
      })),
    )
    const zones = new Map(f.tenants.map((t) => [t.id, t.time_zone]))
    for (const b of f.billing) {
      const { month, period_start: _s, period_end: _e, ...usage } = b
      const zone = zones.get(b.tenant_id) as string
      const row = await trx
        .insertInto('billing_analytics')
        .values({
          ...usage,
          id: billingId(b.tenant_id, month),
          period_start: sql<Date>`(cast(${`${month}-01`} as date)::timestamp at time zone ${zone})`,
          period_end: sql<Date>`((cast(${`${month}-01`} as date) + interval '1 month')::timestamp at time zone ${zone})`,
        })
        .returning(['period_start', 'period_end'])
        .executeTakeFirstOrThrow()
      b.period_start = row.period_start.toISOString()
      b.period_end = row.period_end.toISOString()
    }
    await insert(
      'admin_audit_log',
      f.audit.map((a) => ({ ...a, created_at: new Date(a.created_at) })),
    )
  })
}
