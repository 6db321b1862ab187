import type { Kysely } from 'kysely'
import { sql } from 'kysely'
import { localMidnight } from './contract-oracle.js'
import { seeded } from './random.js'

export const TENANTS = [
  { id: 't-utc', time_zone: 'UTC' },
  { id: 't-ist', time_zone: 'Asia/Kolkata' },
  { id: 't-ny', time_zone: 'America/New_York' },
  { id: 't-quiet', time_zone: 'UTC' },
] as const

const EDGE_DAYS = ['2024-02-29', '2024-03-10', '2024-03-31', '2024-11-03']

export interface EmailRow {
  tenant_id: string
  id: number
  company_id: string
  email_account_id: string
  is_warmup: boolean
  campaign_id: string | null
  sequence_step_id: string | null
  lead_id: string | null
  status: string
  sent_at: string | null
  opened_at: string | null
  clicked_at: string | null
  replied_at: string | null
  bounce_type: string | null
  unsubscribed_at: string | null
  complaint_at: string | null
}

let nextId = 1

/**
 * Source rows covering the contract's edge cases for tenants in UTC, a half-hour zone and a
 * daylight-saving zone: sends at local midnight and 23:59:59.999 on month ends and on the days the
 * clocks change, unsent and failed emails, a campaign with nothing delivered, a warmup-only
 * mailbox, a mailbox without a warmup row, a warmup email before its warmup started, a lead who
 * complained and replied, a tenant with no and one with overlapping (and tied) subscriptions,
 * plus seeded random activity.
 */
