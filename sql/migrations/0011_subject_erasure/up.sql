-- Erasure of one lead or one mailbox (apps/maintenance `anonymize --lead` / `--mailbox`), beside
-- the erasure of a whole tenant of 0006/0007.

-- The ledger records these erasures too, so that a replay after a restore repeats them.
ALTER TABLE erasure_ledger DROP CONSTRAINT erasure_ledger_subject_kind_check;
ALTER TABLE erasure_ledger ADD CONSTRAINT erasure_ledger_subject_kind_check
  CHECK (subject_kind IN ('tenant', 'lead', 'mailbox'));

-- Erases the personal data of one subject (a lead or a mailbox of tenant p_tenant_id) from the
-- audit trail, in the caller's transaction. Unlike pm_audit_erase_personal, the tenant's other
-- entries stay as they are: only entries of the tenant (or of no tenant) that are about the
-- subject are erased, that is entries
--  * whose resource_id or admin_id is a key of p_id_map (the subject's ids, old → pseudonym), or
--  * whose personal values (old and new values, notes, metadata, resource_id) contain one of
--    p_needles (the subject's ids, email address…) as text.
-- Such an entry loses its old and new values, IP address, user agent, notes and metadata;
-- resource_id and admin_id become their pseudonym when mapped, resource_id NULL when it contains a
-- needle and is not mapped; tenant_id stays. Erased fields lose their salt and record the erasure
-- entry's seq in erased_by, exactly as pm_audit_erase_personal does, so the chain still verifies.
-- System events of the tenant (or of none) naming a needle in their title, description, metadata,
-- admin or session lose IP address, user agent, description and metadata; a title naming it
-- becomes '[erased]'. One erasure entry is appended (action 'audit.erase_personal', resource_type
-- the subject's kind, resource_id its pseudonym, tenant_id the tenant) whose metadata is p_details
-- plus {"erasure": {v, entries, fields, digest, system_events}} as in pm_audit_erase_personal.
-- Nothing matched: nothing is written and erasure_seq is NULL (a second run is a no-op).
CREATE FUNCTION pm_audit_erase_subject(p_subject_kind text, p_subject_pseudonym text,
                                       p_tenant_id text, p_needles text[], p_id_map jsonb,
                                       p_actor text, p_details jsonb)
RETURNS TABLE (erasure_seq bigint, audit_entries bigint, audit_fields bigint, system_events bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  v_map jsonb := coalesce(p_id_map, '{}'::jsonb);
  v_needles text[];
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
  IF coalesce(p_subject_kind, '') NOT IN ('lead', 'mailbox') THEN
    RAISE EXCEPTION 'the subject of an erasure is a lead or a mailbox' USING ERRCODE = '22023';
  END IF;
  IF coalesce(p_tenant_id, '') = '' OR coalesce(p_actor, '') = ''
     OR coalesce(p_subject_pseudonym, '') = '' THEN
    RAISE EXCEPTION 'an erasure needs the tenant, the subject''s pseudonym and the actor'
      USING ERRCODE = '22023';
  END IF;
  IF jsonb_typeof(v_map) <> 'object'
     OR EXISTS (SELECT FROM jsonb_each(v_map) AS m WHERE jsonb_typeof(m.value) <> 'string') THEN
    RAISE EXCEPTION 'the id map is a JSON object of strings' USING ERRCODE = '22023';
  END IF;
  -- an empty needle would match everything
  SELECT coalesce(array_agg(DISTINCT n), '{}') INTO v_needles
    FROM unnest(p_needles) AS n WHERE coalesce(n, '') <> '';
  IF cardinality(v_needles) = 0 THEN
    RAISE EXCEPTION 'an erasure needs the subject''s identifiers' USING ERRCODE = '22023';
  END IF;
  -- wait for every audit writer in flight: the entries chained before this point are all visible
  PERFORM FROM admin_audit_chain_head WHERE singleton FOR UPDATE;

  SELECT array_agg(p.id ORDER BY p.seq, p.id), array_agg(p.created_at ORDER BY p.seq, p.id),
         array_agg(p.mask ORDER BY p.seq, p.id), count(*),
         encode(sha256(convert_to(coalesce(string_agg(p.lines, E'\n' ORDER BY p.seq, p.id), ''), 'UTF8')), 'hex')
    INTO v_ids, v_created, v_masks, v_entries, v_digest
    FROM (SELECT m.*, (SELECT string_agg(m.seq::text || ':' || f.name, E'\n' ORDER BY f.i)
                         FROM unnest(v_fields) WITH ORDINALITY AS f(name, i)
                        WHERE m.mask & (1 << (f.i::integer - 1)) <> 0) AS lines
            FROM (SELECT a.id, a.created_at, a.seq,
                         (CASE WHEN a.pii_salts[1] IS NOT NULL AND v_map ? a.admin_id THEN 1 ELSE 0 END)
                       | (CASE WHEN a.pii_salts[2] IS NOT NULL
                                AND (v_map ? a.resource_id
                                     OR EXISTS (SELECT FROM unnest(v_needles) AS n
                                                 WHERE position(n IN a.resource_id) > 0)) THEN 2 ELSE 0 END)
                       | (CASE WHEN a.pii_salts[3] IS NOT NULL AND v_map ? a.tenant_id THEN 4 ELSE 0 END)
                       | (CASE WHEN a.pii_salts[4] IS NOT NULL THEN 8 ELSE 0 END)
                       | (CASE WHEN a.pii_salts[5] IS NOT NULL THEN 16 ELSE 0 END)
                       | (CASE WHEN a.pii_salts[6] IS NOT NULL THEN 32 ELSE 0 END)
                       | (CASE WHEN a.pii_salts[7] IS NOT NULL THEN 64 ELSE 0 END)
                       | (CASE WHEN a.pii_salts[8] IS NOT NULL THEN 128 ELSE 0 END)
                       | (CASE WHEN a.pii_salts[9] IS NOT NULL THEN 256 ELSE 0 END) AS mask
                    FROM admin_audit_log a
                   WHERE (a.tenant_id = p_tenant_id OR a.tenant_id IS NULL)
                     AND a.action <> 'audit.erase_personal'
                     AND ((a.resource_id IS NOT NULL AND v_map ? a.resource_id)
                          OR (a.admin_id IS NOT NULL AND v_map ? a.admin_id)
                          OR EXISTS (SELECT FROM unnest(v_needles) AS n
                                      WHERE position(n IN concat_ws(E'\n', a.resource_id,
                                              a.old_values::text, a.new_values::text, a.notes,
                                              a.metadata::text)) > 0))) AS m
           WHERE m.mask <> 0) AS p;
  SELECT coalesce(sum(bit_count(m::bit(9)::bit varying)), 0) INTO v_pairs FROM unnest(v_masks) AS m;

  PERFORM set_config('pm.audit_change', 'erase', true);
  UPDATE admin_system_events e
     SET admin_id = coalesce(v_map ->> e.admin_id, e.admin_id),
         ip_address = NULL, user_agent = NULL, description = NULL, metadata = '{}'::jsonb,
         title = CASE WHEN EXISTS (SELECT FROM unnest(v_needles) AS n WHERE position(n IN e.title) > 0)
                      THEN '[erased]' ELSE e.title END
   WHERE (e.tenant_id = p_tenant_id OR e.tenant_id IS NULL)
     AND EXISTS (SELECT FROM unnest(v_needles) AS n
                  WHERE position(n IN concat_ws(E'\n', e.admin_id, e.session_id, e.title,
                                                e.description, e.metadata::text)) > 0);
  GET DIAGNOSTICS v_events = ROW_COUNT;
  PERFORM set_config('pm.audit_change', '', true);

  IF v_entries = 0 AND v_events = 0 THEN
    RETURN QUERY SELECT NULL::bigint, 0::bigint, 0::bigint, 0::bigint;
    RETURN;
  END IF;

  SELECT s.entry_seq INTO v_seq FROM pm_audit_append(jsonb_build_object(
    'admin_id', p_actor, 'action', 'audit.erase_personal', 'resource_type', p_subject_kind,
    'resource_id', p_subject_pseudonym, 'tenant_id', p_tenant_id,
    'metadata', coalesce(p_details, '{}'::jsonb) || jsonb_build_object('erasure', jsonb_build_object(
      'v', 1, 'entries', v_entries, 'fields', v_pairs, 'digest', v_digest,
      'system_events', v_events)))) AS s;

  IF v_entries > 0 THEN
    PERFORM set_config('pm.audit_change', 'erase', true);
    UPDATE admin_audit_log a
       SET admin_id = CASE WHEN p.mask & 1 <> 0 THEN v_map ->> a.admin_id ELSE a.admin_id END,
           resource_id = CASE WHEN p.mask & 2 <> 0 THEN v_map ->> a.resource_id ELSE a.resource_id END,
           tenant_id = CASE WHEN p.mask & 4 <> 0 THEN v_map ->> a.tenant_id ELSE a.tenant_id END,
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

REVOKE EXECUTE ON FUNCTION pm_audit_erase_subject(text, text, text, text[], jsonb, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pm_audit_erase_subject(text, text, text, text[], jsonb, text, jsonb) TO pm_writer;
