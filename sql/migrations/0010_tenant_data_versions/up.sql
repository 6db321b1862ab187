-- Per-tenant data versions for the read API's result cache (issue #3). Every statement that
-- changes what a cached read returns bumps the version of each tenant it touched, in the writing
-- transaction, so that a reader sees a new version exactly when it sees the new rows: a body cached
-- with version v is served only while the version is still v. Statement-level triggers with
-- transition tables cover every writer (the aggregator, maintenance, a manual fix in psql); they
-- run as the owner (SECURITY DEFINER), so no writer needs a grant on this table.
--
-- The version is the number of bumps: each bump inserts a row of weight 1, never updates one, so
-- that writers of one tenant never wait on each other for it, and a writer in a REPEATABLE READ
-- transaction (the archive) never fails on a row another bump changed. A reader takes the sum in
-- its snapshot: every commit that bumped adds to it, so a body cached at sum v is served only
-- while no change was committed since. pm_fold_tenant_versions replaces a tenant's rows by one row
-- of their summed weight (the sum stays the same) and keeps the table small: the aggregator's
-- drain folds the tenants of each batch. A sequence value would not do: commits come in any order.
CREATE TABLE analytics_tenant_versions (
  tenant_id text NOT NULL,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  bumps bigint NOT NULL DEFAULT 1 CHECK (bumps > 0),
  changed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, seq)
);

ALTER TABLE analytics_tenant_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_tenant_versions FORCE ROW LEVEL SECURITY;
-- FOR ALL as on every tenant table; the reader is granted SELECT only
CREATE POLICY tenant_isolation ON analytics_tenant_versions FOR ALL TO pm_reader
  USING (tenant_id = nullif(current_setting('app.current_tenant_id', true), ''))
  WITH CHECK (tenant_id = nullif(current_setting('app.current_tenant_id', true), ''));
-- the triggers and functions write as the owner (SECURITY DEFINER); nobody else writes
CREATE POLICY owner_access ON analytics_tenant_versions FOR ALL TO pm_owner
  USING (true) WITH CHECK (true);
CREATE POLICY service_read ON analytics_tenant_versions FOR SELECT TO pm_writer USING (true);
GRANT SELECT ON analytics_tenant_versions TO pm_reader, pm_writer;

