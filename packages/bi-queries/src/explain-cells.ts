import { type RawBuilder, sql } from 'kysely'
import { COUNT_COLUMNS, type CountColumn } from './email-metrics.js'

/** The analytics tables whose figures can be explained, and the column that keys each. */
export const EXPLAINABLE_TABLES = {
  campaign_analytics: 'campaign_id',
  sequence_step_analytics: 'sequence_step_id',
  mailbox_analytics: 'email_account_id',
  warmup_analytics: 'email_account_id',
  billing_analytics: 'period',
} as const

export type ExplainableTable = keyof typeof EXPLAINABLE_TABLES

export const BILLING_MEASURES = [
  'emails_sent',
  'mailboxes_used',
  'domains_used',
  'campaigns_used',
  'leads_used',
  'warmups_active',
] as const

export type BillingMeasure = (typeof BILLING_MEASURES)[number]

/** The metrics (columns) of each table that are counts of source emails. */
export const EXPLAINABLE_METRICS = {
  campaign_analytics: [...COUNT_COLUMNS, 'completed_leads'],
  sequence_step_analytics: [...COUNT_COLUMNS],
  mailbox_analytics: [...COUNT_COLUMNS, 'current_volume'],
  warmup_analytics: [...COUNT_COLUMNS],
  billing_analytics: [...BILLING_MEASURES],
} as const satisfies Record<ExplainableTable, readonly string[]>

export type ExplainableMetric = (typeof EXPLAINABLE_METRICS)[ExplainableTable][number]

const COUNT_WORDS: Record<CountColumn, { words: string; predicate: RawBuilder<boolean> | null }> = {
  sent: { words: 'every such email (sent_at IS NOT NULL)', predicate: null },
  delivered: {
    words: "those with status = 'delivered'",
    predicate: sql<boolean>`e.status = 'delivered'`,
  },
  opened_tracked: {
    words: 'those with opened_at IS NOT NULL',
    predicate: sql<boolean>`e.opened_at is not null`,
  },
  clicked_tracked: {
    words: 'those with clicked_at IS NOT NULL',
    predicate: sql<boolean>`e.clicked_at is not null`,
  },
  replied: {
    words: 'those with replied_at IS NOT NULL',
    predicate: sql<boolean>`e.replied_at is not null`,
  },
  bounced: {
    words: 'those with bounce_type IS NOT NULL',
    predicate: sql<boolean>`e.bounce_type is not null`,
  },
  unsubscribed: {
    words: 'those with unsubscribed_at IS NOT NULL',
    predicate: sql<boolean>`e.unsubscribed_at is not null`,
  },
  spam_complaints: {
    words: 'those with complaint_at IS NOT NULL',
    predicate: sql<boolean>`e.complaint_at is not null`,
  },
}

/**
 * How one metric of one table selects its source emails: which emails (`where`), and for counts of
 * distinct things, the expression of the thing (`distinctOn`): the listed emails are then the first
 * (lowest id) of each distinct value, so that their number is the figure.
 */
export interface SourceSet {
  formula: string
  where: RawBuilder<boolean>[]
  distinctOn?: RawBuilder<unknown>[]
  /** joins email_accounts as `ea` (domains_used) */
  joinMailbox?: boolean
  /** more output columns over `e` (a rate's in_numerator, in_denominator) */
  columns?: RawBuilder<unknown>[]
}

/** The condition a count adds to its set's emails (`true` for sent: every email of the set). */
export function countPredicate(metric: CountColumn): RawBuilder<boolean> {
  return COUNT_WORDS[metric].predicate ?? sql<boolean>`true`
}

/** The words of a count's condition, as its formula says them. */
export function countWords(metric: CountColumn): string {
  return COUNT_WORDS[metric].words
}

const CAMPAIGN_EMAIL = sql<boolean>`not e.is_warmup and e.campaign_id is not null`
const SEND_DAY =
  'counted on the day of sent_at in the tenant’s time zone (send-day cohort: a later open, click, reply or bounce counts on the send day, never on the day it happened)'

function countSet(set: string, metric: CountColumn, where: RawBuilder<boolean>[]): SourceSet {
  const { words, predicate } = COUNT_WORDS[metric]
  return {
    formula: `${metric} = the number of ${set} with sent_at IS NOT NULL, ${SEND_DAY}, and of them ${words}.`,
    where: predicate ? [...where, predicate] : where,
  }
}

