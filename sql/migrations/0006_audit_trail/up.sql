-- Audit trail (issue #4, packages/audit-logger): admin_audit_log becomes an append-only hash chain,
-- admin_system_events append-only with one controlled update (resolving). The exact canonical form
-- that is hashed is documented in packages/audit-logger/README.md; verification is done outside the
-- database, in TypeScript, from the raw columns.
--
-- Every audit entry gets
--   seq           1, 2, 3, …: gap-free and unique, assigned under a row lock on the chain head, so
--                 concurrent writers queue and the chain never forks
--   prev_hash     the row_hash of entry seq - 1 (32 zero bytes for seq 1)
--   row_hash      sha256 of the canonical JSON of the entry's envelope (see pm_audit_row_hash)
--   hash_version  1: the version of that canonical form
--   db_role       session_user of the writer (part of the hashed envelope)
--   pii_salts     16 random bytes per personal field (NULL when the value is NULL or was erased)
--   pii_digests   sha256(salt || canonical JSON of the value) per personal field (NULL for NULL)
--   erased_by     per personal field, the seq of the erasure entry that removed its value
-- The personal fields, in this order (version 1): admin_id, resource_id, tenant_id, old_values,
-- new_values, ip_address, user_agent, notes, metadata. The envelope commits to their digests, not
-- to their values, so erasure can remove a value and its salt (making the digest irreversible)
-- while the chain still verifies.

-- ---------------------------------------------------------------------------------------------
-- Pure helpers: canonical JSON, redaction, digests, row hash

-- Canonical JSON of a jsonb value: object keys sorted by code point (byte order of UTF-8), no
-- whitespace, strings escaped as JSON (the escaping of JSON.stringify), numbers in PostgreSQL's
-- numeric output form, true/false/null. (PL/pgSQL: its plans are cached across the recursion.)
CREATE FUNCTION pm_audit_canonical_json(p_value jsonb) RETURNS text
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE AS $$
DECLARE
  v_result text;
BEGIN
  CASE jsonb_typeof(p_value)
    WHEN 'object' THEN
      SELECT '{' || coalesce(string_agg(to_json(e.key)::text || ':' ||
                                        CASE WHEN jsonb_typeof(e.value) IN ('object', 'array')
                                             THEN pm_audit_canonical_json(e.value) ELSE e.value::text END,
                                        ',' ORDER BY e.key COLLATE "C"), '') || '}'
        INTO v_result FROM jsonb_each(p_value) AS e;
    WHEN 'array' THEN
      SELECT '[' || coalesce(string_agg(CASE WHEN jsonb_typeof(a.value) IN ('object', 'array')
                                             THEN pm_audit_canonical_json(a.value) ELSE a.value::text END,
                                        ',' ORDER BY a.ordinality), '') || ']'
        INTO v_result FROM jsonb_array_elements(p_value) WITH ORDINALITY AS a;
    ELSE
      v_result := p_value::text;
  END CASE;
  RETURN v_result;
END
$$;

-- The personal fields of an audit entry, in hash order (version 1).
CREATE FUNCTION pm_audit_personal_fields() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY['admin_id', 'resource_id', 'tenant_id', 'old_values', 'new_values', 'ip_address',
               'user_agent', 'notes', 'metadata']
$$;

-- A key naming a secret: compared without case and without anything but ASCII letters and digits,
-- so that apiKey, api_key, X-Api-Key and API-KEY are the same; "token" only at the end (accessToken,
-- csrf_token, but not tokenTenantId or tokenCount). Mirrored by isSecretKey in
-- packages/audit-logger/src/redact.ts (a test checks that both agree).
CREATE FUNCTION pm_audit_is_secret_key(p_key text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT lower(regexp_replace(p_key, '[^A-Za-z0-9]', '', 'g'))
         ~ '(password|passwd|passphrase|secret|apikey|privatekey|credential|authorization|cookie)|(token|tokens|accesskey|signingkey|encryptionkey|sessionkey)$|^(pwd|pass|auth|jwt|otp|pin|cvv|cvc|bearer|signature)$'
$$;

-- Secrets inside free text (whitespace: ASCII only, as in the TypeScript twin): a PEM private key
-- (the whole text), Basic credentials (the whole text:
-- "Basic" and a base64 token of 8 characters or more with a digit, +, /, = or an inner capital, so
-- not "Basic plan"), bearer tokens, JSON web tokens and the password of a URL.
CREATE FUNCTION pm_audit_redact_text(p_text text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN p_text ~ 'PRIVATE KEY-----' THEN '[REDACTED]'
    WHEN p_text ~ '^[ \t\n\r\f\v]*[Bb][Aa][Ss][Ii][Cc][ \t\n\r\f\v]+(?=[A-Za-z0-9+/]*[0-9+/=]|[A-Za-z0-9+/]+[A-Z])[A-Za-z0-9+/]{8,}={0,2}[ \t\n\r\f\v]*$'
      THEN '[REDACTED]'
    ELSE regexp_replace(regexp_replace(regexp_replace(p_text,
      '([a-z][a-z0-9+.-]*://[^ \t\n\r\f\v:/?#@]*:)[^ \t\n\r\f\v/?#@]+@', '\1[REDACTED]@', 'gi'),
      'eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*', '[REDACTED]', 'g'),
      '(bearer)[ \t\n\r\f\v]+[A-Za-z0-9._~+/-]{8,}=*', '\1 [REDACTED]', 'gi')
  END
$$;

-- Whether redaction might change a JSON value: false only when neither a key nor a string of it
-- could name or hold a secret (its text without escapes and punctuation has none of the words).
CREATE FUNCTION pm_audit_may_hold_secrets(p_value jsonb) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT p_value::text ~* '(eyJ|://|PRIVATE KEY-----|basic|bearer)'
         OR lower(regexp_replace(regexp_replace(p_value::text, '\\(u[0-9a-fA-F]{4}|.)', '', 'g'),
                                 '[^A-Za-z0-9]', '', 'g'))
            ~ '(pass|pwd|secret|token|key|auth|cookie|credential|jwt|otp|pin|cvv|cvc|bearer|signature)'
$$;

-- Redacts secrets in a JSON value, recursively: the value of a secret key (unless null), the
-- "value" of an object whose name/key/header names a secret ({"name": "Authorization", "value":
-- …}), and secrets inside every string.
CREATE FUNCTION pm_audit_redact(p_value jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  v_result jsonb;
BEGIN
  IF p_value IS NULL OR NOT pm_audit_may_hold_secrets(p_value) THEN
    RETURN p_value;
  END IF;
  CASE jsonb_typeof(p_value)
    WHEN 'object' THEN
      SELECT coalesce(jsonb_object_agg(s.key, CASE
               WHEN jsonb_typeof(s.value) = 'null' THEN s.value
               WHEN pm_audit_is_secret_key(s.key) THEN '"[REDACTED]"'::jsonb
               WHEN s.pair AND lower(s.key) = 'value' THEN '"[REDACTED]"'::jsonb
               WHEN jsonb_typeof(s.value) = 'string' THEN to_jsonb(pm_audit_redact_text(s.value #>> '{}'))
               WHEN jsonb_typeof(s.value) IN ('object', 'array') THEN pm_audit_redact(s.value)
               ELSE s.value END), '{}'::jsonb)
        INTO v_result
        FROM (SELECT e.key, e.value,
                     bool_or(lower(e.key) IN ('name', 'key', 'header')
                             AND jsonb_typeof(e.value) = 'string'
                             AND pm_audit_is_secret_key(e.value #>> '{}')) OVER () AS pair
                FROM jsonb_each(p_value) AS e) AS s;
    WHEN 'array' THEN
      SELECT coalesce(jsonb_agg(CASE
               WHEN jsonb_typeof(a.value) = 'string' THEN to_jsonb(pm_audit_redact_text(a.value #>> '{}'))
               WHEN jsonb_typeof(a.value) IN ('object', 'array') THEN pm_audit_redact(a.value)
               ELSE a.value END ORDER BY a.ordinality), '[]'::jsonb)
        INTO v_result
        FROM jsonb_array_elements(p_value) WITH ORDINALITY AS a;
    WHEN 'string' THEN
      v_result := to_jsonb(pm_audit_redact_text(p_value #>> '{}'));
    ELSE
      v_result := p_value;
  END CASE;
  RETURN v_result;
END
$$;

-- The timestamp as hashed: UTC, microseconds, e.g. 2025-03-01T09:30:00.123456Z.
CREATE FUNCTION pm_audit_timestamp(p_at timestamptz) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  SELECT to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- The digest that commits to one personal value: sha256(salt || UTF-8 of its canonical JSON).
CREATE FUNCTION pm_audit_digest(p_salt bytea, p_value jsonb) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  SELECT sha256(p_salt || convert_to(CASE WHEN jsonb_typeof(p_value) IN ('object', 'array')
                                          THEN pm_audit_canonical_json(p_value)
                                          ELSE p_value::text END, 'UTF8'))
$$;

-- The personal values of an entry as JSON, in hash order (NULL for NULL).
CREATE FUNCTION pm_audit_personal_values(p_admin_id text, p_resource_id text, p_tenant_id text,
                                         p_old_values jsonb, p_new_values jsonb, p_ip_address inet,
                                         p_user_agent text, p_notes text, p_metadata jsonb)
RETURNS jsonb[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT ARRAY[to_jsonb(p_admin_id), to_jsonb(p_resource_id), to_jsonb(p_tenant_id), p_old_values,
               p_new_values, to_jsonb(p_ip_address), to_jsonb(p_user_agent), to_jsonb(p_notes),
               p_metadata]
$$;

-- row_hash = sha256 of the UTF-8 of the canonical JSON of the envelope (version 1):
--   {"action":…,"created_at":"…Z","db_role":…,"personal":{"admin_id":"<digest hex>"|null,
--    "ip_address":…,"metadata":…,"new_values":…,"notes":…,"old_values":…,"resource_id":…,
--    "tenant_id":…,"user_agent":…},"prev_hash":"<hex>","resource_type":…,"seq":"<decimal>","v":1}
-- Written out key by key (in code point order) rather than through pm_audit_canonical_json: the
-- same text, without the recursion, for every append.
CREATE FUNCTION pm_audit_row_hash(p_version integer, p_seq bigint, p_prev_hash bytea,
                                  p_created_at timestamptz, p_action text, p_resource_type text,
                                  p_db_role text, p_digests bytea[])
RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
  IF p_version IS DISTINCT FROM 1 THEN
    RAISE EXCEPTION 'audit hash version % is unknown', p_version;
  END IF;
  IF cardinality(p_digests) IS DISTINCT FROM 9 THEN
    RAISE EXCEPTION 'an audit entry has 9 personal digests, not %', cardinality(p_digests);
  END IF;
  RETURN sha256(convert_to(
    '{"action":' || to_json(p_action)::text ||
    ',"created_at":' || to_json(pm_audit_timestamp(p_created_at))::text ||
    ',"db_role":' || to_json(p_db_role)::text ||
    ',"personal":{"admin_id":' || coalesce('"' || encode(p_digests[1], 'hex') || '"', 'null') ||
    ',"ip_address":' || coalesce('"' || encode(p_digests[6], 'hex') || '"', 'null') ||
    ',"metadata":' || coalesce('"' || encode(p_digests[9], 'hex') || '"', 'null') ||
    ',"new_values":' || coalesce('"' || encode(p_digests[5], 'hex') || '"', 'null') ||
    ',"notes":' || coalesce('"' || encode(p_digests[8], 'hex') || '"', 'null') ||
    ',"old_values":' || coalesce('"' || encode(p_digests[4], 'hex') || '"', 'null') ||
    ',"resource_id":' || coalesce('"' || encode(p_digests[2], 'hex') || '"', 'null') ||
    ',"tenant_id":' || coalesce('"' || encode(p_digests[3], 'hex') || '"', 'null') ||
    ',"user_agent":' || coalesce('"' || encode(p_digests[7], 'hex') || '"', 'null') ||
    '},"prev_hash":"' || encode(p_prev_hash, 'hex') ||
    '","resource_type":' || to_json(p_resource_type)::text ||
    ',"seq":"' || p_seq::text || '","v":1}', 'UTF8'));
END
$$;

-- ---------------------------------------------------------------------------------------------
-- The chain

-- The last entry's seq and row hash (and its prev_hash). One row, updated by every append: its row
-- lock is what serialises the writers.
CREATE TABLE admin_audit_chain_head (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  seq bigint NOT NULL,
  row_hash bytea NOT NULL,
  prev_hash bytea,
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO admin_audit_chain_head (seq, row_hash) VALUES (0, decode(repeat('00', 32), 'hex'));
ALTER TABLE admin_audit_chain_head ENABLE ROW LEVEL SECURITY;
ALTER TABLE admin_audit_chain_head FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_access ON admin_audit_chain_head FOR ALL TO pm_owner USING (true) WITH CHECK (true);

ALTER TABLE admin_audit_log
  ADD COLUMN seq bigint,
  ADD COLUMN prev_hash bytea,
  ADD COLUMN row_hash bytea,
  ADD COLUMN hash_version smallint,
  ADD COLUMN db_role text,
  ADD COLUMN pii_salts bytea[],
  ADD COLUMN pii_digests bytea[],
  ADD COLUMN erased_by bigint[];

-- Salts and digests the personal values (p_values, in hash order), then takes the next seq and
-- chains the entry: from here to its commit the caller holds the chain head's row lock, so the next
-- writer waits for it and then reads the head this one leaves (READ COMMITTED), or fails with a
-- serialization error (REPEATABLE READ, SERIALIZABLE): the chain never forks.
CREATE FUNCTION pm_audit_chain_next(p_created_at timestamptz, p_action text, p_resource_type text,
                                    p_db_role text, p_values jsonb[],
                                    OUT seq bigint, OUT prev_hash bytea, OUT row_hash bytea,
                                    OUT salts bytea[], OUT digests bytea[])
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  IF cardinality(p_values) IS DISTINCT FROM 9 THEN
    RAISE EXCEPTION 'an audit entry has 9 personal values, not %', cardinality(p_values);
  END IF;
  -- 16 bytes from the strong random source (122 random bits) per value; none for a NULL value
  SELECT array_agg(x.salt ORDER BY x.o), array_agg(pm_audit_digest(x.salt, x.v) ORDER BY x.o)
    INTO salts, digests
    FROM (SELECT u.o, u.v, CASE WHEN u.v IS NULL THEN NULL ELSE uuid_send(gen_random_uuid()) END AS salt
            FROM unnest(p_values) WITH ORDINALITY AS u(v, o)) AS x;
  -- locks the head row (held to the end of the transaction) and chains in one statement; a writer
  -- that waited for the lock evaluates it again on the head the previous one left
  UPDATE admin_audit_chain_head AS h
     SET seq = h.seq + 1,
         prev_hash = h.row_hash,
         row_hash = pm_audit_row_hash(1, h.seq + 1, h.row_hash, p_created_at, p_action,
                                      p_resource_type, p_db_role, digests),
         updated_at = clock_timestamp()
   WHERE h.singleton
  RETURNING h.seq, h.prev_hash, h.row_hash INTO STRICT seq, prev_hash, row_hash;
END
$$;

-- Entries written before this migration are redacted and chained in (created_at, id) order.
DO $$
DECLARE
  r record;
  c record;
BEGIN
  FOR r IN SELECT * FROM admin_audit_log ORDER BY created_at, id LOOP
    r.old_values := pm_audit_redact(r.old_values);
    r.new_values := pm_audit_redact(r.new_values);
    r.metadata := coalesce(pm_audit_redact(r.metadata), '{}'::jsonb);
    r.notes := pm_audit_redact_text(r.notes);
    SELECT * INTO c FROM pm_audit_chain_next(r.created_at, r.action, r.resource_type, 'unknown',
      pm_audit_personal_values(r.admin_id, r.resource_id, r.tenant_id, r.old_values, r.new_values,
                               r.ip_address, r.user_agent, r.notes, r.metadata));
    UPDATE admin_audit_log a
       SET old_values = r.old_values, new_values = r.new_values, metadata = r.metadata,
           notes = r.notes, db_role = 'unknown', hash_version = 1, seq = c.seq,
           prev_hash = c.prev_hash, row_hash = c.row_hash, pii_salts = c.salts,
           pii_digests = c.digests
     WHERE a.id = r.id AND a.created_at = r.created_at;
  END LOOP;
END
$$;

-- The defaults are placeholders the sealing trigger replaces (they let a writer leave the columns
-- out, and typed query builders see them as generated); a writer that sets anything else is refused.
ALTER TABLE admin_audit_log
  ALTER COLUMN seq SET NOT NULL,
  ALTER COLUMN seq SET DEFAULT 0,
  ALTER COLUMN prev_hash SET NOT NULL,
  ALTER COLUMN prev_hash SET DEFAULT '\x',
  ALTER COLUMN row_hash SET NOT NULL,
  ALTER COLUMN row_hash SET DEFAULT '\x',
  ALTER COLUMN hash_version SET NOT NULL,
  ALTER COLUMN hash_version SET DEFAULT 0,
  ALTER COLUMN db_role SET NOT NULL,
  ALTER COLUMN db_role SET DEFAULT '',
  ALTER COLUMN pii_salts SET NOT NULL,
  ALTER COLUMN pii_salts SET DEFAULT '{}',
  ALTER COLUMN pii_digests SET NOT NULL,
  ALTER COLUMN pii_digests SET DEFAULT '{}',
  ADD CONSTRAINT admin_audit_log_sealed CHECK (
    seq > 0 AND octet_length(prev_hash) = 32 AND octet_length(row_hash) = 32 AND hash_version >= 1
    AND cardinality(pii_salts) = 9 AND cardinality(pii_digests) = 9
    AND (erased_by IS NULL OR cardinality(erased_by) = 9));
-- a unique index on a partitioned table must include created_at, so uniqueness of seq is the
-- chain head's doing (and verification checks it); these serve verification and lookups
CREATE INDEX admin_audit_log_seq_idx ON admin_audit_log (seq, id);
CREATE INDEX admin_audit_log_row_hash_idx ON admin_audit_log (row_hash);

-- Seals a new entry: redacts secrets, records the writer, salts and digests the personal values
-- and chains it. The chain columns are the trail's to set, never the writer's.
CREATE FUNCTION pm_audit_log_before_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  c record;
BEGIN
  IF NEW.seq IS DISTINCT FROM 0 OR NEW.prev_hash IS DISTINCT FROM '\x' OR NEW.row_hash IS DISTINCT FROM '\x'
     OR NEW.hash_version IS DISTINCT FROM 0 OR NEW.pii_salts IS DISTINCT FROM '{}'
     OR NEW.pii_digests IS DISTINCT FROM '{}' OR NEW.erased_by IS NOT NULL THEN
    RAISE EXCEPTION 'admin_audit_log: seq, prev_hash, row_hash, hash_version, pii_salts, pii_digests and erased_by are set by the audit trail, not by the writer'
      USING ERRCODE = '42501';
  END IF;
  NEW.old_values := pm_audit_redact(NEW.old_values);
  NEW.new_values := pm_audit_redact(NEW.new_values);
  NEW.metadata := coalesce(pm_audit_redact(NEW.metadata), '{}'::jsonb);
  NEW.notes := pm_audit_redact_text(NEW.notes);
  NEW.db_role := session_user;
  NEW.hash_version := 1;
  SELECT * INTO c FROM pm_audit_chain_next(NEW.created_at, NEW.action, NEW.resource_type, NEW.db_role,
    pm_audit_personal_values(NEW.admin_id, NEW.resource_id, NEW.tenant_id, NEW.old_values,
                             NEW.new_values, NEW.ip_address, NEW.user_agent, NEW.notes, NEW.metadata));
  NEW.seq := c.seq;
  NEW.prev_hash := c.prev_hash;
  NEW.row_hash := c.row_hash;
  NEW.pii_salts := c.salts;
  NEW.pii_digests := c.digests;
  RETURN NEW;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Append-only guards. ENABLE ALWAYS: they fire for the owner and superusers too, and under
-- session_replication_role = replica. The two controlled updates (erasure, resolving an event)
-- happen inside the SECURITY DEFINER functions below, which set pm.audit_change for their own
-- statements; the guards then still check that nothing but what that change may touch changed.

CREATE FUNCTION pm_append_only_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: TRUNCATE is not allowed', TG_TABLE_NAME
    USING ERRCODE = '42501';
END
$$;

CREATE FUNCTION pm_audit_log_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  v_fields text[] := pm_audit_personal_fields();
  v_old jsonb;
  v_new jsonb;
  i integer;
BEGIN
  IF TG_OP = 'UPDATE' AND current_setting('pm.audit_change', true) = 'erase' THEN
    v_old := to_jsonb(OLD);
    v_new := to_jsonb(NEW);
    IF (v_new - v_fields - 'pii_salts' - 'erased_by') IS DISTINCT FROM (v_old - v_fields - 'pii_salts' - 'erased_by') THEN
      RAISE EXCEPTION 'admin_audit_log: an erasure changes personal values only' USING ERRCODE = '42501';
    END IF;
    FOR i IN 1 .. 9 LOOP
      IF NEW.pii_salts[i] IS NOT NULL OR OLD.pii_salts[i] IS NULL THEN
        -- not erased now: value, salt and erasure mark stay as they were
        IF NEW.pii_salts[i] IS DISTINCT FROM OLD.pii_salts[i]
           OR (v_new -> v_fields[i]) IS DISTINCT FROM (v_old -> v_fields[i])
           OR NEW.erased_by[i] IS DISTINCT FROM OLD.erased_by[i] THEN
          RAISE EXCEPTION 'admin_audit_log: % of entry % may only change by erasing it', v_fields[i], OLD.seq
            USING ERRCODE = '42501';
        END IF;
      ELSIF NEW.erased_by[i] IS NULL OR NEW.erased_by[i] <= OLD.seq THEN
        RAISE EXCEPTION 'admin_audit_log: erasing % of entry % must name a later erasure entry', v_fields[i], OLD.seq
          USING ERRCODE = '42501';
      END IF;
    END LOOP;
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'admin_audit_log is append-only: % is not allowed', TG_OP
    USING ERRCODE = '42501',
          HINT = 'personal data is erased with pm_audit_erase_personal(); nothing else changes an audit entry';
END
$$;

CREATE FUNCTION pm_system_events_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  v_change text := current_setting('pm.audit_change', true);
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF v_change = 'resolve' AND OLD.resolved_at IS NULL AND NEW.resolved_at IS NOT NULL
       AND (to_jsonb(NEW) - '{resolved_at,resolved_by,resolution}'::text[])
           = (to_jsonb(OLD) - '{resolved_at,resolved_by,resolution}'::text[]) THEN
      RETURN NEW;
    END IF;
    IF v_change = 'erase'
       AND (to_jsonb(NEW) - '{admin_id,tenant_id,title,description,ip_address,user_agent,metadata}'::text[])
           = (to_jsonb(OLD) - '{admin_id,tenant_id,title,description,ip_address,user_agent,metadata}'::text[]) THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION 'admin_system_events is append-only: % is not allowed', TG_OP
    USING ERRCODE = '42501',
          HINT = 'an event is resolved with pm_resolve_system_event(); nothing else changes an event';
END
$$;

CREATE FUNCTION pm_system_events_before_insert() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  NEW.metadata := coalesce(pm_audit_redact(NEW.metadata), '{}'::jsonb);
  NEW.title := pm_audit_redact_text(NEW.title);
  NEW.description := pm_audit_redact_text(NEW.description);
  RETURN NEW;
END
$$;

-- The chain head changes only inside the sealing trigger.
CREATE FUNCTION pm_audit_chain_head_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND pg_trigger_depth() > 1 AND NEW.seq = OLD.seq + 1
     AND NEW.prev_hash = OLD.row_hash THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'admin_audit_chain_head changes only when an audit entry is appended'
    USING ERRCODE = '42501';
END
$$;

-- Row triggers on a partitioned table are cloned onto every partition, present and future, with
-- their ENABLE ALWAYS; statement triggers (TRUNCATE) are not: each partition gets its own, and
-- pm_ensure_monthly_partitions (replaced below) adds it to the partitions it creates.
CREATE TRIGGER pm_audit_seal BEFORE INSERT ON admin_audit_log
  FOR EACH ROW EXECUTE FUNCTION pm_audit_log_before_insert();
CREATE TRIGGER pm_append_only BEFORE UPDATE OR DELETE ON admin_audit_log
  FOR EACH ROW EXECUTE FUNCTION pm_audit_log_guard();
CREATE TRIGGER pm_redact BEFORE INSERT ON admin_system_events
  FOR EACH ROW EXECUTE FUNCTION pm_system_events_before_insert();
CREATE TRIGGER pm_append_only BEFORE UPDATE OR DELETE ON admin_system_events
  FOR EACH ROW EXECUTE FUNCTION pm_system_events_guard();
CREATE TRIGGER pm_append_only BEFORE INSERT OR UPDATE OR DELETE ON admin_audit_chain_head
  FOR EACH ROW EXECUTE FUNCTION pm_audit_chain_head_guard();
CREATE TRIGGER pm_append_only_truncate BEFORE TRUNCATE ON admin_audit_chain_head
  FOR EACH STATEMENT EXECUTE FUNCTION pm_append_only_truncate();
ALTER TABLE admin_audit_log ENABLE ALWAYS TRIGGER pm_audit_seal;
ALTER TABLE admin_audit_log ENABLE ALWAYS TRIGGER pm_append_only;
ALTER TABLE admin_system_events ENABLE ALWAYS TRIGGER pm_redact;
ALTER TABLE admin_system_events ENABLE ALWAYS TRIGGER pm_append_only;
ALTER TABLE admin_audit_chain_head ENABLE ALWAYS TRIGGER pm_append_only;
ALTER TABLE admin_audit_chain_head ENABLE ALWAYS TRIGGER pm_append_only_truncate;

DO $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT c.oid::regclass AS rel
      FROM pg_class c
     WHERE c.oid IN ('admin_audit_log'::regclass, 'admin_system_events'::regclass)
        OR c.oid IN (SELECT i.inhrelid FROM pg_inherits i
                      WHERE i.inhparent IN ('admin_audit_log'::regclass, 'admin_system_events'::regclass))
  LOOP
    EXECUTE format('CREATE TRIGGER pm_append_only_truncate BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION pm_append_only_truncate()', r.rel);
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER pm_append_only_truncate', r.rel);
  END LOOP;
END
$$;

-- As in 0002_analytics_tables, plus: a new partition of a table with a pm_append_only_truncate
-- trigger gets one too (statement triggers are not inherited).
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
  v_guarded boolean;
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
  v_guarded := EXISTS (SELECT FROM pg_trigger
                        WHERE tgrelid = p_parent AND tgname = 'pm_append_only_truncate');
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
      IF v_guarded THEN
        EXECUTE format('CREATE TRIGGER pm_append_only_truncate BEFORE TRUNCATE ON %I.%I FOR EACH STATEMENT EXECUTE FUNCTION pm_append_only_truncate()',
                       v_schema, v_name);
        EXECUTE format('ALTER TABLE %I.%I ENABLE ALWAYS TRIGGER pm_append_only_truncate', v_schema, v_name);
      END IF;
      v_created := v_created + 1;
    END IF;
    v_month := (v_month + interval '1 month')::date;
  END LOOP;
  RETURN v_created;
END
$$;

-- Writers through the functions below never land in a default partition: the month of now() is
-- created when missing (normally maintenance has created it months ahead).
CREATE FUNCTION pm_admin_ensure_current_partition(p_parent regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  v_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
BEGIN
  IF to_regclass(format('%s_y%sm%s', p_parent::text, to_char(v_month, 'YYYY'), to_char(v_month, 'MM'))) IS NULL THEN
    PERFORM pm_ensure_monthly_partitions(p_parent, v_month, (v_month + interval '1 month')::date);
  END IF;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- The API (SECURITY DEFINER: pm_writer may INSERT but not SELECT the admin tables, so it could not
-- read back the id and seq of what it wrote)

-- Appends an audit entry; p_entry holds admin_id, action, resource_type and optionally
-- resource_id, tenant_id, old_values, new_values, ip_address, user_agent, notes, metadata (a JSON
-- null is NULL). Runs in the caller's transaction.
CREATE FUNCTION pm_audit_append(p_entry jsonb)
RETURNS TABLE (entry_id bigint, entry_seq bigint, entry_row_hash text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  v_unknown text;
  v_entry jsonb := jsonb_strip_nulls(p_entry);
BEGIN
  IF jsonb_typeof(p_entry) IS DISTINCT FROM 'object' THEN
    RAISE EXCEPTION 'an audit entry is a JSON object' USING ERRCODE = '22023';
  END IF;
  SELECT string_agg(k, ', ' ORDER BY k) INTO v_unknown FROM jsonb_object_keys(p_entry) AS k
   WHERE k NOT IN ('admin_id', 'action', 'resource_type', 'resource_id', 'tenant_id', 'old_values',
                   'new_values', 'ip_address', 'user_agent', 'notes', 'metadata');
  IF v_unknown IS NOT NULL THEN
    RAISE EXCEPTION 'unknown audit entry field(s): %', v_unknown USING ERRCODE = '22023';
  END IF;
  PERFORM pm_admin_ensure_current_partition('admin_audit_log');
  RETURN QUERY
  INSERT INTO admin_audit_log AS a (admin_id, action, resource_type, resource_id, tenant_id,
                                    old_values, new_values, ip_address, user_agent, notes, metadata)
  VALUES (v_entry ->> 'admin_id', v_entry ->> 'action', v_entry ->> 'resource_type',
          v_entry ->> 'resource_id', v_entry ->> 'tenant_id', v_entry -> 'old_values',
          v_entry -> 'new_values', (v_entry ->> 'ip_address')::inet, v_entry ->> 'user_agent',
          v_entry ->> 'notes', coalesce(v_entry -> 'metadata', '{}'::jsonb))
  RETURNING a.id, a.seq, encode(a.row_hash, 'hex');
END
$$;

-- Appends a system event; p_event holds event_type, title and optionally severity, description,
-- admin_id, session_id, tenant_id, ip_address, user_agent, expires_at, expires_in_seconds (from
-- now(), instead of expires_at), metadata.
CREATE FUNCTION pm_record_system_event(p_event jsonb)
RETURNS TABLE (event_id bigint, event_created_at timestamptz, event_expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  v_unknown text;
  v_event jsonb := jsonb_strip_nulls(p_event);
BEGIN
  IF jsonb_typeof(p_event) IS DISTINCT FROM 'object' THEN
    RAISE EXCEPTION 'a system event is a JSON object' USING ERRCODE = '22023';
  END IF;
  SELECT string_agg(k, ', ' ORDER BY k) INTO v_unknown FROM jsonb_object_keys(p_event) AS k
   WHERE k NOT IN ('event_type', 'severity', 'title', 'description', 'admin_id', 'session_id',
                   'tenant_id', 'ip_address', 'user_agent', 'expires_at', 'expires_in_seconds',
                   'metadata');
  IF v_unknown IS NOT NULL THEN
    RAISE EXCEPTION 'unknown system event field(s): %', v_unknown USING ERRCODE = '22023';
  END IF;
  PERFORM pm_admin_ensure_current_partition('admin_system_events');
  RETURN QUERY
  INSERT INTO admin_system_events AS e (event_type, severity, title, description, admin_id,
                                        session_id, tenant_id, ip_address, user_agent, expires_at,
                                        metadata)
  VALUES (v_event ->> 'event_type', coalesce(v_event ->> 'severity', 'low'), v_event ->> 'title',
          v_event ->> 'description', v_event ->> 'admin_id', v_event ->> 'session_id',
          v_event ->> 'tenant_id', (v_event ->> 'ip_address')::inet, v_event ->> 'user_agent',
          coalesce((v_event ->> 'expires_at')::timestamptz,
                   now() + make_interval(secs => (v_event ->> 'expires_in_seconds')::double precision)),
          coalesce(v_event -> 'metadata', '{}'::jsonb))
  RETURNING e.id, e.created_at, e.expires_at;
END
$$;

-- Resolves an alert, incident or maintenance event once: sets resolved_at, resolved_by and
-- resolution (nothing else), and appends an audit entry saying so, in the same transaction.
CREATE FUNCTION pm_resolve_system_event(p_id bigint, p_resolved_by text, p_resolution text)
RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  v_event admin_system_events;
BEGIN
  IF coalesce(p_resolved_by, '') = '' OR coalesce(p_resolution, '') = '' THEN
    RAISE EXCEPTION 'resolving an event needs who resolved it and a resolution' USING ERRCODE = '22023';
  END IF;
  SELECT * INTO v_event FROM admin_system_events WHERE id = p_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'system event % does not exist', p_id USING ERRCODE = 'P0002';
  END IF;
  IF v_event.event_type LIKE 'session\_%' THEN
    RAISE EXCEPTION 'system event % is a session event: sessions are ended, not resolved', p_id
      USING ERRCODE = '22023';
  END IF;
  IF v_event.resolved_at IS NOT NULL THEN
    RAISE EXCEPTION 'system event % was resolved already (at %)', p_id, v_event.resolved_at
      USING ERRCODE = '55000';
  END IF;
  PERFORM set_config('pm.audit_change', 'resolve', true);
  UPDATE admin_system_events
     SET resolved_at = now(), resolved_by = p_resolved_by, resolution = p_resolution
   WHERE id = p_id AND created_at = v_event.created_at;
  PERFORM set_config('pm.audit_change', '', true);
  PERFORM pm_audit_append(jsonb_build_object(
    'admin_id', p_resolved_by, 'action', 'system_event.resolve',
    'resource_type', 'admin_system_event', 'resource_id', p_id::text,
    'tenant_id', v_event.tenant_id,
    'old_values', jsonb_build_object('resolved_at', NULL),
    'new_values', jsonb_build_object('resolution', p_resolution),
    'metadata', jsonb_build_object('event_type', v_event.event_type, 'severity', v_event.severity)));
  RETURN now();
END
$$;

-- Sessions are their events. One row per session: the admin and client of its session_started
-- event, the expiry of its latest started/extended event, and how it ended. p_session_id: that
-- session; else the sessions of p_admin_id (or of every admin) that are active (p_active_only) or
-- that expired less than 30 days ago and were never ended (to record their expiry).
CREATE FUNCTION pm_admin_sessions(p_session_id text, p_admin_id text, p_active_only boolean)
RETURNS TABLE (session_id text, admin_id text, started_at timestamptz, expires_at timestamptz,
               last_event_at timestamptz, ended_at timestamptz, end_event text, ip_address text,
               user_agent text, tenant_id text, active boolean, checked_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
  WITH candidates AS (
    SELECT DISTINCT e.session_id
      FROM admin_system_events e
     WHERE e.session_id IS NOT NULL
       AND (p_session_id IS NULL OR e.session_id = p_session_id)
       AND (p_session_id IS NOT NULL
            OR e.expires_at > CASE WHEN p_active_only THEN now() ELSE now() - interval '30 days' END
            OR (e.expires_at IS NULL AND e.event_type = 'session_started'))
       AND (p_admin_id IS NULL OR e.admin_id = p_admin_id)
  ), sessions AS (
    SELECT e.session_id,
           (array_agg(e.admin_id ORDER BY e.created_at, e.id) FILTER (WHERE e.event_type = 'session_started'))[1] AS admin_id,
           min(e.created_at) FILTER (WHERE e.event_type = 'session_started') AS started_at,
           (array_agg(e.expires_at ORDER BY e.created_at DESC, e.id DESC)
              FILTER (WHERE e.event_type IN ('session_started', 'session_extended')))[1] AS expires_at,
           max(e.created_at) AS last_event_at,
           min(e.created_at) FILTER (WHERE e.event_type IN ('session_ended', 'session_expired')) AS ended_at,
           (array_agg(e.event_type ORDER BY e.created_at, e.id)
              FILTER (WHERE e.event_type IN ('session_ended', 'session_expired')))[1] AS end_event,
           (array_agg(to_jsonb(e.ip_address) #>> '{}' ORDER BY e.created_at, e.id) FILTER (WHERE e.event_type = 'session_started'))[1] AS ip_address,
           (array_agg(e.user_agent ORDER BY e.created_at, e.id) FILTER (WHERE e.event_type = 'session_started'))[1] AS user_agent,
           (array_agg(e.tenant_id ORDER BY e.created_at, e.id) FILTER (WHERE e.event_type = 'session_started'))[1] AS tenant_id
      FROM admin_system_events e
      JOIN candidates c ON c.session_id = e.session_id
     WHERE e.event_type IN ('session_started', 'session_extended', 'session_ended', 'session_expired')
     GROUP BY e.session_id
  )
  SELECT s.*, (s.started_at IS NOT NULL AND s.ended_at IS NULL
               AND (s.expires_at IS NULL OR s.expires_at > now())) AS active, now() AS checked_at
    FROM sessions s
   WHERE (p_admin_id IS NULL OR s.admin_id = p_admin_id)
     AND (NOT p_active_only OR (s.started_at IS NOT NULL AND s.ended_at IS NULL
                                AND (s.expires_at IS NULL OR s.expires_at > now())))
   ORDER BY s.started_at, s.session_id
$$;
CREATE INDEX admin_system_events_session_expiry_idx ON admin_system_events (expires_at)
  WHERE session_id IS NOT NULL;

-- Verification reads the raw material and recomputes every hash itself, outside the database:
-- every entry with its personal values as jsonb text, salts, digests and hashes as hex. A plain SQL
-- function, inlined into the queries of the two below (their filters then use the indexes).
CREATE FUNCTION pm_audit_chain_entries()
RETURNS TABLE (seq bigint, entry_id bigint, created_at text, hash_version smallint,
               prev_hash text, row_hash text, action text, resource_type text, db_role text,
               personal jsonb, salts jsonb, digests jsonb, erased_by jsonb,
               raw_seq bigint, raw_id bigint, raw_row_hash bytea, raw_prev_hash bytea)
LANGUAGE sql STABLE AS $$
  SELECT a.seq, a.id, pm_audit_timestamp(a.created_at), a.hash_version,
         encode(a.prev_hash, 'hex'), encode(a.row_hash, 'hex'), a.action, a.resource_type,
         a.db_role,
         (SELECT jsonb_agg(u.v::text ORDER BY u.o)
            FROM unnest(pm_audit_personal_values(a.admin_id, a.resource_id, a.tenant_id,
                                                 a.old_values, a.new_values, a.ip_address,
                                                 a.user_agent, a.notes, a.metadata))
                 WITH ORDINALITY AS u(v, o)),
         (SELECT jsonb_agg(encode(u.s, 'hex') ORDER BY u.o) FROM unnest(a.pii_salts) WITH ORDINALITY AS u(s, o)),
         (SELECT jsonb_agg(encode(u.d, 'hex') ORDER BY u.o) FROM unnest(a.pii_digests) WITH ORDINALITY AS u(d, o)),
         (SELECT jsonb_agg(u.b::text ORDER BY u.o) FROM unnest(a.erased_by) WITH ORDINALITY AS u(b, o)),
         a.seq, a.id, a.row_hash, a.prev_hash
    FROM admin_audit_log a
$$;

-- The entries after (p_after_seq, p_after_id) in (seq, id) order.
CREATE FUNCTION pm_audit_chain_rows(p_after_seq bigint, p_after_id bigint, p_limit integer)
RETURNS TABLE (seq bigint, entry_id bigint, created_at text, hash_version smallint,
               prev_hash text, row_hash text, action text, resource_type text, db_role text,
               personal jsonb, salts jsonb, digests jsonb, erased_by jsonb)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
  SELECT e.seq, e.entry_id, e.created_at, e.hash_version, e.prev_hash, e.row_hash, e.action,
         e.resource_type, e.db_role, e.personal, e.salts, e.digests, e.erased_by
    FROM pm_audit_chain_entries() AS e
   WHERE e.raw_seq >= p_after_seq AND (e.raw_seq, e.raw_id) > (p_after_seq, p_after_id)
   ORDER BY e.raw_seq, e.raw_id
   LIMIT p_limit
$$;

-- The entries whose row_hash (p_by_prev: whose prev_hash) is p_hash, to say where a misplaced
-- entry belongs.
CREATE FUNCTION pm_audit_chain_find(p_hash text, p_by_prev boolean)
RETURNS TABLE (seq bigint, entry_id bigint, created_at text, hash_version smallint,
               prev_hash text, row_hash text, action text, resource_type text, db_role text,
               personal jsonb, salts jsonb, digests jsonb, erased_by jsonb)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
  SELECT e.seq, e.entry_id, e.created_at, e.hash_version, e.prev_hash, e.row_hash, e.action,
         e.resource_type, e.db_role, e.personal, e.salts, e.digests, e.erased_by
    FROM pm_audit_chain_entries() AS e
   WHERE (NOT p_by_prev AND e.raw_row_hash = decode(p_hash, 'hex'))
      OR (p_by_prev AND e.raw_prev_hash = decode(p_hash, 'hex'))
   ORDER BY e.raw_seq, e.raw_id
   LIMIT 20
$$;

-- The chain head as recorded, and the last entry as found.
CREATE FUNCTION pm_audit_chain_head()
RETURNS TABLE (head_seq bigint, head_row_hash text, last_seq bigint, last_row_hash text,
               entries bigint, checked_at text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
  SELECT h.seq, encode(h.row_hash, 'hex'), l.seq, encode(l.row_hash, 'hex'),
         (SELECT count(*) FROM admin_audit_log), pm_audit_timestamp(clock_timestamp())
    FROM admin_audit_chain_head h
    LEFT JOIN LATERAL (SELECT a.seq, a.row_hash FROM admin_audit_log a
                        ORDER BY a.seq DESC, a.id DESC LIMIT 1) l ON true
   WHERE h.singleton
$$;

-- ---------------------------------------------------------------------------------------------
-- Erasure (GDPR): the one way personal values leave the audit trail.

-- The ids an erasure may have to map: resource and admin ids of entries not yet erased.
CREATE FUNCTION pm_audit_erasure_candidates() RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
  SELECT a.resource_id FROM admin_audit_log a WHERE a.pii_salts[2] IS NOT NULL
  UNION
  SELECT a.admin_id FROM admin_audit_log a WHERE a.pii_salts[1] IS NOT NULL
$$;

-- Erases the personal data of tenant p_tenant_id from the audit trail, in the caller's transaction:
--  * audit entries whose tenant_id is the tenant, or whose resource_id is a key of p_id_map (except
--    erasure entries): resource_id becomes p_id_map's value for it (NULL when absent), tenant_id the
--    pseudonym (when it is the tenant; another tenant's id is kept unless p_id_map maps it),
--    admin_id p_id_map's value when mapped, and old_values, new_values, ip_address, user_agent,
--    notes are removed and metadata emptied. Each erased field loses its salt (its digest stays,
--    irreversible) and records the erasure entry's seq in erased_by.
--  * system events of the tenant: tenant_id becomes the pseudonym, ip_address, user_agent,
--    description removed, metadata emptied, a title naming the tenant or a mapped id '[erased]'.
--  * appends one erasure entry (action 'audit.erase_personal', tenant_id the pseudonym) whose
--    metadata is p_details plus {"erasure": {v, entries, fields, digest, system_events}}, digest =
--    sha256 hex of the lines "<seq>:<field>" of every erased field, in seq and field order, joined
--    by "\n": verification checks that every value without its salt is one of them.
-- Nothing matched: nothing is written and erasure_seq is NULL (a second run is a no-op).
CREATE FUNCTION pm_audit_erase_personal(p_tenant_id text, p_tenant_pseudonym text, p_id_map jsonb,
                                        p_actor text, p_details jsonb)
RETURNS TABLE (erasure_seq bigint, audit_entries bigint, audit_fields bigint, system_events bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  v_map jsonb := coalesce(p_id_map, '{}'::jsonb);
  v_fields text[] := pm_audit_personal_fields();
  v_ids bigint[];
  v_created timestamptz[];
  v_masks integer[];
  v_entries bigint := 0;
  v_pairs bigint := 0;
  v_events bigint := 0;
  v_digest text;
  v_seq bigint;
BEGIN
  IF coalesce(p_tenant_id, '') = '' OR coalesce(p_actor, '') = '' THEN
    RAISE EXCEPTION 'an erasure needs the tenant and the actor' USING ERRCODE = '22023';
  END IF;
  IF p_tenant_pseudonym = p_tenant_id THEN
    RAISE EXCEPTION 'the pseudonym must differ from the tenant id' USING ERRCODE = '22023';
  END IF;
  IF jsonb_typeof(v_map) <> 'object'
     OR EXISTS (SELECT FROM jsonb_each(v_map) AS m WHERE jsonb_typeof(m.value) <> 'string') THEN
    RAISE EXCEPTION 'the id map is a JSON object of strings' USING ERRCODE = '22023';
  END IF;
  -- wait for every audit writer in flight: the entries chained before this point are all visible
  PERFORM FROM admin_audit_chain_head WHERE singleton FOR UPDATE;

  -- which fields of which entries (bit i-1 of mask: field i of pm_audit_personal_fields())
  SELECT array_agg(p.id ORDER BY p.seq, p.id), array_agg(p.created_at ORDER BY p.seq, p.id),
         array_agg(p.mask ORDER BY p.seq, p.id), count(*),
         encode(sha256(convert_to(coalesce(string_agg(p.lines, E'\n' ORDER BY p.seq, p.id), ''), 'UTF8')), 'hex')
    INTO v_ids, v_created, v_masks, v_entries, v_digest
    FROM (SELECT m.*, (SELECT string_agg(m.seq::text || ':' || f.name, E'\n' ORDER BY f.i)
                         FROM unnest(v_fields) WITH ORDINALITY AS f(name, i)
                        WHERE m.mask & (1 << (f.i::integer - 1)) <> 0) AS lines
            FROM (SELECT a.id, a.created_at, a.seq,
                         (CASE WHEN a.pii_salts[1] IS NOT NULL AND v_map ? a.admin_id THEN 1 ELSE 0 END)
                       | (CASE WHEN a.pii_salts[2] IS NOT NULL THEN 2 ELSE 0 END)
                       | (CASE WHEN a.pii_salts[3] IS NOT NULL
                                AND (a.tenant_id = p_tenant_id OR v_map ? a.tenant_id) THEN 4 ELSE 0 END)
                       | (CASE WHEN a.pii_salts[4] IS NOT NULL THEN 8 ELSE 0 END)
                       | (CASE WHEN a.pii_salts[5] IS NOT NULL THEN 16 ELSE 0 END)
                       | (CASE WHEN a.pii_salts[6] IS NOT NULL THEN 32 ELSE 0 END)
                       | (CASE WHEN a.pii_salts[7] IS NOT NULL THEN 64 ELSE 0 END)
                       | (CASE WHEN a.pii_salts[8] IS NOT NULL THEN 128 ELSE 0 END)
                       | (CASE WHEN a.pii_salts[9] IS NOT NULL THEN 256 ELSE 0 END) AS mask
                    FROM admin_audit_log a
                   WHERE (a.tenant_id = p_tenant_id OR (a.resource_id IS NOT NULL AND v_map ? a.resource_id))
                     AND a.action <> 'audit.erase_personal') AS m
           WHERE m.mask <> 0) AS p;
  SELECT coalesce(sum(bit_count(m::bit(9)::bit varying)), 0) INTO v_pairs FROM unnest(v_masks) AS m;

  PERFORM set_config('pm.audit_change', 'erase', true);
  UPDATE admin_system_events e
     SET tenant_id = CASE WHEN e.tenant_id = p_tenant_id THEN p_tenant_pseudonym
                          ELSE coalesce(v_map ->> e.tenant_id, e.tenant_id) END,
         admin_id = coalesce(v_map ->> e.admin_id, e.admin_id),
         ip_address = NULL, user_agent = NULL, description = NULL, metadata = '{}'::jsonb,
         title = CASE WHEN position(p_tenant_id IN e.title) > 0
                        OR EXISTS (SELECT FROM jsonb_object_keys(v_map) AS k WHERE position(k IN e.title) > 0)
                      THEN '[erased]' ELSE e.title END
   WHERE e.tenant_id = p_tenant_id;
  GET DIAGNOSTICS v_events = ROW_COUNT;
  PERFORM set_config('pm.audit_change', '', true);

  IF v_entries = 0 AND v_events = 0 THEN
    RETURN QUERY SELECT NULL::bigint, 0::bigint, 0::bigint, 0::bigint;
    RETURN;
  END IF;

  SELECT s.entry_seq INTO v_seq FROM pm_audit_append(jsonb_build_object(
    'admin_id', p_actor, 'action', 'audit.erase_personal', 'resource_type', 'tenant',
    'tenant_id', p_tenant_pseudonym,
    'metadata', coalesce(p_details, '{}'::jsonb) || jsonb_build_object('erasure', jsonb_build_object(
      'v', 1, 'entries', v_entries, 'fields', v_pairs, 'digest', v_digest,
      'system_events', v_events)))) AS s;

  IF v_entries > 0 THEN
    PERFORM set_config('pm.audit_change', 'erase', true);
    UPDATE admin_audit_log a
       SET admin_id = CASE WHEN p.mask & 1 <> 0 THEN v_map ->> a.admin_id ELSE a.admin_id END,
           resource_id = CASE WHEN p.mask & 2 <> 0 THEN v_map ->> a.resource_id ELSE a.resource_id END,
           tenant_id = CASE WHEN p.mask & 4 = 0 THEN a.tenant_id
                            WHEN a.tenant_id = p_tenant_id THEN p_tenant_pseudonym
                            ELSE v_map ->> a.tenant_id END,
           old_values = CASE WHEN p.mask & 8 <> 0 THEN NULL ELSE a.old_values END,
           new_values = CASE WHEN p.mask & 16 <> 0 THEN NULL ELSE a.new_values END,
           ip_address = CASE WHEN p.mask & 32 <> 0 THEN NULL ELSE a.ip_address END,
           user_agent = CASE WHEN p.mask & 64 <> 0 THEN NULL ELSE a.user_agent END,
           notes = CASE WHEN p.mask & 128 <> 0 THEN NULL ELSE a.notes END,
           metadata = CASE WHEN p.mask & 256 <> 0 THEN '{}'::jsonb ELSE a.metadata END,
           pii_salts = ARRAY(SELECT CASE WHEN p.mask & (1 << (u.o::integer - 1)) <> 0 THEN NULL ELSE u.s END
                               FROM unnest(a.pii_salts) WITH ORDINALITY AS u(s, o) ORDER BY u.o),
           erased_by = ARRAY(SELECT CASE WHEN p.mask & (1 << (u.o::integer - 1)) <> 0 THEN v_seq ELSE u.b END
                               FROM unnest(coalesce(a.erased_by, array_fill(NULL::bigint, ARRAY[9])))
                                    WITH ORDINALITY AS u(b, o) ORDER BY u.o)
      FROM unnest(v_ids, v_created, v_masks) AS p(id, created_at, mask)
     WHERE a.id = p.id AND a.created_at = p.created_at;
    PERFORM set_config('pm.audit_change', '', true);
  END IF;
  RETURN QUERY SELECT v_seq, v_entries, v_pairs, v_events;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Privileges. The tables keep the grants of 0004 (pm_admin SELECT and INSERT, pm_writer INSERT, no
-- UPDATE, DELETE or TRUNCATE for either); the chain head is the owner's alone.

REVOKE ALL ON admin_audit_chain_head FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pm_audit_chain_next(timestamptz, text, text, text, jsonb[]),
  pm_audit_log_before_insert(),
  pm_append_only_truncate(), pm_audit_log_guard(), pm_system_events_guard(),
  pm_system_events_before_insert(), pm_audit_chain_head_guard(),
  pm_admin_ensure_current_partition(regclass), pm_audit_append(jsonb),
  pm_record_system_event(jsonb), pm_resolve_system_event(bigint, text, text),
  pm_admin_sessions(text, text, boolean), pm_audit_chain_entries(), pm_audit_chain_rows(bigint, bigint, integer),
  pm_audit_chain_find(text, boolean), pm_audit_chain_head(), pm_audit_erasure_candidates(),
  pm_audit_erase_personal(text, text, jsonb, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pm_audit_append(jsonb), pm_record_system_event(jsonb),
  pm_resolve_system_event(bigint, text, text), pm_admin_sessions(text, text, boolean),
  pm_audit_chain_rows(bigint, bigint, integer), pm_audit_chain_find(text, boolean),
  pm_audit_chain_head() TO pm_writer, pm_admin;
GRANT EXECUTE ON FUNCTION pm_audit_erasure_candidates(),
  pm_audit_erase_personal(text, text, jsonb, text, jsonb) TO pm_writer;