-- Bumps the given tenants' versions: one row each, whatever else is writing.
CREATE FUNCTION pm_bump_tenant_versions(p_tenants text[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $$
  INSERT INTO analytics_tenant_versions (tenant_id)
  SELECT DISTINCT t FROM unnest(p_tenants) AS t WHERE t IS NOT NULL;
$$;

-- Folds each given tenant's rows into one, in a READ COMMITTED transaction: rows another
-- transaction adds meanwhile are left for a later fold, and a fold racing another skips the rows
-- the other deleted, so the sums never change.
CREATE FUNCTION pm_fold_tenant_versions(p_tenants text[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $$
  WITH folded AS (
    DELETE FROM analytics_tenant_versions WHERE tenant_id = ANY (p_tenants)
    RETURNING tenant_id, bumps, changed_at
  )
  INSERT INTO analytics_tenant_versions (tenant_id, bumps, changed_at)
  SELECT tenant_id, sum(bumps), max(changed_at) FROM folded GROUP BY tenant_id;
$$;

-- GDPR erasure of a tenant (apps/maintenance) renames its id everywhere; here too, as the last
-- step of the erasure's transaction (its earlier statements bumped the old id as well).
CREATE FUNCTION pm_rename_tenant_versions(p_old text, p_new text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $$
  WITH renamed AS (
    DELETE FROM analytics_tenant_versions WHERE tenant_id = p_old RETURNING bumps, changed_at
  )
  INSERT INTO analytics_tenant_versions (tenant_id, bumps, changed_at)
  SELECT p_new, sum(bumps), max(changed_at) FROM renamed HAVING count(*) > 0;
$$;

-- One function for every table keyed by tenant_id. PL/pgSQL plans a branch only when it runs, so
-- each event's branch names only the transition tables its trigger declares.
CREATE FUNCTION pm_bump_versions_of_changed_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM pm_bump_tenant_versions(ARRAY(SELECT DISTINCT tenant_id FROM pm_new_rows));
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM pm_bump_tenant_versions(ARRAY(SELECT tenant_id FROM pm_old_rows
                                          UNION SELECT tenant_id FROM pm_new_rows));
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM pm_bump_tenant_versions(ARRAY(SELECT DISTINCT tenant_id FROM pm_old_rows));
  ELSE
    -- TRUNCATE names no rows: every tenant changes
    PERFORM pm_bump_tenant_versions(ARRAY(SELECT id FROM tenants
                                          UNION SELECT tenant_id FROM analytics_tenant_versions));
  END IF;
  RETURN NULL;
END
$$;

-- tenants is keyed by id: its time zone shapes the usage periods, its row the tenant's existence
CREATE FUNCTION pm_bump_versions_of_changed_tenants() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM pm_bump_tenant_versions(ARRAY(SELECT id FROM pm_new_rows));
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM pm_bump_tenant_versions(ARRAY(SELECT id FROM pm_old_rows UNION SELECT id FROM pm_new_rows));
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM pm_bump_tenant_versions(ARRAY(SELECT id FROM pm_old_rows));
  ELSE
    PERFORM pm_bump_tenant_versions(ARRAY(SELECT tenant_id FROM analytics_tenant_versions));
  END IF;
  RETURN NULL;
END
$$;

-- The six analytics tables, and the source tables the cached reads join live: campaigns (names and
-- status in campaign performance). A transition table may serve one event only, hence three
-- triggers per table; on a partitioned table they fire once per statement for all partitions.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['campaign_analytics', 'sequence_step_analytics', 'mailbox_analytics',
                           'warmup_analytics', 'lead_analytics', 'billing_analytics', 'campaigns'] LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS pm_new_rows
                      FOR EACH STATEMENT EXECUTE FUNCTION pm_bump_versions_of_changed_rows()',
                   t || '_version_inserts', t);
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I
                      REFERENCING OLD TABLE AS pm_old_rows NEW TABLE AS pm_new_rows
                      FOR EACH STATEMENT EXECUTE FUNCTION pm_bump_versions_of_changed_rows()',
                   t || '_version_updates', t);
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS pm_old_rows
                      FOR EACH STATEMENT EXECUTE FUNCTION pm_bump_versions_of_changed_rows()',
                   t || '_version_deletes', t);
    EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I
                      FOR EACH STATEMENT EXECUTE FUNCTION pm_bump_versions_of_changed_rows()',
                   t || '_version_truncates', t);
  END LOOP;
END
$$;
CREATE TRIGGER tenants_version_inserts AFTER INSERT ON tenants REFERENCING NEW TABLE AS pm_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION pm_bump_versions_of_changed_tenants();
CREATE TRIGGER tenants_version_updates AFTER UPDATE ON tenants
  REFERENCING OLD TABLE AS pm_old_rows NEW TABLE AS pm_new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION pm_bump_versions_of_changed_tenants();
CREATE TRIGGER tenants_version_deletes AFTER DELETE ON tenants REFERENCING OLD TABLE AS pm_old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION pm_bump_versions_of_changed_tenants();
CREATE TRIGGER tenants_version_truncates AFTER TRUNCATE ON tenants
  FOR EACH STATEMENT EXECUTE FUNCTION pm_bump_versions_of_changed_tenants();

-- Archiving detaches a whole partition: no row trigger sees its rows leave the live table, so
-- pm_archive_partition (0007, redefined here with the bump added) bumps the tenants with rows in
-- it before it detaches. (Read through the parent: the owner is subject to row level security on
-- the partition itself.)
REVOKE EXECUTE ON FUNCTION pm_bump_tenant_versions(text[]), pm_fold_tenant_versions(text[]),
  pm_rename_tenant_versions(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pm_fold_tenant_versions(text[]), pm_rename_tenant_versions(text, text)
  TO pm_writer;

CREATE OR REPLACE FUNCTION pm_archive_partition(p_partition regclass)
RETURNS TABLE (moved_rows bigint, moved_checksum numeric)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  b record;
  v_archive regclass;
  v_check text;
  v_tenants text[];
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
  -- its rows leave the live table with no row trigger firing: bump their tenants here
  EXECUTE format('SELECT array_agg(DISTINCT tenant_id) FROM %s WHERE day >= %L AND day < %L',
                 b.parent, b.low, b.high)
     INTO v_tenants;
  PERFORM pm_bump_tenant_versions(coalesce(v_tenants, '{}'));
  EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', b.parent, p_partition);
  EXECUTE format('ALTER TABLE %s SET SCHEMA analytics_archive', p_partition);
  EXECUTE format('ALTER TABLE %s ATTACH PARTITION analytics_archive.%I FOR VALUES FROM (%L) TO (%L)',
                 v_archive, b.partition_name, b.low, b.high);
  RETURN NEXT;
END
$$;
