import { z } from '@hono/zod-openapi'
import {
  type AdminActivityRow,
  type AuditLogEntryRow,
  type CampaignDayRow,
  type CampaignLeadRow,
  type CampaignPerformanceRow,
  LEAD_STATUSES,
  type MailboxRow,
  MIN_SAMPLE_SIZE,
  type PeriodComparison,
  type StepFunnelRow,
  type SystemEventRow,
  type TenantFreshness,
  type TenantUsageRow,
  TIME_CATEGORIES,
  WARMUP_CATEGORIES,
  type WarmupPerformanceRow,
} from '@penguinmails/bi-queries'

// Each schema `satisfies` the row type of @penguinmails/bi-queries, so the OpenAPI document
// cannot drift from what the queries return.

const count = (description: string) => z.number().int().nonnegative().openapi({ description })
const percent = (description: string) =>
  z
    .number()
    .nullable()
    .openapi({
      description: `${description}, percent with 2 decimals; null when the denominator is 0`,
    })
const day = z.string().openapi({ format: 'date', example: '2024-03-01' })
const instant = z.string().openapi({ format: 'date-time' })

const bound = (rate: string, side: 'lower' | 'upper') =>
  z
    .number()
    .nullable()
    .openapi({
      description: `${side} bound of the 95% Wilson score interval of ${rate}, percent with 2 decimals; null with the rate`,
    })
const insufficient = (denominator: string) =>
  z.boolean().openapi({
    description: `${denominator} (the rate's denominator) is below ${MIN_SAMPLE_SIZE}: too few emails to trust the rate`,
  })

// every rate's 95% Wilson interval and sample flag (docs/metrics.md)
const uncertainty = {
  delivery_rate_lower: bound('delivery_rate', 'lower'),
  delivery_rate_upper: bound('delivery_rate', 'upper'),
  delivery_rate_insufficient_sample: insufficient('sent'),
  open_rate_lower: bound('open_rate', 'lower'),
  open_rate_upper: bound('open_rate', 'upper'),
  open_rate_insufficient_sample: insufficient('delivered'),
  click_rate_lower: bound('click_rate', 'lower'),
  click_rate_upper: bound('click_rate', 'upper'),
  click_rate_insufficient_sample: insufficient('delivered'),
  reply_rate_lower: bound('reply_rate', 'lower'),
  reply_rate_upper: bound('reply_rate', 'upper'),
  reply_rate_insufficient_sample: insufficient('delivered'),
  bounce_rate_lower: bound('bounce_rate', 'lower'),
  bounce_rate_upper: bound('bounce_rate', 'upper'),
  bounce_rate_insufficient_sample: insufficient('sent'),
}

const counts = {
  sent: count('emails sent (sent_at set)'),
  delivered: count("status 'delivered'"),
  opened_tracked: count('opened_at set'),
  clicked_tracked: count('clicked_at set'),
  replied: count('replied_at set'),
  bounced: count('bounce_type set'),
  unsubscribed: count('unsubscribed_at set'),
  spam_complaints: count('complaint_at set'),
}

const rates = {
  delivery_rate: percent('delivered / sent'),
  open_rate: percent('opened_tracked / delivered'),
  click_rate: percent('clicked_tracked / delivered'),
  reply_rate: percent('replied / delivered'),
  bounce_rate: percent('bounced / sent'),
}

export const CampaignPerformanceRowSchema = z
  .object({
    campaign_id: z.string(),
    campaign_name: z.string().nullable(),
    company_id: z.string(),
    status: z.string(),
    ...counts,
    completed_leads: count('distinct leads sent the final step'),
    ...rates,
    ...uncertainty,
    active_days: count('days in the range with sends'),
    first_day: day,
    last_day: day,
    volume_rank: count('1 = most emails sent; ties share a rank'),
    open_rate_rank: count(
      '1 = highest lower bound of the open rate’s 95% Wilson interval (so few sends do not top the list); no rate ranks last',
    ),
    reply_rate_rank: count(
      '1 = highest lower bound of the reply rate’s 95% Wilson interval (1 reply of 1 does not top the list); no rate ranks last',
    ),
  })
  .openapi('CampaignPerformanceRow') satisfies z.ZodType<CampaignPerformanceRow>

export const CampaignDayRowSchema = z
  .object({
    day,
    ...counts,
    completed_leads: count('distinct leads sent the final step'),
    ...rates,
    ...uncertainty,
  })
  .openapi('CampaignDayRow') satisfies z.ZodType<CampaignDayRow>

export const StepFunnelRowSchema = z
  .object({
    sequence_step_id: z.string(),
    step_number: z.number().int(),
    ...counts,
    ...rates,
    ...uncertainty,
    share_of_first_step: percent('sent / sent by the first step'),
    conversion_from_previous: percent('sent / sent by the previous step'),
  })
  .openapi('StepFunnelRow') satisfies z.ZodType<StepFunnelRow>

export const CampaignLeadRowSchema = z
  .object({
    lead_id: z.string(),
    email: z.string().nullable(),
    status: z.enum(LEAD_STATUSES),
    ...counts,
    last_sent_at: instant,
  })
  .openapi('CampaignLeadRow') satisfies z.ZodType<CampaignLeadRow>

export const TenantUsageRowSchema = z
  .object({
    period: z
      .string()
      .openapi({ example: '2024-03', description: 'month in the tenant time zone' }),
    billing_id: z.string(),
    period_start: instant,
    period_end: instant,
    subscription_id: z.string().nullable(),
    emails_sent: count('campaign emails sent'),
    mailboxes_used: count('distinct mailboxes that sent'),
    domains_used: count('distinct domains of those mailboxes'),
    campaigns_used: count('distinct campaigns with a send'),
    leads_used: count('distinct leads sent an email'),
    warmups_active: count('distinct mailboxes that sent a warmup email'),
    emails_per_mailbox: z.number().nullable(),
    emails_per_campaign: z.number().nullable(),
    previous_period_emails: count('emails_sent of the month before'),
    mom_growth: percent('change over the month before'),
  })
  .openapi('TenantUsageRow') satisfies z.ZodType<TenantUsageRow>

