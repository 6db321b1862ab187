import { recomputeAll } from '@penguinmails/aggregator'
import type { TestDatabase } from '@penguinmails/schema/testing'
import type pg from 'pg'
import { runArchive } from '../../src/archive.js'
import { addDays, parseAge, subtractAge, utcDay } from '../../src/calendar.js'
import type { MaintenanceContext } from '../../src/context.js'
import { superuser } from './superuser.js'
import { type FixtureTenant, insertTenant } from './tenant-fixture.js'
import { onOneConnection } from './writer-context.js'

// The database every erasure test works on, and what they compare before and after.

export const NOW = new Date()
export const TODAY = utcDay(NOW)
export const FROM = addDays(
  subtractAge(TODAY, parseAge('2y') ?? { count: 2, unit: 'y', text: '2y' }),
  -60,
)

export interface Erasable {
  database: TestDatabase
  su: pg.Client
  alpha: FixtureTenant
  beta: FixtureTenant
}

/** Two tenants with sources, analytics from the aggregator, two years of them archived, dirty keys. */
export async function fillErasableDatabase(
  database: TestDatabase,
  ctx: MaintenanceContext,
): Promise<Erasable> {
  const su = await superuser(database)
  const alpha = await insertTenant(su, {
    name: 'alpha',
    emailIdBase: 1_000_000,
    from: FROM,
    to: TODAY,
  })
  const beta = await insertTenant(su, {
    name: 'beta',
    emailIdBase: 2_000_000,
    from: FROM,
    to: TODAY,
    timeZone: 'UTC',
  })
  await recomputeAll(ctx.database.db)
  await onOneConnection(ctx, (run) =>
    runArchive(run, { olderThan: parseAge('2y') ?? { count: 2, unit: 'y', text: '' } }),
  )
  await su.query('select pm_refresh_campaign_performance_summary(true)')
  // pending changes: dirty keys naming the tenant's campaign, mailbox and lead
  // (a shift of an open by a microsecond: the analytics stay exact, the keys are recorded)
  await su.query(
    `update emails set opened_at = opened_at + interval '1 microsecond'
      where id in (select min(id) from emails where opened_at is not null group by tenant_id)`,
  )
  return { database, su, alpha, beta }
}

export const DAILY = [
  'campaign_analytics',
  'sequence_step_analytics',
  'mailbox_analytics',
  'warmup_analytics',
]
const METRICS = [
  'sent',
  'delivered',
  'opened_tracked',
  'clicked_tracked',
  'replied',
  'bounced',
  'unsubscribed',
  'spam_complaints',
]

/** Sums of every metric of every analytics table (live and archive) of a tenant. */
export async function totals(su: pg.Client, tenantId: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  const tables = ['lead_analytics', ...DAILY, ...DAILY.map((t) => `analytics_archive.${t}`)]
  for (const table of tables) {
    const { rows } = await su.query(
      `select count(*) as rows, ${METRICS.map((m) => `sum(${m}) as ${m}`).join(', ')} from ${table} where tenant_id = $1`,
      [tenantId],
    )
    out[table] = JSON.stringify(rows[0])
  }
  const { rows } = await su.query(
    `select count(*) as rows, sum(emails_sent) as sent, sum(leads_used) as leads, sum(mailboxes_used) as mailboxes
       from billing_analytics where tenant_id = $1`,
    [tenantId],
  )
  out.billing_analytics = JSON.stringify(rows[0])
  return out
}

export const DUMPED_TABLES = [
  'tenants',
  'subscriptions',
  'companies',
  'domains',
  'email_accounts',
  'warmup_status',
  'campaigns',
  'campaign_sequence_steps',
  'leads',
  'emails',
  'billing_analytics',
  'lead_analytics',
  ...DAILY,
  ...DAILY.map((t) => `analytics_archive.${t}`),
  'campaign_performance_summary',
]

/** Every row an erasure may touch, as text, without what differs between two databases. */
export async function dump(su: pg.Client): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {}
  for (const table of DUMPED_TABLES) {
    const { rows } = await su.query<{ r: string }>(
      `select (to_jsonb(x) - 'updated_at')::text as r from ${table} x order by 1`,
    )
    out[table] = rows.map((r) => r.r)
  }
  const { rows } = await su.query<{ r: string }>(
    `select concat_ws('|', tenant_id, kind, entity_id, campaign_id, day) as r from analytics_dirty_keys order by 1`,
  )
  out.analytics_dirty_keys = rows.map((r) => r.r)
  return out
}
