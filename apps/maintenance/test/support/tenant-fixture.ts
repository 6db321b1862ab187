import type pg from 'pg'

/** The ids and personal values of a fixture tenant, none a substring of another tenant's. */
export interface FixtureTenant {
  id: string
  ids: string[]
  emails: string[]
  ips: string[]
  userAgents: string[]
}

/**
 * A tenant with every kind of source row: a company, a domain, two mailboxes (one warming up),
 * a campaign of two steps, 12 leads, and campaign and warmup emails every 5 days from
 * `from` to `to` (opens, replies, bounces, complaints among them), plus admin rows about it that
 * carry an IP address and a user agent. Deterministic: two databases given the same calls hold the
 * same rows. Written as the superuser.
 */
export async function insertTenant(
  client: pg.Client,
  options: { name: string; emailIdBase: number; from: string; to: string; timeZone?: string },
): Promise<FixtureTenant> {
  const n = options.name
  const t = `tenant-${n}-xyz`
  const co = `co-${n}-xyz`
  const dom = `dom-${n}-xyz`
  const mailboxes = [`mb-${n}-1-xyz`, `mb-${n}-2-xyz`]
  const addresses = [`sender1@${n}-mail-xyz.example`, `sender2@${n}-mail-xyz.example`]
  const cmp = `cmp-${n}-xyz`
  const steps = [`step-${n}-1-xyz`, `step-${n}-2-xyz`]
  const leads = Array.from({ length: 12 }, (_, i) => `lead-${n}-${i + 1}-xyz`)
  const leadEmails = leads.map((_, i) => `person${i + 1}@customer-${n}-xyz.example`)
  const ip = n === 'alpha' ? '203.0.113.7' : '198.51.100.9'
  const userAgent = `${n}Browser/1.0 (fixture-${n})`
  await client.query('begin')
  await client.query(
    `insert into tenants (id, name, time_zone, created_at) values ($1, $2, $3, '2020-01-01Z')`,
    [t, `${n} Corp`, options.timeZone ?? 'America/New_York'],
  )
  await client.query(
    `insert into subscriptions (tenant_id, id, plan, status, started_at) values ($1, $2, 'pro', 'active', '2020-01-01Z')`,
    [t, `sub-${n}-xyz`],
  )
  await client.query(
    `insert into companies (tenant_id, id, name, created_at) values ($1, $2, $3, '2020-01-01Z')`,
    [t, co, `${n} Company`],
  )
  await client.query(
    `insert into domains (tenant_id, id, company_id, name, created_at) values ($1, $2, $3, $4, '2020-01-01Z')`,
    [t, dom, co, `${n}-mail-xyz.example`],
  )
  for (const [i, mb] of mailboxes.entries()) {
    await client.query(
      `insert into email_accounts (tenant_id, id, company_id, domain_id, address, created_at)
       values ($1, $2, $3, $4, $5, '2020-01-01Z')`,
      [t, mb, co, dom, addresses[i]],
    )
  }
  await client.query(
    `insert into warmup_status (tenant_id, id, email_account_id, status, started_at, ramp_days)
     values ($1, $2, $3, 'active', $4, 30)`,
    [t, `wu-${n}-xyz`, mailboxes[1], options.from],
  )
  await client.query(
    `insert into campaigns (tenant_id, id, company_id, name, status, created_at, started_at)
     values ($1, $2, $3, $4, 'active', '2020-01-01Z', $5)`,
    [t, cmp, co, `${n} Launch`, options.from],
  )
  for (const [i, step] of steps.entries()) {
    await client.query(
      `insert into campaign_sequence_steps (tenant_id, id, company_id, campaign_id, step_number)
       values ($1, $2, $3, $4, $5)`,
      [t, step, co, cmp, i + 1],
    )
  }
  for (const [i, lead] of leads.entries()) {
    await client.query(
      `insert into leads (tenant_id, id, company_id, email, imported) values ($1, $2, $3, $4, '2020-01-01Z')`,
      [t, lead, co, leadEmails[i]],
    )
  }
  // one campaign email per lead every 5 days (alternating steps and mailboxes), one warmup email
  await client.query(
    `insert into emails (tenant_id, id, company_id, email_account_id, is_warmup, campaign_id,
                         sequence_step_id, lead_id, status, sent_at, opened_at, replied_at,
                         bounce_type, complaint_at, updated_at)
     select $1, $2::bigint + row_number() over (order by d, l), $3,
            ($4::text[])[1 + (l % 2)], false, $5, ($6::text[])[1 + ((l + k) % 2)], ($7::text[])[l],
            case when (l + k) % 7 = 0 then 'bounced' else 'delivered' end,
            d + make_interval(hours => l),
            case when (l + k) % 3 = 0 then d + make_interval(hours => l + 2) end,
            case when (l + k) % 5 = 0 then d + make_interval(hours => l + 5) end,
            case when (l + k) % 7 = 0 then 'hard' end,
            case when (l + k) % 11 = 0 then d + make_interval(hours => l + 6) end,
            '2020-01-01Z'
       from generate_series($8::timestamptz, $9::timestamptz, interval '5 days') with ordinality as g(d, k),
            generate_series(1, 12) as l`,
    [t, options.emailIdBase, co, mailboxes, cmp, steps, leads, options.from, options.to],
  )
  await client.query(
    `insert into emails (tenant_id, id, company_id, email_account_id, is_warmup, status, sent_at, opened_at, updated_at)
     select $1, $2::bigint + 500000 + k, $3, $4, true, 'delivered', d + interval '9 hours',
            case when k % 2 = 0 then d + interval '10 hours' end, '2020-01-01Z'
       from generate_series($5::timestamptz, $6::timestamptz, interval '5 days') with ordinality as g(d, k)`,
    [t, options.emailIdBase, co, mailboxes[1], options.from, options.to],
  )
  // an admin looked at a lead of the tenant: the audit entry holds personal data of the tenant's
  await client.query(
    `insert into admin_audit_log (admin_id, action, resource_type, resource_id, tenant_id, old_values,
                                  new_values, ip_address, user_agent, notes)
     values ('admin-1', 'lead.update', 'lead', $2, $1, jsonb_build_object('email', $3::text),
             jsonb_build_object('email', $3::text, 'campaign', $4::text), $5, $6, $7)`,
    [t, leads[0], leadEmails[0], cmp, ip, userAgent, `called ${leadEmails[0]}`],
  )
  // the admin's own session, about the tenant (the admin's address and browser, not the tenant's)
  await client.query(
    `insert into admin_system_events (event_type, severity, admin_id, session_id, tenant_id, title,
                                      ip_address, user_agent)
     values ('session_started', 'low', 'admin-1', $2, $1, 'Session started', '192.0.2.50', 'AdminConsole/2.0')`,
    [t, `sess-${n}`],
  )
  await client.query('commit')
  return {
    id: t,
    ids: [t, `sub-${n}-xyz`, co, dom, ...mailboxes, `wu-${n}-xyz`, cmp, ...steps, ...leads],
    emails: [...addresses, ...leadEmails],
    ips: [ip],
    userAgents: [userAgent],
  }
}
