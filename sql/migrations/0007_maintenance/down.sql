REVOKE EXECUTE ON FUNCTION pm_default_partition_months(regclass), pm_finalize_detached_partitions(),
  pm_daily_partition_bounds(regclass), pm_archive_partition(regclass),
  pm_drop_empty_partition(regclass), pm_analyze_table(regclass) FROM pm_writer;
DROP TABLE erasure_ledger;
DROP FUNCTION pm_analyze_table(regclass);
DROP FUNCTION pm_drop_empty_partition(regclass);
DROP FUNCTION pm_archive_partition(regclass);
DROP FUNCTION pm_daily_partition_bounds(regclass);
DROP FUNCTION pm_finalize_detached_partitions();
DROP FUNCTION pm_default_partition_months(regclass);
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY[
    'campaign_analytics_default', 'sequence_step_analytics_default', 'mailbox_analytics_default',
    'warmup_analytics_default', 'admin_audit_log_default', 'admin_system_events_default'
  ] LOOP
    EXECUTE format('DROP POLICY maintenance_inspect ON %I', t);
  END LOOP;
END
$$;
-- archived rows go with the archive tables, as analytics rows go with 0002's down
DROP TABLE analytics_archive.warmup_analytics;
DROP TABLE analytics_archive.mailbox_analytics;
DROP TABLE analytics_archive.sequence_step_analytics;
DROP TABLE analytics_archive.campaign_analytics;
REVOKE USAGE ON SCHEMA analytics_archive FROM pm_writer, pm_admin;
