-- Maintenance (issue #4): archive tables for old daily analytics rows, the functions through which
-- the maintenance runner (pm_writer, which owns nothing) does what needs ownership, and the
-- erasure ledger. The analytics_archive schema itself is created by sql/bootstrap/database.sql:
-- creating a schema needs CREATE on the database, which the owner role does not have.
DO $$
BEGIN
  IF to_regnamespace('analytics_archive') IS NULL THEN
    RAISE EXCEPTION 'schema analytics_archive is missing: run sql/bootstrap/database.sql as a superuser (pnpm db:migrate does when it connects as one), then migrate again';
  END IF;
END
$$;

-- Archive tables: the same shape as the live daily tables (columns in the same order, the same
-- CHECKs, keys and indexes), so that a whole monthly partition can be detached from a live table and
-- attached here. Partitioned by month of day like their live twins; no default partition, so a row
-- of a month without a partition is an error instead of a hidden catch-all.
CREATE TABLE analytics_archive.campaign_analytics (LIKE campaign_analytics INCLUDING ALL)
  PARTITION BY RANGE (day);
CREATE TABLE analytics_archive.sequence_step_analytics (LIKE sequence_step_analytics INCLUDING ALL)
  PARTITION BY RANGE (day);
CREATE TABLE analytics_archive.mailbox_analytics (LIKE mailbox_analytics INCLUDING ALL)
  PARTITION BY RANGE (day);
CREATE TABLE analytics_archive.warmup_analytics (LIKE warmup_analytics INCLUDING ALL)
  PARTITION BY RANGE (day);

GRANT USAGE ON SCHEMA analytics_archive TO pm_writer, pm_admin;
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['campaign_analytics', 'sequence_step_analytics', 'mailbox_analytics',
                           'warmup_analytics'] LOOP
    EXECUTE format('ALTER TABLE analytics_archive.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE analytics_archive.%I FORCE ROW LEVEL SECURITY', t);
    -- tenants do not read archives; the runner moves rows in and erasure rewrites them
    EXECUTE format('CREATE POLICY service_access ON analytics_archive.%I FOR ALL TO pm_owner, pm_writer USING (true) WITH CHECK (true)', t);
    EXECUTE format('CREATE POLICY admin_read ON analytics_archive.%I FOR SELECT TO pm_admin USING (true)', t);
    -- UPDATE for erasure and for a row recomputed after its month was archived (upsert)
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON analytics_archive.%I TO pm_writer', t);
    EXECUTE format('GRANT SELECT ON analytics_archive.%I TO pm_admin', t);
  END LOOP;

  -- Default partitions deny direct access (FORCE, no policy), to the owner too: this lets the
  -- owner's functions below count what landed there without scanning every partition.
  FOREACH t IN ARRAY ARRAY[
    'campaign_analytics_default', 'sequence_step_analytics_default', 'mailbox_analytics_default',
    'warmup_analytics_default', 'admin_audit_log_default', 'admin_system_events_default'
  ] LOOP
    EXECUTE format('CREATE POLICY maintenance_inspect ON %I FOR SELECT TO pm_owner USING (true)', t);
  END LOOP;
END
$$;

-- Rows in the default partition of p_parent, per month of the partition key (UTC months for a
-- timestamptz key). The default must stay empty: a row there blocks creating its month's partition.
CREATE FUNCTION pm_default_partition_months(p_parent regclass)
RETURNS TABLE (month date, row_count bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  v_default regclass;
  v_key name;
  v_key_type regtype;
BEGIN
  SELECT a.attname, a.atttypid::regtype INTO v_key, v_key_type
    FROM pg_partitioned_table pt
    JOIN pg_class c ON c.oid = pt.partrelid
    JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
   WHERE pt.partrelid = p_parent AND pt.partstrat = 'r'
     AND c.relnamespace = current_schema()::regnamespace;
  IF v_key IS NULL THEN
    RAISE EXCEPTION '% is not a range-partitioned table of schema %', p_parent, current_schema();
  END IF;
  SELECT i.inhrelid INTO v_default
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = p_parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';
  IF v_default IS NULL THEN
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_policy WHERE polrelid = v_default AND polname = 'maintenance_inspect') THEN
    -- without it row level security would hide the rows and the answer would be a silent 0
    RAISE EXCEPTION 'default partition % has no maintenance_inspect policy: CREATE POLICY maintenance_inspect ON % FOR SELECT TO pm_owner USING (true)', v_default, v_default;
  END IF;
  RETURN QUERY EXECUTE format(
    'SELECT date_trunc(''month'', %s)::date, count(*) FROM %s GROUP BY 1 ORDER BY 1',
    CASE WHEN v_key_type = 'timestamp with time zone'::regtype
         THEN format('%I AT TIME ZONE ''UTC''', v_key) ELSE quote_ident(v_key) END,
    v_default);
END
$$;

-- Finishes every DETACH PARTITION … CONCURRENTLY left half-done (its session died between its two
-- transactions: the partition is then "detach pending" and no row of its range can be written) and
-- attaches the partition back where it was, so that its rows stay where readers and writers expect
-- them. The runner itself never detaches concurrently (not possible with a default partition, nor
-- inside a function); this repairs what an operator or a crashed tool left.
CREATE FUNCTION pm_finalize_detached_partitions()
RETURNS TABLE (parent_table text, partition_table text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT i.inhparent::regclass AS parent, i.inhrelid::regclass AS part,
           pg_get_expr(c.relpartbound, c.oid) AS bound
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
      JOIN pg_class p ON p.oid = i.inhparent
     WHERE i.inhdetachpending
       AND p.relnamespace IN (current_schema()::regnamespace, 'analytics_archive'::regnamespace)
     ORDER BY 1, 2
  LOOP
    EXECUTE format('ALTER TABLE %s DETACH PARTITION %s FINALIZE', r.parent, r.part);
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s %s', r.parent, r.part, r.bound);
    parent_table := r.parent::text;
    partition_table := r.part::text;
    RETURN NEXT;
  END LOOP;
END
$$;

-- The monthly partition p_partition of a live daily analytics table, its parent and bounds; raises
-- for anything else (the functions below must not be a way to touch other tables).
CREATE FUNCTION pm_daily_partition_bounds(p_partition regclass,
                                          OUT parent regclass, OUT parent_name text,
                                          OUT partition_name text, OUT low date, OUT high date)
LANGUAGE plpgsql STABLE SET search_path FROM CURRENT AS $$
DECLARE
  v_bound text;
  v_match text[];
BEGIN
  SELECT i.inhparent, p.relname, c.relname, pg_get_expr(c.relpartbound, c.oid)
    INTO parent, parent_name, partition_name, v_bound
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
   WHERE i.inhrelid = p_partition AND NOT i.inhdetachpending
     AND p.relnamespace = current_schema()::regnamespace
     AND p.relname IN ('campaign_analytics', 'sequence_step_analytics', 'mailbox_analytics',
                       'warmup_analytics');
  IF parent IS NULL THEN
    RAISE EXCEPTION '% is not a partition of a daily analytics table of schema %', p_partition, current_schema();
  END IF;
  v_match := regexp_match(v_bound, '^FOR VALUES FROM \(''([0-9-]+)''\) TO \(''([0-9-]+)''\)$');
  IF v_match IS NULL THEN
    RAISE EXCEPTION '% is not a monthly partition (bounds: %)', p_partition, v_bound;
  END IF;
  low := v_match[1]::date;
  high := v_match[2]::date;
END
$$;

-- Moves a whole monthly partition of a live daily table into analytics_archive, atomically: a
-- CHECK proves its bounds (so attaching needs no scan while the live parent is locked), its rows
-- are counted and checksummed, then it is detached, moved to the archive schema and attached to the
-- archive table. Plain DETACH takes an ACCESS EXCLUSIVE lock on the live parent for the few catalog
-- updates (CONCURRENTLY cannot run in a function nor with a default partition); the caller's
-- lock_timeout bounds the wait. Raises when the archive already has that month.
CREATE FUNCTION pm_archive_partition(p_partition regclass)
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

-- Drops a monthly partition of a live daily table if it holds no row (its rows were archived one by
-- one); false, and nothing done, when a row is there.
CREATE FUNCTION pm_drop_empty_partition(p_partition regclass)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  b record;
  v_found boolean;
BEGIN
  SELECT * INTO b FROM pm_daily_partition_bounds(p_partition);
  -- the parent first, as queries lock it: no deadlock with them; dropping needs this lock anyway
  EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', b.parent);
  EXECUTE format('SELECT EXISTS (SELECT FROM %s WHERE day >= %L AND day < %L)', b.parent, b.low, b.high)
     INTO v_found;
  IF v_found THEN
    RETURN false;
  END IF;
  EXECUTE format('DROP TABLE %s', p_partition);
  RETURN true;
END
$$;

-- ANALYZE needs ownership; this runs it for the analytics tables only (live and archive).
CREATE FUNCTION pm_analyze_table(p_table regclass)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  IF NOT EXISTS (
    SELECT FROM pg_class c
     WHERE c.oid = p_table
       AND ((c.relnamespace = current_schema()::regnamespace
             AND c.relname IN ('campaign_analytics', 'sequence_step_analytics', 'mailbox_analytics',
                               'warmup_analytics', 'lead_analytics', 'billing_analytics',
                               'analytics_dirty_keys'))
         OR (c.relnamespace = 'analytics_archive'::regnamespace AND c.relkind = 'p'))
  ) THEN
    RAISE EXCEPTION '% is not an analytics table', p_table;
  END IF;
  EXECUTE format('ANALYZE %s', p_table);
END
$$;

-- One row per erasure, so that it can be replayed on a restored backup that predates it. It names
-- the subject only by its pseudonym, a keyed hash (HMAC-SHA256 with PM_ERASURE_KEY, a key kept out
-- of the database) of its id: finding the subject again needs the key and the data that still holds
-- the original id. Append-only for the runner.
CREATE TABLE erasure_ledger (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  subject_kind text NOT NULL CHECK (subject_kind IN ('tenant')),
  subject_pseudonym text NOT NULL,
  -- which key made the pseudonyms: a keyed hash of a constant, never the key
  key_fingerprint text NOT NULL,
  request_id uuid NOT NULL UNIQUE,
  requested_by text NOT NULL,
  erased_at timestamptz NOT NULL DEFAULT now(),
  -- rows changed per table
  rows_changed jsonb NOT NULL,
  UNIQUE (subject_kind, subject_pseudonym)
);
ALTER TABLE erasure_ledger ENABLE ROW LEVEL SECURITY;
ALTER TABLE erasure_ledger FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_access ON erasure_ledger FOR ALL TO pm_owner USING (true) WITH CHECK (true);
CREATE POLICY ledger_read ON erasure_ledger FOR SELECT TO pm_writer, pm_admin USING (true);
CREATE POLICY ledger_append ON erasure_ledger FOR INSERT TO pm_writer WITH CHECK (true);
GRANT SELECT, INSERT ON erasure_ledger TO pm_writer;
GRANT SELECT ON erasure_ledger TO pm_admin;

REVOKE EXECUTE ON FUNCTION pm_default_partition_months(regclass), pm_finalize_detached_partitions(),
  pm_daily_partition_bounds(regclass), pm_archive_partition(regclass),
  pm_drop_empty_partition(regclass), pm_analyze_table(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pm_default_partition_months(regclass), pm_finalize_detached_partitions(),
  pm_daily_partition_bounds(regclass), pm_archive_partition(regclass),
  pm_drop_empty_partition(regclass), pm_analyze_table(regclass) TO pm_writer;