export async function insertEdgeCaseFixture<DB>(db: Kysely<DB>, seed = 7): Promise<EmailRow[]> {
  const r = seeded(seed)
  const q = (text: string) => sql.raw(text).execute(db)
  const emails: EmailRow[] = []
  for (const t of TENANTS) {
    const T = t.id
    await q(`
      insert into tenants (id, name, time_zone) values ('${T}', '${T}', '${t.time_zone}');
      insert into companies (tenant_id, id, name) values ('${T}', '${T}-co', 'Co');
      insert into domains (tenant_id, id, company_id, name) values
        ('${T}', '${T}-d1', '${T}-co', 'one.example'), ('${T}', '${T}-d2', '${T}-co', 'two.example');
      insert into email_accounts (tenant_id, id, company_id, domain_id, address) values
        ('${T}', '${T}-m1', '${T}-co', '${T}-d1', 'a@one.example'),
        ('${T}', '${T}-m2', '${T}-co', '${T}-d1', 'b@one.example'),
        ('${T}', '${T}-m3', '${T}-co', '${T}-d2', 'c@two.example');
      insert into warmup_status (tenant_id, id, email_account_id, status, started_at, ramp_days) values
        ('${T}', '${T}-w1', '${T}-m1', 'active', '2024-03-05 12:00Z', 14),
        ('${T}', '${T}-w2', '${T}-m2', 'completed', '2024-02-20 00:00Z', 30);
      insert into campaigns (tenant_id, id, company_id, name, status) values
        ('${T}', '${T}-c1', '${T}-co', 'Three steps', 'active'),
        ('${T}', '${T}-c2', '${T}-co', 'Nothing delivered', 'completed'),
        ('${T}', '${T}-c3', '${T}-co', 'Paused', 'paused');
      insert into campaign_sequence_steps (tenant_id, id, company_id, campaign_id, step_number) values
        ('${T}', '${T}-c1-s1', '${T}-co', '${T}-c1', 1), ('${T}', '${T}-c1-s2', '${T}-co', '${T}-c1', 2),
        ('${T}', '${T}-c1-s3', '${T}-co', '${T}-c1', 3), ('${T}', '${T}-c2-s1', '${T}-co', '${T}-c2', 1),
        ('${T}', '${T}-c3-s1', '${T}-co', '${T}-c3', 1), ('${T}', '${T}-c3-s2', '${T}-co', '${T}-c3', 2);
      insert into leads (tenant_id, id, company_id, email)
        select '${T}', '${T}-l' || i, '${T}-co', 'lead' || i || '@x.example' from generate_series(1, 12) i;
    `)
    if (T === 't-quiet') continue
    const mk = (e: Partial<EmailRow> & { sent_at: string | null }): EmailRow => {
      const row: EmailRow = {
        tenant_id: T,
        id: nextId++,
        company_id: `${T}-co`,
        email_account_id: `${T}-m1`,
        is_warmup: false,
        campaign_id: `${T}-c1`,
        sequence_step_id: `${T}-c1-s1`,
        lead_id: `${T}-l1`,
        status: 'delivered',
        opened_at: null,
        clicked_at: null,
        replied_at: null,
        bounce_type: null,
        unsubscribed_at: null,
        complaint_at: null,
        ...e,
      }
      emails.push(row)
      return row
    }
    const at = (day: string, ms: number) =>
      new Date(Date.parse(localMidnight(day, t.time_zone)) + ms).toISOString()
    for (const day of EDGE_DAYS) {
      mk({ sent_at: at(day, 0), sequence_step_id: `${T}-c1-s3`, lead_id: `${T}-l2` })
      mk({ sent_at: at(day, 86_400_000 - 1), sequence_step_id: `${T}-c1-s3`, lead_id: `${T}-l3` })
      mk({
        sent_at: at(day, 86_400_000 - 1),
        is_warmup: true,
        campaign_id: null,
        sequence_step_id: null,
        lead_id: null,
      })
    }
    mk({ sent_at: null, status: 'queued' })
    mk({ sent_at: at('2024-03-12', 3_600_000), status: 'failed', lead_id: `${T}-l4` })
    // nothing delivered: bounced and failed only
    mk({
      sent_at: at('2024-03-12', 7_200_000),
      campaign_id: `${T}-c2`,
      sequence_step_id: `${T}-c2-s1`,
      status: 'bounced',
      bounce_type: 'hard',
      lead_id: `${T}-l5`,
    })
    mk({
      sent_at: at('2024-03-13', 7_200_000),
      campaign_id: `${T}-c2`,
      sequence_step_id: `${T}-c2-s1`,
      status: 'failed',
      lead_id: `${T}-l6`,
    })
    // warmup email before its warmup started (m1 starts 2024-03-05)
    mk({
      sent_at: at('2024-03-02', 600_000),
      is_warmup: true,
      campaign_id: null,
      sequence_step_id: null,
      lead_id: null,
    })
    // a lead who complained and replied
    mk({
      sent_at: at('2024-03-14', 0),
      lead_id: `${T}-l7`,
      replied_at: at('2024-03-15', 0),
      complaint_at: at('2024-03-16', 0),
    })
    // random activity over six weeks around the DST change and two month ends
    for (let i = 0; i < 400; i++) {
      const day = `2024-03-${String(r.int(1, 31)).padStart(2, '0')}`
      const sentAt = at(
        r.chance(0.1) ? '2024-02-28' : r.chance(0.1) ? '2024-04-01' : day,
        r.int(0, 86_399_999),
      )
      const later = (p: number) =>
        r.chance(p) ? new Date(Date.parse(sentAt) + r.int(1, 5 * 86_400_000)).toISOString() : null
      const warmup = r.chance(0.3)
      const mailbox = warmup ? r.pick([`${T}-m1`, `${T}-m2`]) : r.pick([`${T}-m1`, `${T}-m3`])
      const campaign = r.pick([`${T}-c1`, `${T}-c1`, `${T}-c3`])
      const step = campaign.endsWith('c1')
        ? `${campaign}-s${r.int(1, 3)}`
        : `${campaign}-s${r.int(1, 2)}`
      const bounced = r.chance(0.05)
      mk({
        sent_at: r.chance(0.03) ? null : sentAt,
        email_account_id: mailbox,
        is_warmup: warmup,
        campaign_id: warmup ? null : campaign,
        sequence_step_id: warmup ? null : step,
        lead_id: warmup ? null : `${T}-l${r.int(1, 12)}`,
        status: bounced ? 'bounced' : r.chance(0.03) ? 'sent' : 'delivered',
        bounce_type: bounced ? r.pick(['hard', 'soft']) : null,
        opened_at: later(0.5),
        clicked_at: later(0.1),
        replied_at: later(0.08),
        unsubscribed_at: later(0.03),
        complaint_at: later(0.02),
      })
    }
  }
  await q(`
    insert into subscriptions (tenant_id, id, plan, status, started_at, ended_at) values
      ('t-utc', 'sub-u1', 'pro', 'active', '2023-01-01Z', null),
      ('t-ny', 'sub-n1', 'starter', 'cancelled', '2023-06-01Z', '2024-03-15 12:00Z'),
      ('t-ny', 'sub-n2', 'pro', 'active', '2024-03-10Z', null),
      ('t-ny', 'sub-n3', 'pro', 'active', '2024-03-10Z', null),
      ('t-ist', 'sub-i1', 'pro', 'active', '2024-04-01Z', null);
  `)
  await insertEmails(db, emails)
  return emails
}

export async function insertEmails<DB>(db: Kysely<DB>, rows: EmailRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    await sql`
      insert into emails (tenant_id, id, company_id, email_account_id, is_warmup, campaign_id,
        sequence_step_id, lead_id, status, sent_at, opened_at, clicked_at, replied_at, bounce_type,
        unsubscribed_at, complaint_at)
      select * from jsonb_to_recordset(${JSON.stringify(rows.slice(i, i + 500))}::jsonb) as x(
        tenant_id text, id bigint, company_id text, email_account_id text, is_warmup boolean,
        campaign_id text, sequence_step_id text, lead_id text, status text, sent_at timestamptz,
        opened_at timestamptz, clicked_at timestamptz, replied_at timestamptz, bounce_type text,
        unsubscribed_at timestamptz, complaint_at timestamptz)`.execute(db)
  }
}
