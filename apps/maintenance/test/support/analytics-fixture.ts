import type pg from 'pg'

/**
 * Rows of the four daily analytics tables for tenant `tenant`, `perDay` grains a day, for every day
 * of [from, to). Written as the superuser; partitions for those months are created first.
 */
export async function insertDailyRows(
  client: pg.Client,
  options: { tenant: string; from: string; to: string; perDay: number },
): Promise<void> {
  const { tenant, from, to, perDay } = options
  await client.query(
    `select pm_ensure_monthly_partitions(t, $1::date, $2::date)
       from unnest(array['campaign_analytics', 'sequence_step_analytics', 'mailbox_analytics',
                         'warmup_analytics']::regclass[]) t`,
    [from, to],
  )
  const days = `generate_series($2::date, $3::date - 1, interval '1 day') d`
  const grains = 'generate_series(1, $4) g'
  const params = [tenant, from, to, perDay]
  await client.query(
    `insert into campaign_analytics (tenant_id, company_id, campaign_id, day, billing_id, sent, delivered, status)
     select $1, $1 || '-co', $1 || '-cmp-' || g, d::date, $1 || ':' || to_char(d, 'YYYY-MM'), g, g, 'active'
       from ${days}, ${grains}`,
    params,
  )
  await client.query(
    `insert into sequence_step_analytics (tenant_id, company_id, campaign_id, sequence_step_id, step_number, day, billing_id, sent)
     select $1, $1 || '-co', $1 || '-cmp-' || g, $1 || '-step-' || g, 1, d::date, $1 || ':' || to_char(d, 'YYYY-MM'), g
       from ${days}, ${grains}`,
    params,
  )
  await client.query(
    `insert into mailbox_analytics (tenant_id, company_id, email_account_id, day, billing_id, sent, current_volume, campaign_status, health_score)
     select $1, $1 || '-co', $1 || '-mb-' || g, d::date, $1 || ':' || to_char(d, 'YYYY-MM'), g, g, 'active', 100
       from ${days}, ${grains}`,
    params,
  )
  await client.query(
    `insert into warmup_analytics (tenant_id, company_id, email_account_id, day, billing_id, sent, health_score, progress_percentage)
     select $1, $1 || '-co', $1 || '-mb-' || g, d::date, $1 || ':' || to_char(d, 'YYYY-MM'), g, 100, 50
       from ${days}, ${grains}`,
    params,
  )
}

/** Every key of a daily table, live and archived, as '<table>|<key columns>' text. */
export const KEY_COLUMNS: Record<string, string> = {
  campaign_analytics: 'tenant_id, campaign_id, day',
  sequence_step_analytics: 'tenant_id, sequence_step_id, day',
  mailbox_analytics: 'tenant_id, email_account_id, day',
  warmup_analytics: 'tenant_id, email_account_id, day',
}
