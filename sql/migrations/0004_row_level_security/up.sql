-- Who may read and write what. Every table holding tenant data has row level security ENABLEd and
-- FORCEd (so the owner is bound too). A tenant's reader sees the rows whose tenant_id equals
-- app.current_tenant_id; an unset or empty setting matches nothing and never raises (the seed's
-- current_setting without missing_ok raised). The comparison is direct, with no per-row subquery.
-- The owner and the writer are services that work across tenants: their policies are explicit.

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY[
    'subscriptions', 'companies', 'domains', 'email_accounts', 'warmup_status', 'campaigns',
    'campaign_sequence_steps', 'leads', 'emails', 'billing_analytics', 'campaign_analytics',
    'sequence_step_analytics', 'mailbox_analytics', 'warmup_analytics', 'lead_analytics'
  ] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %I FOR ALL TO pm_reader
      USING (tenant_id = nullif(current_setting('app.current_tenant_id', true), ''))
      WITH CHECK (tenant_id = nullif(current_setting('app.current_tenant_id', true), ''))$p$, t);
    EXECUTE format('CREATE POLICY service_access ON %I FOR ALL TO pm_owner, pm_writer USING (true) WITH CHECK (true)', t);
    EXECUTE format('GRANT SELECT ON %I TO pm_reader', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO pm_writer', t);
  END LOOP;

  -- partitions are reached through their parent, whose policies apply; direct access is denied
  FOREACH t IN ARRAY ARRAY[
    'campaign_analytics_default', 'sequence_step_analytics_default', 'mailbox_analytics_default',
    'warmup_analytics_default', 'admin_audit_log_default', 'admin_system_events_default'
  ] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
  END LOOP;

  FOREACH t IN ARRAY ARRAY['admin_audit_log', 'admin_system_events'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY admin_read ON %I FOR SELECT TO pm_admin USING (true)', t);
    EXECUTE format('CREATE POLICY service_append ON %I FOR INSERT TO pm_admin, pm_writer WITH CHECK (true)', t);
    EXECUTE format('CREATE POLICY owner_access ON %I FOR ALL TO pm_owner USING (true) WITH CHECK (true)', t);
    EXECUTE format('GRANT SELECT, INSERT ON %I TO pm_admin', t);
    EXECUTE format('GRANT INSERT ON %I TO pm_writer', t);
  END LOOP;
END
$$;

-- tenants is keyed by id: the same isolation, on id
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants FOR ALL TO pm_reader
  USING (id = nullif(current_setting('app.current_tenant_id', true), ''))
  WITH CHECK (id = nullif(current_setting('app.current_tenant_id', true), ''));
CREATE POLICY service_access ON tenants FOR ALL TO pm_owner, pm_writer USING (true) WITH CHECK (true);
GRANT SELECT ON tenants TO pm_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenants TO pm_writer;

-- materialized views have no row level security: tenants never read them directly
GRANT SELECT ON campaign_performance_summary TO pm_writer, pm_admin;

REVOKE EXECUTE ON FUNCTION pm_ensure_monthly_partitions(regclass, date, date) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pm_refresh_campaign_performance_summary(boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION tenant_campaign_performance_summary() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pm_ensure_monthly_partitions(regclass, date, date) TO pm_writer;
GRANT EXECUTE ON FUNCTION pm_refresh_campaign_performance_summary(boolean) TO pm_writer;
GRANT EXECUTE ON FUNCTION tenant_campaign_performance_summary() TO pm_reader;
