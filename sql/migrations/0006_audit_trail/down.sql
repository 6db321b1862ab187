-- Undoes 0006_audit_trail: the audit log loses its chain columns (the entries stay), the tables
-- their guards, and pm_ensure_monthly_partitions is as 0002_analytics_tables made it.
DROP FUNCTION pm_audit_erase_personal(text, text, jsonb, text, jsonb);
DROP FUNCTION pm_audit_erasure_candidates();
DROP FUNCTION pm_audit_chain_head();
DROP FUNCTION pm_audit_chain_find(text, boolean);
DROP FUNCTION pm_audit_chain_rows(bigint, bigint, integer);
DROP FUNCTION pm_audit_chain_entries();
DROP INDEX admin_system_events_session_expiry_idx;
DROP FUNCTION pm_admin_sessions(text, text, boolean);
DROP FUNCTION pm_resolve_system_event(bigint, text, text);
DROP FUNCTION pm_record_system_event(jsonb);
DROP FUNCTION pm_audit_append(jsonb);
DROP FUNCTION pm_admin_ensure_current_partition(regclass);

CREATE OR REPLACE FUNCTION pm_ensure_monthly_partitions(p_parent regclass, p_from date, p_to date)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  v_schema text;
  v_table text;
  v_key_type regtype;
  v_month date := date_trunc('month', p_from)::date;
  v_name text;
  v_low text;
  v_high text;
  v_created integer := 0;
BEGIN
  SELECT n.nspname, c.relname, a.atttypid::regtype
    INTO v_schema, v_table, v_key_type
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_partitioned_table pt ON pt.partrelid = c.oid
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = pt.partattrs[0]
   WHERE c.oid = p_parent AND pt.partstrat = 'r';
  IF v_table IS NULL THEN
    RAISE EXCEPTION '% is not a range-partitioned table', p_parent;
  END IF;
  IF p_to <= p_from THEN
    RETURN 0;
  END IF;
  -- one creator at a time per parent; a concurrent caller then sees the partitions and skips them
  PERFORM pg_advisory_xact_lock(hashtext('pm_partitions'), hashtext(p_parent::text));
  WHILE v_month < p_to LOOP
    v_name := format('%s_y%sm%s', v_table, to_char(v_month, 'YYYY'), to_char(v_month, 'MM'));
    IF to_regclass(format('%I.%I', v_schema, v_name)) IS NULL THEN
      IF v_key_type = 'timestamp with time zone'::regtype THEN
        v_low := to_char(v_month, 'YYYY-MM-DD') || ' 00:00:00+00';
        v_high := to_char((v_month + interval '1 month')::date, 'YYYY-MM-DD') || ' 00:00:00+00';
      ELSE
        v_low := to_char(v_month, 'YYYY-MM-DD');
        v_high := to_char((v_month + interval '1 month')::date, 'YYYY-MM-DD');
      END IF;
      EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)',
                     v_schema, v_name, v_schema, v_table, v_low, v_high);
      -- reads and writes go through the parent, whose policies apply; direct access is denied
      EXECUTE format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY', v_schema, v_name);
      EXECUTE format('ALTER TABLE %I.%I FORCE ROW LEVEL SECURITY', v_schema, v_name);
      v_created := v_created + 1;
    END IF;
    v_month := (v_month + interval '1 month')::date;
  END LOOP;
  RETURN v_created;
END
$$;

-- the guards: the TRUNCATE triggers of every partition go with their function
DROP TRIGGER pm_append_only_truncate ON admin_audit_chain_head;
DROP TRIGGER pm_append_only ON admin_audit_chain_head;
DROP TRIGGER pm_append_only ON admin_system_events;
DROP TRIGGER pm_redact ON admin_system_events;
DROP TRIGGER pm_append_only ON admin_audit_log;
DROP TRIGGER pm_audit_seal ON admin_audit_log;
DROP FUNCTION pm_append_only_truncate() CASCADE;
DROP FUNCTION pm_audit_chain_head_guard();
DROP FUNCTION pm_system_events_before_insert();
DROP FUNCTION pm_system_events_guard();
DROP FUNCTION pm_audit_log_guard();
DROP FUNCTION pm_audit_log_before_insert();

DROP INDEX admin_audit_log_row_hash_idx;
DROP INDEX admin_audit_log_seq_idx;
DROP FUNCTION pm_audit_chain_next(timestamptz, text, text, text, jsonb[]);
ALTER TABLE admin_audit_log
  DROP CONSTRAINT admin_audit_log_sealed,
  DROP COLUMN erased_by,
  DROP COLUMN pii_digests,
  DROP COLUMN pii_salts,
  DROP COLUMN db_role,
  DROP COLUMN hash_version,
  DROP COLUMN row_hash,
  DROP COLUMN prev_hash,
  DROP COLUMN seq;
DROP TABLE admin_audit_chain_head;

DROP FUNCTION pm_audit_row_hash(integer, bigint, bytea, timestamptz, text, text, text, bytea[]);
DROP FUNCTION pm_audit_personal_values(text, text, text, jsonb, jsonb, inet, text, text, jsonb);
DROP FUNCTION pm_audit_digest(bytea, jsonb);
DROP FUNCTION pm_audit_timestamp(timestamptz);
DROP FUNCTION pm_audit_redact(jsonb);
DROP FUNCTION pm_audit_may_hold_secrets(jsonb);
DROP FUNCTION pm_audit_redact_text(text);
DROP FUNCTION pm_audit_is_secret_key(text);
DROP FUNCTION pm_audit_personal_fields();
DROP FUNCTION pm_audit_canonical_json(jsonb);
