-- Per database, as a superuser or the database owner, after roles.sql and before the first migration:
-- the owner creates its objects in the current schema; the others only use it. Archived analytics
-- rows live in the analytics_archive schema (migration 0007), which only a superuser or the database
-- owner may create: the owner role has no CREATE on the database.
DO $$
BEGIN
  CREATE SCHEMA IF NOT EXISTS analytics_archive AUTHORIZATION pm_owner;
  EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %I TO pm_owner', current_schema());
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO pm_writer, pm_reader, pm_admin', current_schema());
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO pm_owner, pm_writer, pm_reader, pm_admin', current_database());
END
$$;
