import type { Queryable } from './queryable.js'

export const TENANT_A = 'tenant-a'
export const TENANT_B = 'tenant-b'

/** A few rows of every table for one tenant, written as a superuser (row level security bypassed). */
function fixtureSql(t: string): string {
  return `
insert into tenants (id, name, time_zone) values ('${t}', 'Tenant ${t}', 'America/New_York');
insert into subscriptions (tenant_id, id, plan, status, started_at) values ('${t}', '${t}-sub', 'pro', 'active', '2024-01-01Z');
insert into companies (tenant_id, id, name) values ('${t}', '${t}-co', 'Company ${t}');
insert into domains (tenant_id, id, company_id, name) values ('${t}', '${t}-dom', '${t}-co', '${t}.example');
insert into email_accounts (tenant_id, id, company_id, domain_id, address)
  values ('${t}', '${t}-mb', '${t}-co', '${t}-dom', 'sender@${t}.example');
insert into warmup_status (tenant_id, id, email_account_id, status, started_at, ramp_days)
  values ('${t}', '${t}-wu', '${t}-mb', 'active', '2024-03-01Z', 30);
insert into campaigns (tenant_id, id, company_id, name, status) values ('${t}', '${t}-cmp', '${t}-co', 'Launch', 'active');
insert into campaign_sequence_steps (tenant_id, id, company_id, campaign_id, step_number)
  values ('${t}', '${t}-s1', '${t}-co', '${t}-cmp', 1);
insert into leads (tenant_id, id, company_id, email) values ('${t}', '${t}-lead', '${t}-co', 'lead@${t}.example');
insert into emails (tenant_id, id, company_id, email_account_id, is_warmup, campaign_id, sequence_step_id, lead_id, status, sent_at)
  values ('${t}', ${t === TENANT_A ? 1 : 2}, '${t}-co', '${t}-mb', false, '${t}-cmp', '${t}-s1', '${t}-lead', 'delivered', '2024-03-10 12:00Z'),
         ('${t}', ${t === TENANT_A ? 3 : 4}, '${t}-co', '${t}-mb', true, null, null, null, 'delivered', '2024-03-10 13:00Z');
insert into billing_analytics (tenant_id, id, period_start, period_end, subscription_id, emails_sent, mailboxes_used, domains_used, campaigns_used, leads_used, warmups_active)
  values ('${t}', '${t}:2024-03', '2024-03-01 05:00Z', '2024-04-01 04:00Z', '${t}-sub', 1, 1, 1, 1, 1, 1);
insert into campaign_analytics (tenant_id, company_id, campaign_id, day, billing_id, sent, delivered, status)
  values ('${t}', '${t}-co', '${t}-cmp', '2024-03-10', '${t}:2024-03', 1, 1, 'active');
insert into sequence_step_analytics (tenant_id, company_id, campaign_id, sequence_step_id, step_number, day, billing_id, sent, delivered)
  values ('${t}', '${t}-co', '${t}-cmp', '${t}-s1', 1, '2024-03-10', '${t}:2024-03', 1, 1);
insert into mailbox_analytics (tenant_id, company_id, email_account_id, day, billing_id, sent, delivered, current_volume, warmup_status, campaign_status, health_score)
  values ('${t}', '${t}-co', '${t}-mb', '2024-03-10', '${t}:2024-03', 1, 1, 2, 'active', 'active', 100);
insert into warmup_analytics (tenant_id, company_id, email_account_id, day, billing_id, sent, delivered, health_score, progress_percentage)
  values ('${t}', '${t}-co', '${t}-mb', '2024-03-10', '${t}:2024-03', 1, 1, 100, 33);
insert into lead_analytics (tenant_id, company_id, lead_id, campaign_id, billing_id, sent, delivered, status, last_sent_at)
  values ('${t}', '${t}-co', '${t}-lead', '${t}-cmp', '${t}:2024-03', 1, 1, 'completed', '2024-03-10 12:00Z');
insert into admin_audit_log (admin_id, action, resource_type, resource_id, tenant_id, created_at)
  values ('admin-1', 'view', 'campaign', '${t}-cmp', '${t}', '2024-03-10 12:00Z');
insert into admin_system_events (event_type, severity, admin_id, session_id, tenant_id, title, created_at)
  values ('session_started', 'low', 'admin-1', 'sess-${t}', '${t}', 'Session started', '2024-03-10 12:00Z');
`
}

export async function insertTenantFixture(q: Queryable): Promise<void> {
  await q.exec(`
    select pm_ensure_monthly_partitions(t, '2024-03-01', '2024-04-01')
      from unnest(array['campaign_analytics', 'sequence_step_analytics', 'mailbox_analytics',
                        'warmup_analytics', 'admin_audit_log', 'admin_system_events']::regclass[]) t;
    ${fixtureSql(TENANT_A)}
    ${fixtureSql(TENANT_B)}`)
}
