-- Cluster-level roles, created once per PostgreSQL cluster by a superuser (or a role with CREATEROLE).
-- Idempotent. None of them is a superuser or has BYPASSRLS: row level security applies to all four.
--   pm_owner   owns every object; runs migrations
--   pm_writer  the worker and the maintenance runner: writes analytics, reads sources
--   pm_reader  the API's tenant reads: SELECT only, row level security by app.current_tenant_id
--   pm_admin   platform admins: reads the admin tables; member of pm_reader for tenant reads
-- They are created with LOGIN and no password: set one (ALTER ROLE … PASSWORD) where auth is not trust/peer.
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['pm_owner', 'pm_writer', 'pm_reader', 'pm_admin'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE', r);
    END IF;
  END LOOP;
  IF NOT pg_has_role('pm_admin', 'pm_reader', 'MEMBER') THEN
    GRANT pm_reader TO pm_admin;
  END IF;
END
$$;
