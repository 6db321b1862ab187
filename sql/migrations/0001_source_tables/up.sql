-- Source tables of the contract (§1). In production they are the platform's own tables (or views of
-- these names); here they exist for development, tests and the demo. Every key includes tenant_id so
-- that all of them can be distributed by tenant_id on Citus (docs/scaling.md).

-- An IANA zone name known to this server ('America/New_York', 'UTC'), not a POSIX offset string
-- such as 'UTC+3' (which PostgreSQL reads as UTC-3) that AT TIME ZONE would also accept.
CREATE FUNCTION pm_is_time_zone(tz text) RETURNS boolean
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
  SELECT EXISTS (SELECT FROM pg_catalog.pg_timezone_names WHERE name = tz)
$$;

CREATE TABLE tenants (
  id text PRIMARY KEY,
  name text NOT NULL,
  time_zone text NOT NULL DEFAULT 'UTC' CHECK (pm_is_time_zone(time_zone)),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE subscriptions (
  tenant_id text NOT NULL REFERENCES tenants (id),
  id text NOT NULL,
  plan text NOT NULL,
  status text NOT NULL,
  started_at timestamptz NOT NULL,
  ended_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  CHECK (ended_at IS NULL OR ended_at >= started_at)
);

CREATE TABLE companies (
  tenant_id text NOT NULL REFERENCES tenants (id),
  id text NOT NULL,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE domains (
  tenant_id text NOT NULL,
  id text NOT NULL,
  company_id text NOT NULL,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id)
);

CREATE TABLE email_accounts (
  tenant_id text NOT NULL,
  id text NOT NULL,
  company_id text NOT NULL,
  domain_id text NOT NULL,
  address text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id),
  FOREIGN KEY (tenant_id, domain_id) REFERENCES domains (tenant_id, id)
);

CREATE TABLE warmup_status (
  tenant_id text NOT NULL,
  id text NOT NULL,
  email_account_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('active', 'paused', 'completed')),
  started_at timestamptz NOT NULL,
  ramp_days integer NOT NULL CHECK (ramp_days > 0),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, email_account_id),
  FOREIGN KEY (tenant_id, email_account_id) REFERENCES email_accounts (tenant_id, id)
);

CREATE TABLE campaigns (
  tenant_id text NOT NULL,
  id text NOT NULL,
  company_id text NOT NULL,
  name text NOT NULL,
  status text NOT NULL CHECK (status IN ('draft', 'active', 'paused', 'completed')),
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  completed_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id)
);

CREATE TABLE campaign_sequence_steps (
  tenant_id text NOT NULL,
  id text NOT NULL,
  company_id text NOT NULL,
  campaign_id text NOT NULL,
  step_number integer NOT NULL CHECK (step_number >= 1),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, campaign_id, step_number),
  FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id),
  FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id)
);

CREATE TABLE leads (
  tenant_id text NOT NULL,
  id text NOT NULL,
  company_id text NOT NULL,
  email text NOT NULL,
  imported timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id)
);

-- No foreign keys on emails: it is the platform's high-volume table (bulk loads, erasure at any
-- time); analytics tolerate ids that point nowhere and tests check the shapes the contract names.
CREATE TABLE emails (
  tenant_id text NOT NULL,
  id bigint NOT NULL,
  company_id text NOT NULL,
  email_account_id text NOT NULL,
  is_warmup boolean NOT NULL DEFAULT false,
  campaign_id text,
  sequence_step_id text,
  lead_id text,
  status text NOT NULL CHECK (status IN ('queued', 'sent', 'delivered', 'bounced', 'failed')),
  sent_at timestamptz,
  opened_at timestamptz,
  clicked_at timestamptz,
  replied_at timestamptz,
  bounce_type text,
  unsubscribed_at timestamptz,
  complaint_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT emails_kind CHECK (
    (is_warmup AND campaign_id IS NULL AND sequence_step_id IS NULL AND lead_id IS NULL)
    OR (NOT is_warmup AND campaign_id IS NOT NULL AND sequence_step_id IS NOT NULL AND lead_id IS NOT NULL)
  )
);

CREATE INDEX emails_campaign_sent_idx ON emails (tenant_id, campaign_id, sent_at) WHERE campaign_id IS NOT NULL;
CREATE INDEX emails_mailbox_sent_idx ON emails (tenant_id, email_account_id, sent_at);
CREATE INDEX emails_lead_campaign_idx ON emails (tenant_id, lead_id, campaign_id) WHERE lead_id IS NOT NULL;
CREATE INDEX emails_tenant_sent_idx ON emails (tenant_id, sent_at);
CREATE INDEX subscriptions_tenant_started_idx ON subscriptions (tenant_id, started_at);
