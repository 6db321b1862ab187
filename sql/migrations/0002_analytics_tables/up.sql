-- Analytics tables of the contract (§3). One row per grain, keyed by it; tenant_id leads every key.
-- Daily tables are range-partitioned by month of `day` and have a default partition that stays
-- empty: writers call pm_ensure_monthly_partitions for the months they write first.

-- Creates the missing monthly partitions of p_parent covering [p_from, p_to) and returns how many
-- it created. Bounds are dates, or UTC midnights for timestamptz keys, so they never depend on the
-- session's TimeZone. SECURITY DEFINER so that the writer role can extend tables it does not own.
CREATE FUNCTION pm_ensure_monthly_partitions(p_parent regclass, p_from date, p_to date)
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

CREATE TABLE billing_analytics (
  tenant_id text NOT NULL,
  -- deterministic '<tenant_id>:<YYYY-MM>' (the month in the tenant's time zone), so every other
  -- analytics row can point at its billing row without a lookup and recomputes stay identical
  id text NOT NULL,
  period_start timestamptz NOT NULL,
  period_end timestamptz NOT NULL,
  subscription_id text,
  emails_sent integer NOT NULL DEFAULT 0 CHECK (emails_sent >= 0),
  mailboxes_used integer NOT NULL DEFAULT 0 CHECK (mailboxes_used >= 0),
  domains_used integer NOT NULL DEFAULT 0 CHECK (domains_used >= 0),
  campaigns_used integer NOT NULL DEFAULT 0 CHECK (campaigns_used >= 0),
  leads_used integer NOT NULL DEFAULT 0 CHECK (leads_used >= 0),
  warmups_active integer NOT NULL DEFAULT 0 CHECK (warmups_active >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, period_start),
  CHECK (period_end > period_start)
);

CREATE TABLE campaign_analytics (
  tenant_id text NOT NULL,
  company_id text NOT NULL,
  campaign_id text NOT NULL,
  day date NOT NULL,
  billing_id text NOT NULL,
  sent integer NOT NULL DEFAULT 0 CHECK (sent >= 0),
  delivered integer NOT NULL DEFAULT 0 CHECK (delivered >= 0),
  opened_tracked integer NOT NULL DEFAULT 0 CHECK (opened_tracked >= 0),
  clicked_tracked integer NOT NULL DEFAULT 0 CHECK (clicked_tracked >= 0),
  replied integer NOT NULL DEFAULT 0 CHECK (replied >= 0),
  bounced integer NOT NULL DEFAULT 0 CHECK (bounced >= 0),
  unsubscribed integer NOT NULL DEFAULT 0 CHECK (unsubscribed >= 0),
  spam_complaints integer NOT NULL DEFAULT 0 CHECK (spam_complaints >= 0),
  completed_leads integer NOT NULL DEFAULT 0 CHECK (completed_leads >= 0),
  status text NOT NULL CHECK (status IN ('draft', 'active', 'paused', 'completed')),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, campaign_id, day)
) PARTITION BY RANGE (day);
CREATE INDEX campaign_analytics_day_idx ON campaign_analytics (tenant_id, day);

CREATE TABLE sequence_step_analytics (
  tenant_id text NOT NULL,
  company_id text NOT NULL,
  campaign_id text NOT NULL,
  sequence_step_id text NOT NULL,
  step_number integer NOT NULL,
  day date NOT NULL,
  billing_id text NOT NULL,
  sent integer NOT NULL DEFAULT 0 CHECK (sent >= 0),
  delivered integer NOT NULL DEFAULT 0 CHECK (delivered >= 0),
  opened_tracked integer NOT NULL DEFAULT 0 CHECK (opened_tracked >= 0),
  clicked_tracked integer NOT NULL DEFAULT 0 CHECK (clicked_tracked >= 0),
  replied integer NOT NULL DEFAULT 0 CHECK (replied >= 0),
  bounced integer NOT NULL DEFAULT 0 CHECK (bounced >= 0),
  unsubscribed integer NOT NULL DEFAULT 0 CHECK (unsubscribed >= 0),
  spam_complaints integer NOT NULL DEFAULT 0 CHECK (spam_complaints >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, sequence_step_id, day)
) PARTITION BY RANGE (day);
CREATE INDEX sequence_step_analytics_campaign_idx ON sequence_step_analytics (tenant_id, campaign_id, day);

