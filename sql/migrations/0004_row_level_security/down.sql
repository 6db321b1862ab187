REVOKE EXECUTE ON FUNCTION tenant_campaign_performance_summary() FROM pm_reader;
REVOKE EXECUTE ON FUNCTION pm_refresh_campaign_performance_summary(boolean) FROM pm_writer;
REVOKE EXECUTE ON FUNCTION pm_ensure_monthly_partitions(regclass, date, date) FROM pm_writer;
GRANT EXECUTE ON FUNCTION tenant_campaign_performance_summary() TO PUBLIC;
GRANT EXECUTE ON FUNCTION pm_refresh_campaign_performance_summary(boolean) TO PUBLIC;
GRANT EXECUTE ON FUNCTION pm_ensure_monthly_partitions(regclass, date, date) TO PUBLIC;
REVOKE ALL ON campaign_performance_summary FROM pm_writer, pm_admin;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY[
    'tenants', 'subscriptions', 'companies', 'domains', 'email_accounts', 'warmup_status', 'campaigns',
    'campaign_sequence_steps', 'leads', 'emails', 'billing_analytics', 'campaign_analytics',
    'sequence_step_analytics', 'mailbox_analytics', 'warmup_analytics', 'lead_analytics'
  ] LOOP
    EXECUTE format('DROP POLICY tenant_isolation ON %I', t);
    EXECUTE format('DROP POLICY service_access ON %I', t);
    EXECUTE format('REVOKE ALL ON %I FROM pm_reader, pm_writer', t);
    EXECUTE format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I DISABLE ROW LEVEL SECURITY', t);
  END LOOP;
  FOREACH t IN ARRAY ARRAY['admin_audit_log', 'admin_system_events'] LOOP
    EXECUTE format('DROP POLICY admin_read ON %I', t);
    EXECUTE format('DROP POLICY service_append ON %I', t);
    EXECUTE format('DROP POLICY owner_access ON %I', t);
    EXECUTE format('REVOKE ALL ON %I FROM pm_admin, pm_writer', t);
    EXECUTE format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I DISABLE ROW LEVEL SECURITY', t);
  END LOOP;
  FOREACH t IN ARRAY ARRAY[
    'campaign_analytics_default', 'sequence_step_analytics_default', 'mailbox_analytics_default',
    'warmup_analytics_default', 'admin_audit_log_default', 'admin_system_events_default'
  ] LOOP
    EXECUTE format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I DISABLE ROW LEVEL SECURITY', t);
  END LOOP;
END
$$;
