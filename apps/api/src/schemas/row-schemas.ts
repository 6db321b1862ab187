import { z } from '@hono/zod-openapi'
import {
  type AdminActivityRow,
  type AuditLogEntryRow,
  type CampaignDayRow,
  type CampaignLeadRow,
  type CampaignPerformanceRow,
  LEAD_STATUSES,
  type MailboxRow,
  type StepFunnelRow,
  type SystemEventRow,
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
    active_days: count('days in the range with sends'),
    first_day: day,
    last_day: day,
    volume_rank: count('1 = most emails sent; ties share a rank'),
    open_rate_rank: count('1 = highest open rate; no rate ranks last'),
    reply_rate_rank: count('1 = highest reply rate; no rate ranks last'),
  })
  .openapi('CampaignPerformanceRow') satisfies z.ZodType<CampaignPerformanceRow>

export const CampaignDayRowSchema = z
  .object({
    day,
    ...counts,
    completed_leads: count('distinct leads sent the final step'),
    ...rates,
  })
  .openapi('CampaignDayRow') satisfies z.ZodType<CampaignDayRow>

export const StepFunnelRowSchema = z
  .object({
    sequence_step_id: z.string(),
    step_number: z.number().int(),
    ...counts,
    ...rates,
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
    last_active_day: day.nullable(),
    health_score: z.number().int().nullable(),
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
