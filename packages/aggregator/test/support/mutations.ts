import { type Kysely, sql } from 'kysely'
import { type EmailRow, insertEmails } from './edge-case-fixture.js'
import { seeded } from './random.js'

/**
 * Source changes of every kind analytics depend on, as the platform makes them: events arriving
 * on old emails, sends moving day or month or becoming unsent, new emails (some in months with no
 * partition yet), deletions, a campaign's status, a new final step, a warmup row, a mailbox's
 * domain, a subscription, and a tenant's time zone.
 */
export async function applyMutations<DB>(db: Kysely<DB>, seed: number, round = 0): Promise<void> {
  const r = seeded(seed)
  const q = (text: string) => sql.raw(text).execute(db)
  const { rows: ids } = await sql<{ id: string; tenant_id: string }>`
    select id::text, tenant_id from emails order by id`.execute(db)
  const pick = () => r.pick(ids)
  for (let i = 0; i < 40; i++) {
    const e = pick()
    const change = r.pick([
      `opened_at = coalesce(opened_at, sent_at + interval '1 hour')`,
      `replied_at = sent_at + interval '2 days', status = 'delivered'`,
      `bounce_type = 'hard', status = 'bounced'`,
      `complaint_at = sent_at + interval '3 hours'`,
      `sent_at = sent_at + interval '1 day'`,
      `sent_at = sent_at - interval '20 days'`,
      `sent_at = null, status = 'queued'`,
      `unsubscribed_at = sent_at + interval '5 minutes'`,
      `status = 'failed'`,
    ])
    await q(
      `update emails set ${change}, updated_at = now() where tenant_id = '${e.tenant_id}' and id = ${e.id}`,
    )
  }
  // an update that changes nothing analytics read dirties nothing
  await q(
    `update emails set updated_at = now() where id in (select id from emails order by id limit 5)`,
  )
  for (let i = 0; i < 15; i++) {
    const e = pick()
    await q(`delete from emails where tenant_id = '${e.tenant_id}' and id = ${e.id}`)
  }
  const fresh: EmailRow[] = []
  for (let i = 0; i < 30; i++) {
    const T = r.pick(['t-utc', 't-ist', 't-ny', 't-quiet'])
    const warmup = r.chance(0.3)
    const when = r.pick([
      '2024-03-20T10:00:00Z',
      '2024-04-30T23:30:00Z',
      '2025-01-15T05:00:00Z',
      '2024-02-29T23:59:59.999Z',
    ])
    fresh.push({
      tenant_id: T,
      id: 1_000_000 + seed * 1000 + round * 100 + i,
      company_id: `${T}-co`,
      email_account_id: warmup ? `${T}-m2` : `${T}-m3`,
      is_warmup: warmup,
      campaign_id: warmup ? null : `${T}-c1`,
      sequence_step_id: warmup ? null : `${T}-c1-s${r.int(1, 3)}`,
      lead_id: warmup ? null : `${T}-l${r.int(1, 12)}`,
      status: 'delivered',
      sent_at: when,
      opened_at: r.chance(0.5) ? when : null,
      clicked_at: null,
      replied_at: r.chance(0.2) ? when : null,
      bounce_type: null,
      unsubscribed_at: null,
      complaint_at: null,
    })
  }
  await insertEmails(db, fresh)
  if (round === 0) {
    await q(`
      update campaigns set status = 'active' where tenant_id = 't-ny' and id = 't-ny-c3';
      insert into campaign_sequence_steps (tenant_id, id, company_id, campaign_id, step_number)
        values ('t-utc', 't-utc-c1-s4', 't-utc-co', 't-utc-c1', 4);
      update warmup_status set status = 'paused', ramp_days = 7 where tenant_id = 't-ist' and email_account_id = 't-ist-m1';
      delete from warmup_status where tenant_id = 't-ny' and email_account_id = 't-ny-m2';
      update email_accounts set domain_id = 't-utc-d1' where tenant_id = 't-utc' and id = 't-utc-m3';
      insert into subscriptions (tenant_id, id, plan, status, started_at) values ('t-ist', 'sub-i0', 'trial', 'active', '2024-02-01Z');
      update tenants set time_zone = 'Europe/Berlin' where id = 't-ist';
      update campaign_sequence_steps set step_number = 5 where tenant_id = 't-ny' and id = 't-ny-c3-s1';
    `)
  }
}