CREATE TABLE mailbox_analytics (
  tenant_id text NOT NULL,
  company_id text NOT NULL,
  email_account_id text NOT NULL,
  day date NOT NULL,
  billing_id text NOT NULL,
  sent integer NOT NULL DEFAULT 0 CHECK (sent >= 0),
  delivered integer NOT NULL DEFAULT 0 CHECK (delivered >= 0),
  opened_tracked integer NOT NULL DEFAULT 0 CHECK (opened_tracked >= 0),
  clicked_tracked integer NOT NULL DEFAULT 0 CHECK (clicked_tracked >= 0),
  replied integer NOT NULL DEFAULT 0 CHECK (replied >= 0),
  bounced integer NOT NULL DEFAULT 0 CHECK (bounced >= 0),
  unsubscribed integer NOT NULL DEFAULT 0 CHECK (unsubscribed >= 0),
  spam_complaints integer NOT NULL DEFAULT 0 CHECK (spam_complaints >= 0),
  current_volume integer NOT NULL DEFAULT 0 CHECK (current_volume >= 0),
  warmup_status text CHECK (warmup_status IN ('active', 'paused', 'completed')),
  campaign_status text NOT NULL CHECK (campaign_status IN ('active', 'idle')),
  health_score integer NOT NULL CHECK (health_score BETWEEN 0 AND 100),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, email_account_id, day)
) PARTITION BY RANGE (day);
CREATE INDEX mailbox_analytics_day_idx ON mailbox_analytics (tenant_id, day);

CREATE TABLE warmup_analytics (
  tenant_id text NOT NULL,
  company_id text NOT NULL,
  email_account_id text NOT NULL,
  day date NOT NULL,
  billing_id text NOT NULL,
  sent integer NOT NULL DEFAULT 0 CHECK (sent >= 0),
  delivered integer NOT NULL DEFAULT 0 CHECK (delivered >= 0),
  opened_tracked integer NOT NULL DEFAULT 0 CHECK (opened_tracked >= 0),
  clicked_tracked integer NOT NULL DEFAULT 0 CHECK (clicked_tracked >= 0),
  replied integer NOT NULL DEFAULT 0 CHECK (replied >= 0),
  bounced integer NOT NULL DEFAULT 0 CHECK (bounced >= 0),
  unsubscribed integer NOT NULL DEFAULT 0 CHECK (unsubscribed >= 0),
  spam_complaints integer NOT NULL DEFAULT 0 CHECK (spam_complaints >= 0),
  health_score integer NOT NULL CHECK (health_score BETWEEN 0 AND 100),
  progress_percentage integer NOT NULL CHECK (progress_percentage BETWEEN 0 AND 100),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, email_account_id, day)
) PARTITION BY RANGE (day);
CREATE INDEX warmup_analytics_day_idx ON warmup_analytics (tenant_id, day);

CREATE TABLE lead_analytics (
  tenant_id text NOT NULL,
  company_id text NOT NULL,
  lead_id text NOT NULL,
  campaign_id text NOT NULL,
  billing_id text NOT NULL,
  sent integer NOT NULL DEFAULT 0 CHECK (sent >= 0),
  delivered integer NOT NULL DEFAULT 0 CHECK (delivered >= 0),
  opened_tracked integer NOT NULL DEFAULT 0 CHECK (opened_tracked >= 0),
  clicked_tracked integer NOT NULL DEFAULT 0 CHECK (clicked_tracked >= 0),
  replied integer NOT NULL DEFAULT 0 CHECK (replied >= 0),
  bounced integer NOT NULL DEFAULT 0 CHECK (bounced >= 0),
  unsubscribed integer NOT NULL DEFAULT 0 CHECK (unsubscribed >= 0),
  spam_complaints integer NOT NULL DEFAULT 0 CHECK (spam_complaints >= 0),
  status text NOT NULL
    CHECK (status IN ('complained', 'unsubscribed', 'bounced', 'replied', 'completed', 'contacted')),
  last_sent_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, lead_id, campaign_id)
);
CREATE INDEX lead_analytics_campaign_idx ON lead_analytics (tenant_id, campaign_id, status, lead_id);

