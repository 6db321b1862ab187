-- pm_archive_partition as 0007 defined it
CREATE OR REPLACE FUNCTION pm_archive_partition(p_partition regclass)
RETURNS TABLE (moved_rows bigint, moved_checksum numeric)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  b record;
  v_archive regclass;
  v_check text;
BEGIN
  SELECT * INTO b FROM pm_daily_partition_bounds(p_partition);
  v_archive := format('analytics_archive.%I', b.parent_name)::regclass;
  IF to_regclass(format('analytics_archive.%I', b.partition_name)) IS NOT NULL THEN
    RAISE EXCEPTION 'analytics_archive.% exists already: move the rows of % instead', b.partition_name, p_partition;
  END IF;
  v_check := b.partition_name || '_bounds';
  IF NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = p_partition AND conname = v_check) THEN
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (day >= %L AND day < %L)',
                   p_partition, v_check, b.low, b.high);
  ELSE
    EXECUTE format('LOCK TABLE %s IN SHARE MODE', p_partition);
  END IF;
  EXECUTE format('SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)
                    FROM %s t WHERE day >= %L AND day < %L', b.parent, b.low, b.high)
     INTO moved_rows, moved_checksum;
  EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', b.parent, p_partition);
  EXECUTE format('ALTER TABLE %s SET SCHEMA analytics_archive', p_partition);
  EXECUTE format('ALTER TABLE %s ATTACH PARTITION analytics_archive.%I FOR VALUES FROM (%L) TO (%L)',
                 v_archive, b.partition_name, b.low, b.high);
  RETURN NEXT;
END
$$;
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['campaign_analytics', 'sequence_step_analytics', 'mailbox_analytics',
                           'warmup_analytics', 'lead_analytics', 'billing_analytics', 'campaigns',
                           'tenants'] LOOP
    EXECUTE format('DROP TRIGGER %I ON %I', t || '_version_inserts', t);
    EXECUTE format('DROP TRIGGER %I ON %I', t || '_version_updates', t);
    EXECUTE format('DROP TRIGGER %I ON %I', t || '_version_deletes', t);
    EXECUTE format('DROP TRIGGER %I ON %I', t || '_version_truncates', t);
  END LOOP;
END
$$;
DROP FUNCTION pm_bump_versions_of_changed_tenants();
DROP FUNCTION pm_bump_versions_of_changed_rows();
DROP FUNCTION pm_rename_tenant_versions(text, text);
DROP FUNCTION pm_fold_tenant_versions(text[]);
DROP FUNCTION pm_bump_tenant_versions(text[]);
DROP TABLE analytics_tenant_versions;
