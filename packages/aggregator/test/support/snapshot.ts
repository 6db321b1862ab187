import { type Kysely, sql } from 'kysely'
import type { Row, SourceRows, Tables } from './contract-oracle.js'

const KEYS: Record<keyof Tables, string[]> = {
  campaign_analytics: ['tenant_id', 'campaign_id', 'day'],
  sequence_step_analytics: ['tenant_id', 'sequence_step_id', 'day'],
  mailbox_analytics: ['tenant_id', 'email_account_id', 'day'],
  warmup_analytics: ['tenant_id', 'email_account_id', 'day'],
  lead_analytics: ['tenant_id', 'lead_id', 'campaign_id'],
  billing_analytics: ['tenant_id', 'id'],
}

function normalize(row: Record<string, unknown>): Row {
  const out: Row = {}
  for (const [k, v] of Object.entries(row)) {
    if (k === 'updated_at') continue
    out[k] = v instanceof Date ? v.toISOString() : (v as string | number | null)
  }
  return out
}

/** Every analytics row, updated_at left out, sorted by key. */
export async function readAnalytics<DB>(db: Kysely<DB>): Promise<Tables> {
  const out = {} as Tables
  for (const table of Object.keys(KEYS) as (keyof Tables)[]) {
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(
      db,
    )
    out[table] = sortRows(table, rows.map(normalize))
  }
  return out
}

/** Every analytics row including updated_at: "identical tables" means this is equal. */
export async function readAnalyticsExactly<DB>(db: Kysely<DB>): Promise<string> {
  const parts: string[] = []
  for (const table of Object.keys(KEYS)) {
    const { rows } = await sql<{ r: string }>`
      select md5(string_agg(a::text, '|' order by a::text)) as r from ${sql.table(table)} a`.execute(
      db,
    )
    parts.push(`${table}:${rows[0]?.r}`)
  }
  return parts.join('\n')
}

export function sortRows(table: keyof Tables, rows: Row[]): Row[] {
  const key = (r: Row) => KEYS[table].map((k) => String(r[k])).join('\u0000')
  return [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
}

export function sortTables(tables: Tables): Tables {
  const out = {} as Tables
  for (const t of Object.keys(tables) as (keyof Tables)[]) out[t] = sortRows(t, tables[t])
  return out
}

export async function readSource<DB>(db: Kysely<DB>): Promise<SourceRows> {
  const all = async <T>(text: string) => (await sql.raw(text).execute(db)).rows as T[]
  return {
    tenants: await all('select id, time_zone from tenants'),
    subscriptions: await all('select tenant_id, id, started_at, ended_at from subscriptions'),
    email_accounts: await all('select tenant_id, id, company_id, domain_id from email_accounts'),
    warmup_status: await all(
      'select tenant_id, id, email_account_id, status, started_at, ramp_days from warmup_status',
    ),
    campaigns: await all('select tenant_id, id, company_id, status from campaigns'),
    campaign_sequence_steps: await all(
      'select tenant_id, id, company_id, campaign_id, step_number from campaign_sequence_steps',
    ),
    emails:
      await all(`select tenant_id, id, email_account_id, is_warmup, campaign_id, sequence_step_id,
      lead_id, status, sent_at, opened_at, clicked_at, replied_at, bounce_type, unsubscribed_at,
      complaint_at from emails`),
  }
}
