-- Platform-level tables: not tenant-scoped (tenant_id names the tenant an entry concerns, if any),
-- so on Citus they stay local to the coordinator. Monthly partitions by created_at (UTC bounds).

CREATE TABLE admin_audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY,
  created_at timestamptz NOT NULL DEFAULT now(),
  admin_id text NOT NULL,
  action text NOT NULL,
  resource_type text NOT NULL,
  resource_id text,
  tenant_id text,
  old_values jsonb,
  new_values jsonb,
  ip_address inet,
  user_agent text,
  notes text,
  metadata jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX admin_audit_log_admin_idx ON admin_audit_log (admin_id, created_at);
CREATE INDEX admin_audit_log_tenant_idx ON admin_audit_log (tenant_id, created_at);
CREATE INDEX admin_audit_log_resource_idx ON admin_audit_log (resource_type, resource_id);

-- One table for every system event, sessions included (the seed's admin_sessions and its two
-- differing admin_system_events definitions): a session is its started/extended/ended/expired events.
CREATE TABLE admin_system_events (
  id bigint GENERATED ALWAYS AS IDENTITY,
  created_at timestamptz NOT NULL DEFAULT now(),
  event_type text NOT NULL CHECK (event_type IN (
    'session_started', 'session_extended', 'session_ended', 'session_expired',
    'alert', 'incident', 'maintenance')),
  severity text NOT NULL DEFAULT 'low' CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  admin_id text,
  session_id text,
  tenant_id text,
  title text NOT NULL,
  description text,
  ip_address inet,
  user_agent text,
  expires_at timestamptz,
  metadata jsonb NOT NULL DEFAULT '{}',
  resolved_at timestamptz,
  resolved_by text,
  resolution text,
  PRIMARY KEY (id, created_at),
  CHECK (session_id IS NOT NULL OR event_type NOT LIKE 'session_%'),
  CHECK ((resolved_at IS NULL) = (resolution IS NULL))
) PARTITION BY RANGE (created_at);
CREATE INDEX admin_system_events_type_idx ON admin_system_events (event_type, created_at);
CREATE INDEX admin_system_events_session_idx ON admin_system_events (session_id, created_at)
  WHERE session_id IS NOT NULL;
CREATE INDEX admin_system_events_open_idx ON admin_system_events (severity, created_at)
  WHERE resolved_at IS NULL;

CREATE TABLE admin_audit_log_default PARTITION OF admin_audit_log DEFAULT;
CREATE TABLE admin_system_events_default PARTITION OF admin_system_events DEFAULT;

SELECT pm_ensure_monthly_partitions(t, (date_trunc('month', current_date) - interval '1 month')::date,
                                       (date_trunc('month', current_date) + interval '4 months')::date)
  FROM unnest(ARRAY['admin_audit_log', 'admin_system_events']::regclass[]) AS t;