CREATE TABLE campaign_analytics_default PARTITION OF campaign_analytics DEFAULT;
CREATE TABLE sequence_step_analytics_default PARTITION OF sequence_step_analytics DEFAULT;
CREATE TABLE mailbox_analytics_default PARTITION OF mailbox_analytics DEFAULT;
CREATE TABLE warmup_analytics_default PARTITION OF warmup_analytics DEFAULT;

-- a window around today; writers and the maintenance runner add the others as data needs them
SELECT pm_ensure_monthly_partitions(t, (date_trunc('month', current_date) - interval '1 month')::date,
                                       (date_trunc('month', current_date) + interval '4 months')::date)
  FROM unnest(ARRAY['campaign_analytics', 'sequence_step_analytics', 'mailbox_analytics',
                    'warmup_analytics']::regclass[]) AS t;

-- The seed's summary, one row per campaign over all its days. Refreshed CONCURRENTLY, which needs
-- the unique index below. Tenants read it only through tenant_campaign_performance_summary().
CREATE MATERIALIZED VIEW campaign_performance_summary AS
SELECT ca.tenant_id,
       ca.campaign_id,
       ca.company_id,
       c.name AS campaign_name,
       c.status,
       min(ca.day) AS first_day,
       max(ca.day) AS last_day,
       count(*)::integer AS active_days,
       sum(ca.sent)::bigint AS sent,
       sum(ca.delivered)::bigint AS delivered,
       sum(ca.opened_tracked)::bigint AS opened_tracked,
       sum(ca.clicked_tracked)::bigint AS clicked_tracked,
       sum(ca.replied)::bigint AS replied,
       sum(ca.bounced)::bigint AS bounced,
       sum(ca.unsubscribed)::bigint AS unsubscribed,
       sum(ca.spam_complaints)::bigint AS spam_complaints,
       sum(ca.completed_leads)::bigint AS completed_leads,
       round(100.0 * sum(ca.delivered) / nullif(sum(ca.sent), 0), 2) AS delivery_rate,
       round(100.0 * sum(ca.opened_tracked) / nullif(sum(ca.delivered), 0), 2) AS open_rate,
       round(100.0 * sum(ca.clicked_tracked) / nullif(sum(ca.delivered), 0), 2) AS click_rate,
       round(100.0 * sum(ca.replied) / nullif(sum(ca.delivered), 0), 2) AS reply_rate,
       round(100.0 * sum(ca.bounced) / nullif(sum(ca.sent), 0), 2) AS bounce_rate
  FROM campaign_analytics ca
  JOIN campaigns c ON c.tenant_id = ca.tenant_id AND c.id = ca.campaign_id
 GROUP BY ca.tenant_id, ca.campaign_id, ca.company_id, c.name, c.status;
CREATE UNIQUE INDEX campaign_performance_summary_key ON campaign_performance_summary (tenant_id, campaign_id);

CREATE FUNCTION tenant_campaign_performance_summary()
RETURNS SETOF campaign_performance_summary
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
  SELECT * FROM campaign_performance_summary
   WHERE tenant_id = nullif(current_setting('app.current_tenant_id', true), '')
$$;

-- Only the owner may refresh a materialized view; the writer does it through this function.
CREATE FUNCTION pm_refresh_campaign_performance_summary(p_concurrently boolean DEFAULT true)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  IF p_concurrently THEN
    REFRESH MATERIALIZED VIEW CONCURRENTLY campaign_performance_summary;
  ELSE
    REFRESH MATERIALIZED VIEW campaign_performance_summary;
  END IF;
END
$$;
