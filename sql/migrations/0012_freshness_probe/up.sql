-- The read API's coalesced freshness probe (issue #3). A result cache hit needs, live, the
-- tenant's freshness watermark (pending changes, as_of) and data version; the API reads those of
-- every tenant whose requests are waiting in one statement instead of one per request. The rows
-- are behind row level security per tenant, so the read runs as the owner (SECURITY DEFINER) and
-- returns nothing but those numbers, one row per tenant asked for (a tenant without rows gets 0
-- pending, now and version 0, the figures FRESHNESS_AND_VERSION_SQL gives). Only pm_admin, the
-- role the API connects as, may call it: the tenants come from the API's verified tokens, and a
-- tenant's own reader (pm_reader) cannot ask about other tenants.
-- PL/pgSQL keeps the statement's plan for the session (an SQL function would plan it on every call).
CREATE FUNCTION pm_tenant_freshness(p_tenants text[])
RETURNS TABLE (tenant_id text, pending int, as_of timestamptz, version text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  RETURN QUERY
  SELECT t.id,
         d.pending,
         coalesce(d.oldest, now()),
         coalesce((SELECT sum(v.bumps) FROM analytics_tenant_versions v WHERE v.tenant_id = t.id),
                  0)::text
    FROM (SELECT DISTINCT u AS id FROM unnest(p_tenants) AS u WHERE u IS NOT NULL) AS t
    CROSS JOIN LATERAL (SELECT count(*)::int AS pending, min(k.created_at) AS oldest
                          FROM analytics_dirty_keys k WHERE k.tenant_id = t.id) AS d;
END
$$;
REVOKE ALL ON FUNCTION pm_tenant_freshness(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pm_tenant_freshness(text[]) TO pm_admin;
