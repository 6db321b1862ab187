import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { formatDay, parseDay } from './date-range.js'
import { COUNT_COLUMNS } from './email-metrics.js'
import type { ExplainedCell } from './explain-metric.js'
import { toCount } from './numeric-values.js'

export const RECONCILIATION_CHECKS = [
  'source_matches_figure',
  'days_sum_to_range',
  'steps_sum_to_campaign',
  'campaigns_sum_to_usage',
  'mailboxes_sum_to_usage',
  'leads_sum_to_campaign',
  'day_rows_count_active_days',
] as const

export type ReconciliationCheckName = (typeof RECONCILIATION_CHECKS)[number]

export interface ReconciliationPart {
  /** what the part is: a day, a step, a campaign, a mailbox */
  label: string
  value: number
}

/** parts_total should equal total; holds says whether it does. */
export interface ReconciliationCheck {
  check: ReconciliationCheckName
  description: string
  parts: ReconciliationPart[]
  parts_total: number
  total: number
  holds: boolean
}

function check(
  name: ReconciliationCheckName,
  description: string,
  parts: ReconciliationPart[],
  total: number,
  partsTotal = parts.reduce((sum, p) => sum + p.value, 0),
): ReconciliationCheck {
  return {
    check: name,
    description,
    parts,
    parts_total: partsTotal,
    total,
    holds: partsTotal === total,
  }
}

/** The whole tenant-local months that cover the days [from, to). */
function monthsCovering(from: string, to: string): { from: string; to: string } {
  const last = formatDay((parseDay(to) as number) - 1)
  const [y, m] = last.split('-').map(Number) as [number, number]
  const next = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`
  return { from: `${from.slice(0, 7)}-01`, to: next }
}

type Rows = { label: string; value: string | number }[]
const parts = (rows: Rows): ReconciliationPart[] =>
  rows.map((r) => ({ label: r.label, value: toCount(r.value) }))

async function usageTotal(db: Kysely<DB>, tenantId: string, from: string, to: string) {
  const { rows } = await sql<{ total: string | number }>`
    select coalesce(sum(b.emails_sent), 0) as total
      from billing_analytics b join tenants t on t.id = b.tenant_id
     where b.tenant_id = ${tenantId}
       and b.period_start >= (cast(${from} as date)::timestamp at time zone t.time_zone)
       and b.period_start < (cast(${to} as date)::timestamp at time zone t.time_zone)`.execute(db)
  return toCount(rows[0]?.total)
}

/**
 * The reconciliations a figure takes part in: the source emails counted now equal it; its day rows
 * add up to the range total; the step rows add up to the campaign row (every count but
 * completed_leads, which counts distinct leads of the final step only); the campaign rows — and the
 * mailbox rows — add up to the tenant's usage (billing_analytics.emails_sent) over whole months.
 */
export async function reconcile(
  db: Kysely<DB>,
  cell: ExplainedCell,
  value: number,
  sourceCount: number,
): Promise<ReconciliationCheck[]> {
  const { tenantId, table, metric, key, from, to } = cell
  const checks: ReconciliationCheck[] = [
    check(
      'source_matches_figure',
      'the source emails behind the figure, counted now, equal the figure (differs only while changes wait for the aggregator)',
      [],
      value,
      sourceCount,
    ),
  ]
  if (table !== 'billing_analytics') {
    const { rows } = await sql<{ label: string; value: number }>`
      select a.day::text as label, ${sql.ref(`a.${metric}`)} as value from ${sql.table(table)} a
       where a.tenant_id = ${tenantId} and ${sql.ref(`a.${keyColumn(table)}`)} = ${key}
         and a.day >= ${from} and a.day < ${to}
       order by a.day`.execute(db)
    checks.push(
      check(
        'days_sum_to_range',
        `the day rows of [${from}, ${to}) add up to the range total`,
        parts(rows),
        value,
      ),
    )
  }
  const isCount = (COUNT_COLUMNS as readonly string[]).includes(metric)
  if ((table === 'campaign_analytics' || table === 'sequence_step_analytics') && isCount) {
    const campaignId =
      table === 'campaign_analytics'
        ? key
        : ((
            await sql<{ campaign_id: string }>`
              select campaign_id from campaign_sequence_steps
               where tenant_id = ${tenantId} and id = ${key}`.execute(db)
          ).rows[0]?.campaign_id ?? '')
    const steps = await sql<{ label: string; value: number }>`
      select 'step ' || s.step_number || ' (' || s.sequence_step_id || ')' as label,
             sum(${sql.ref(`s.${metric}`)}) as value
        from sequence_step_analytics s
       where s.tenant_id = ${tenantId} and s.campaign_id = ${campaignId}
         and s.day >= ${from} and s.day < ${to}
       group by s.step_number, s.sequence_step_id
       order by s.step_number, s.sequence_step_id`.execute(db)
    const total = await sql<{ total: string | number }>`
      select coalesce(sum(${sql.ref(`c.${metric}`)}), 0) as total from campaign_analytics c
       where c.tenant_id = ${tenantId} and c.campaign_id = ${campaignId}
         and c.day >= ${from} and c.day < ${to}`.execute(db)
    checks.push(
      check(
        'steps_sum_to_campaign',
        `the step rows of campaign ${campaignId} over [${from}, ${to}) add up to its campaign rows`,
        parts(steps.rows),
        toCount(total.rows[0]?.total),
      ),
    )
  }
  const usesSent = metric === 'emails_sent' || (metric === 'sent' && table !== 'warmup_analytics')
  if (usesSent) {
    const months = monthsCovering(from, to)
    const usage = await usageTotal(db, tenantId, months.from, months.to)
    const bySource =
      table === 'mailbox_analytics'
        ? {
            name: 'mailboxes_sum_to_usage' as const,
            table: 'mailbox_analytics',
            id: 'email_account_id',
          }
        : {
            name: 'campaigns_sum_to_usage' as const,
            table: 'campaign_analytics',
            id: 'campaign_id',
          }
    const { rows } = await sql<{ label: string; value: number }>`
      select ${sql.ref(`a.${bySource.id}`)} as label, sum(a.sent) as value
        from ${sql.table(bySource.table)} a
       where a.tenant_id = ${tenantId} and a.day >= ${months.from} and a.day < ${months.to}
       group by 1 order by 1`.execute(db)
    checks.push(
      check(
        bySource.name,
        `the ${bySource.table} rows' sent over the whole months [${months.from}, ${months.to}) add up to the tenant's usage (billing_analytics.emails_sent)`,
        parts(rows),
        usage,
      ),
    )
  }
  return checks
}

function keyColumn(table: Exclude<ExplainedCell['table'], 'billing_analytics'>): string {
  return table === 'campaign_analytics'
    ? 'campaign_id'
    : table === 'sequence_step_analytics'
      ? 'sequence_step_id'
      : 'email_account_id'
}
