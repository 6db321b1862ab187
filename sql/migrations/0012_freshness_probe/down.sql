DROP FUNCTION pm_tenant_freshness(text[]);