/** The source set of a metric of a table, for the entity `key` (its id, or a billing tenant). */
export function sourceSet(
  table: ExplainableTable,
  metric: ExplainableMetric,
  tenantId: string,
  key: string,
): SourceSet {
  switch (table) {
    case 'campaign_analytics': {
      const where = [sql<boolean>`e.campaign_id = ${key}`, CAMPAIGN_EMAIL]
      if (metric === 'completed_leads')
        return {
          formula: `completed_leads = per day, the number of distinct leads sent the campaign’s final step (the highest step_number among its steps, sent or not) that day, ${SEND_DAY}; over a range, the sum of the days. The listed emails are the first email of each (day, lead).`,
          where: [
            ...where,
            sql<boolean>`e.lead_id is not null`,
            sql<boolean>`e.sequence_step_id = (select st.id from campaign_sequence_steps st
                where st.tenant_id = ${tenantId} and st.campaign_id = ${key}
                order by st.step_number desc limit 1)`,
          ],
          distinctOn: [sql`(e.sent_at at time zone t.time_zone)::date`, sql`e.lead_id`],
        }
      return countSet('the campaign’s emails (is_warmup = false)', metric as CountColumn, where)
    }
    case 'sequence_step_analytics':
      return countSet('the sequence step’s emails (is_warmup = false)', metric as CountColumn, [
        sql<boolean>`e.sequence_step_id = ${key}`,
        CAMPAIGN_EMAIL,
      ])
    case 'mailbox_analytics': {
      const where = [sql<boolean>`e.email_account_id = ${key}`]
      if (metric === 'current_volume')
        return {
          formula: `current_volume = the number of all the mailbox’s emails, campaign and warmup, with sent_at IS NOT NULL, ${SEND_DAY}.`,
          where,
        }
      return countSet('the mailbox’s campaign emails (is_warmup = false)', metric as CountColumn, [
        ...where,
        sql<boolean>`not e.is_warmup`,
      ])
    }
    case 'warmup_analytics':
      return countSet('the mailbox’s warmup emails (is_warmup = true)', metric as CountColumn, [
        sql<boolean>`e.email_account_id = ${key}`,
        sql<boolean>`e.is_warmup`,
      ])
    case 'billing_analytics':
      return billingSet(metric as BillingMeasure)
  }
}

const PERIOD =
  'in the billing period: the calendar month in the tenant’s time zone, [period_start, period_end)'

function billingSet(measure: BillingMeasure): SourceSet {
  switch (measure) {
    case 'emails_sent':
      return {
        formula: `emails_sent = the number of the tenant’s campaign emails (is_warmup = false) with sent_at ${PERIOD}.`,
        where: [CAMPAIGN_EMAIL],
      }
    case 'mailboxes_used':
      return {
        formula: `mailboxes_used = the number of distinct mailboxes that sent any email (campaign or warmup) ${PERIOD}. The listed emails are each mailbox’s first.`,
        where: [],
        distinctOn: [sql`e.email_account_id`],
      }
    case 'domains_used':
      return {
        formula: `domains_used = the number of distinct domains of the mailboxes that sent any email ${PERIOD}. The listed emails are each domain’s first.`,
        where: [],
        distinctOn: [sql`ea.domain_id`],
        joinMailbox: true,
      }
    case 'campaigns_used':
      return {
        formula: `campaigns_used = the number of distinct campaigns with a sent email ${PERIOD}. The listed emails are each campaign’s first.`,
        where: [CAMPAIGN_EMAIL],
        distinctOn: [sql`e.campaign_id`],
      }
    case 'leads_used':
      return {
        formula: `leads_used = the number of distinct leads sent a campaign email ${PERIOD}. The listed emails are each lead’s first.`,
        where: [CAMPAIGN_EMAIL, sql<boolean>`e.lead_id is not null`],
        distinctOn: [sql`e.lead_id`],
      }
    case 'warmups_active':
      return {
        formula: `warmups_active = the number of distinct mailboxes that sent a warmup email (is_warmup = true) ${PERIOD}. The listed emails are each mailbox’s first warmup email.`,
        where: [sql<boolean>`e.is_warmup`],
        distinctOn: [sql`e.email_account_id`],
      }
  }
}