export const WarmupPerformanceRowSchema = z
  .object({
    email_account_id: z.string(),
    address: z.string().nullable(),
    warmup_status: z.string().nullable(),
    tracking_days: count('days in the window with warmup sends (at least 3)'),
    first_day: day,
    last_day: day,
    avg_health_score: z.number(),
    avg_progress_percentage: z.number(),
    avg_delivery_rate: z.number().nullable(),
    avg_daily_progress_increase: z.number(),
    category: z.enum(WARMUP_CATEGORIES),
    warmup_sent: count('warmup emails sent in the window: the sample behind the category'),
    insufficient_sample: z.boolean().openapi({
      description: `warmup_sent is below ${MIN_SAMPLE_SIZE}: too few sends to judge the category`,
    }),
  })
  .openapi('WarmupPerformanceRow') satisfies z.ZodType<WarmupPerformanceRow>

export const MailboxRowSchema = z
  .object({
    email_account_id: z.string(),
    address: z.string(),
    domain_id: z.string(),
    warmup_status: z.string().nullable(),
    active_days: count('days in the range with any send'),
    total_volume: count('all emails sent in the range, campaign and warmup'),
    ...counts,
    ...rates,
    ...uncertainty,
    last_active_day: day.nullable(),
    health_score: z.number().int().nullable(),
    health_sample_sent: z.number().int().nonnegative().nullable().openapi({
      description:
        'emails (campaign and warmup) the health score is computed over: the 7 days ending last_active_day',
    }),
    health_insufficient_sample: z
      .boolean()
      .nullable()
      .openapi({
        description: `health_sample_sent is below ${MIN_SAMPLE_SIZE}: too few sends to judge the health score; null without activity`,
      }),
    campaign_status: z.string().nullable(),
    warmup_progress_percentage: z.number().int().nullable(),
  })
  .openapi('MailboxRow') satisfies z.ZodType<MailboxRow>

export const AdminActivityRowSchema = z
  .object({
    admin_id: z.string(),
    action: z.string(),
    resource_type: z.string(),
    day,
    hour: z.number().int().min(0).max(23),
    action_count: count('actions in that hour'),
    tenants_affected: count('distinct tenants concerned'),
    unique_ips: count('distinct client addresses'),
    time_category: z.enum(TIME_CATEGORIES),
  })
  .openapi('AdminActivityRow') satisfies z.ZodType<AdminActivityRow>

const json = z.unknown().openapi({ description: 'JSON' })

export const AuditLogEntryRowSchema = z
  .object({
    id: z.number().int(),
    created_at: instant,
    admin_id: z.string(),
    action: z.string(),
    resource_type: z.string(),
    resource_id: z.string().nullable(),
    tenant_id: z.string().nullable(),
    ip_address: z.string().nullable(),
    user_agent: z.string().nullable(),
    notes: z.string().nullable(),
    metadata: json,
  })
  .openapi('AuditLogEntryRow') satisfies z.ZodType<Omit<AuditLogEntryRow, 'metadata'>>

export const SystemEventRowSchema = z
  .object({
    id: z.number().int(),
    created_at: instant,
    event_type: z.string(),
    severity: z.string(),
    admin_id: z.string().nullable(),
    session_id: z.string().nullable(),
    tenant_id: z.string().nullable(),
    title: z.string(),
    description: z.string().nullable(),
    ip_address: z.string().nullable(),
    user_agent: z.string().nullable(),
    expires_at: instant.nullable(),
    metadata: json,
    resolved_at: instant.nullable(),
    resolved_by: z.string().nullable(),
    resolution: z.string().nullable(),
  })
  .openapi('SystemEventRow') satisfies z.ZodType<Omit<SystemEventRow, 'metadata'>>

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'urn:penguinmails:problem:invalid-parameters' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z
      .array(
        z.object({
          in: z.enum(['query', 'path', 'header', 'body']),
          name: z.string(),
          reason: z.string(),
        }),
      )
      .optional(),
  })
  .openapi('Problem', { description: 'RFC 9457 problem details' })

export const FreshnessSchema = z
  .object({
    as_of: instant.openapi({
      description:
        'the tenant’s analytics reflect every source change recorded before this instant: the oldest change not yet applied, or the time of the read when none waits',
    }),
    pending_changes: count('source changes recorded but not yet applied to the analytics'),
  })
  .openapi('Freshness', {
    description: 'the freshness watermark, from the change tracking (analytics_dirty_keys)',
  }) satisfies z.ZodType<TenantFreshness>

export const PeriodComparisonSchema = z
  .object({
    from: day,
    to: day,
    previous_from: day,
    previous_to: day.openapi({ description: 'equals from: the periods are adjacent' }),
    metrics: z.array(
      z.object({
        metric: z.string(),
        current: z.number().nullable(),
        previous: z.number().nullable(),
        change: z.number().nullable().openapi({
          description: 'current − previous; percentage points for a rate; null when either is null',
        }),
        relative_change: z.number().nullable().openapi({
          description:
            '100·(current − previous)/previous, percent with 2 decimals; null when previous is 0 or null',
        }),
      }),
    ),
  })
  .openapi('PeriodComparison', {
    description:
      'with compare=previous: the totals of the range against the period of equal length just before it',
  }) satisfies z.ZodType<PeriodComparison>
