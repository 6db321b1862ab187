-- Change tracking for the aggregator (issue #7): every change to a source row that analytics
-- depend on records the analytics keys it dirties, in the same transaction as the change, so a
-- crash or a lost Redis loses nothing. The worker drains the keys (FOR UPDATE SKIP LOCKED) and
-- deletes them in the transaction that recomputed them.
--
-- kind           entity_id      campaign_id   day
-- campaign_day   campaign       ''            the tenant-local day of sent_at
-- mailbox_day    mailbox        ''            the tenant-local day of sent_at
-- lead_campaign  lead           campaign      NULL
-- campaign       campaign       ''            NULL: every day (status, steps changed)
-- mailbox        mailbox        ''            NULL: every day (warmup row changed)
-- billing        ''             ''            NULL: every billing period (subscriptions, domains)
-- tenant         ''             ''            NULL: everything (time zone changed)
-- Rows are only ever inserted and deleted, never updated: a change that arrives while its key is
-- being recomputed adds a new row instead of waiting for, or being lost in, the one being drained.

CREATE TABLE analytics_dirty_keys (
  tenant_id text NOT NULL,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  kind text NOT NULL CHECK (kind IN ('campaign_day', 'mailbox_day', 'lead_campaign', 'campaign',
                                     'mailbox', 'billing', 'tenant')),
  entity_id text NOT NULL DEFAULT '',
  campaign_id text NOT NULL DEFAULT '',
  day date,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX analytics_dirty_keys_seq_idx ON analytics_dirty_keys (seq);

ALTER TABLE analytics_dirty_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_dirty_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_dirty_keys FOR ALL TO pm_reader
  USING (tenant_id = nullif(current_setting('app.current_tenant_id', true), ''))
  WITH CHECK (tenant_id = nullif(current_setting('app.current_tenant_id', true), ''));
CREATE POLICY service_access ON analytics_dirty_keys FOR ALL TO pm_owner, pm_writer
  USING (true) WITH CHECK (true);
-- the tenant's reader may count its pending changes (the freshness watermark)
GRANT SELECT ON analytics_dirty_keys TO pm_reader;
-- UPDATE only because FOR UPDATE (the drain's row locks) requires it; rows are never updated
GRANT SELECT, INSERT, UPDATE, DELETE ON analytics_dirty_keys TO pm_writer;

-- The email triggers are statement-level with transition tables: a bulk load of a million emails
-- records each distinct key once, not once per row. They run as the owner (SECURITY DEFINER) so
-- that whichever role writes emails need not be granted the dirty-key table.
-- PL/pgSQL sees transition tables by the names the trigger gives them; INSERT has no old rows and
-- DELETE no new ones, so each event gets a trigger naming an empty stand-in for the missing side.
CREATE FUNCTION pm_track_email_inserts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO analytics_dirty_keys (tenant_id, kind, entity_id, campaign_id, day)
  SELECT DISTINCT c.tenant_id, k.kind, k.entity_id, k.campaign_id, k.day
    FROM pm_new_emails c
    JOIN tenants t ON t.id = c.tenant_id
   CROSS JOIN LATERAL (VALUES
     ('campaign_day', c.campaign_id, '', (c.sent_at AT TIME ZONE t.time_zone)::date),
     ('mailbox_day', c.email_account_id, '', (c.sent_at AT TIME ZONE t.time_zone)::date),
     ('lead_campaign', c.lead_id, c.campaign_id, NULL::date)
   ) AS k (kind, entity_id, campaign_id, day)
   WHERE c.sent_at IS NOT NULL AND k.entity_id IS NOT NULL;
  RETURN NULL;
END
$$;

CREATE FUNCTION pm_track_email_deletes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO analytics_dirty_keys (tenant_id, kind, entity_id, campaign_id, day)
  SELECT DISTINCT c.tenant_id, k.kind, k.entity_id, k.campaign_id, k.day
    FROM pm_old_emails c
    JOIN tenants t ON t.id = c.tenant_id
   CROSS JOIN LATERAL (VALUES
     ('campaign_day', c.campaign_id, '', (c.sent_at AT TIME ZONE t.time_zone)::date),
     ('mailbox_day', c.email_account_id, '', (c.sent_at AT TIME ZONE t.time_zone)::date),
     ('lead_campaign', c.lead_id, c.campaign_id, NULL::date)
   ) AS k (kind, entity_id, campaign_id, day)
   WHERE c.sent_at IS NOT NULL AND k.entity_id IS NOT NULL;
  RETURN NULL;
END
$$;

-- An update dirties the keys of the row before and after, and only when a column analytics read
-- changed (updated_at alone does not count).
CREATE FUNCTION pm_track_email_updates() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  WITH moved AS (
    SELECT o.tenant_id, o.campaign_id, o.email_account_id, o.lead_id, o.sent_at,
           n.tenant_id AS n_tenant_id, n.campaign_id AS n_campaign_id,
           n.email_account_id AS n_email_account_id, n.lead_id AS n_lead_id, n.sent_at AS n_sent_at
      FROM pm_old_emails o
      JOIN pm_new_emails n ON n.tenant_id = o.tenant_id AND n.id = o.id
     WHERE (o.company_id, o.email_account_id, o.is_warmup, o.campaign_id, o.sequence_step_id,
            o.lead_id, o.status, o.sent_at, o.opened_at, o.clicked_at, o.replied_at, o.bounce_type,
            o.unsubscribed_at, o.complaint_at)
           IS DISTINCT FROM
           (n.company_id, n.email_account_id, n.is_warmup, n.campaign_id, n.sequence_step_id,
            n.lead_id, n.status, n.sent_at, n.opened_at, n.clicked_at, n.replied_at, n.bounce_type,
            n.unsubscribed_at, n.complaint_at)
  ), changed AS (
    SELECT tenant_id, campaign_id, email_account_id, lead_id, sent_at FROM moved
    UNION ALL
    SELECT n_tenant_id, n_campaign_id, n_email_account_id, n_lead_id, n_sent_at FROM moved
    -- an id that changed tenant or id is an insert plus a delete
    UNION ALL
    SELECT o.tenant_id, o.campaign_id, o.email_account_id, o.lead_id, o.sent_at
      FROM pm_old_emails o
     WHERE NOT EXISTS (SELECT FROM pm_new_emails n WHERE n.tenant_id = o.tenant_id AND n.id = o.id)
    UNION ALL
    SELECT n.tenant_id, n.campaign_id, n.email_account_id, n.lead_id, n.sent_at
      FROM pm_new_emails n
     WHERE NOT EXISTS (SELECT FROM pm_old_emails o WHERE o.tenant_id = n.tenant_id AND o.id = n.id)
  )
  INSERT INTO analytics_dirty_keys (tenant_id, kind, entity_id, campaign_id, day)
  SELECT DISTINCT c.tenant_id, k.kind, k.entity_id, k.campaign_id, k.day
    FROM changed c
    JOIN tenants t ON t.id = c.tenant_id
   CROSS JOIN LATERAL (VALUES
     ('campaign_day', c.campaign_id, '', (c.sent_at AT TIME ZONE t.time_zone)::date),
     ('mailbox_day', c.email_account_id, '', (c.sent_at AT TIME ZONE t.time_zone)::date),
     ('lead_campaign', c.lead_id, c.campaign_id, NULL::date)
   ) AS k (kind, entity_id, campaign_id, day)
   WHERE c.sent_at IS NOT NULL AND k.entity_id IS NOT NULL;
  RETURN NULL;
END
$$;

CREATE TRIGGER emails_track_inserts AFTER INSERT ON emails
  REFERENCING NEW TABLE AS pm_new_emails
  FOR EACH STATEMENT EXECUTE FUNCTION pm_track_email_inserts();
CREATE TRIGGER emails_track_updates AFTER UPDATE ON emails
  REFERENCING OLD TABLE AS pm_old_emails NEW TABLE AS pm_new_emails
  FOR EACH STATEMENT EXECUTE FUNCTION pm_track_email_updates();
CREATE TRIGGER emails_track_deletes AFTER DELETE ON emails
  REFERENCING OLD TABLE AS pm_old_emails
  FOR EACH STATEMENT EXECUTE FUNCTION pm_track_email_deletes();

-- Rows of the other source tables are few and change rarely: row-level triggers suffice.
CREATE FUNCTION pm_track_campaign_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO analytics_dirty_keys (tenant_id, kind, entity_id) VALUES (OLD.tenant_id, 'campaign', OLD.id);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO analytics_dirty_keys (tenant_id, kind, entity_id) VALUES (NEW.tenant_id, 'campaign', NEW.id);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER campaigns_track_changes AFTER INSERT OR DELETE OR UPDATE OF tenant_id, id, company_id, status
  ON campaigns FOR EACH ROW EXECUTE FUNCTION pm_track_campaign_changes();

CREATE FUNCTION pm_track_step_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO analytics_dirty_keys (tenant_id, kind, entity_id) VALUES (OLD.tenant_id, 'campaign', OLD.campaign_id);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO analytics_dirty_keys (tenant_id, kind, entity_id) VALUES (NEW.tenant_id, 'campaign', NEW.campaign_id);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER campaign_sequence_steps_track_changes
  AFTER INSERT OR DELETE OR UPDATE OF tenant_id, id, company_id, campaign_id, step_number
  ON campaign_sequence_steps FOR EACH ROW EXECUTE FUNCTION pm_track_step_changes();

CREATE FUNCTION pm_track_mailbox_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO analytics_dirty_keys (tenant_id, kind, entity_id) VALUES (OLD.tenant_id, 'mailbox', OLD.email_account_id);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO analytics_dirty_keys (tenant_id, kind, entity_id) VALUES (NEW.tenant_id, 'mailbox', NEW.email_account_id);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER warmup_status_track_changes AFTER INSERT OR DELETE OR UPDATE
  ON warmup_status FOR EACH ROW EXECUTE FUNCTION pm_track_mailbox_changes();

-- a mailbox's company or domain feeds its rows and the billing counts
CREATE FUNCTION pm_track_email_account_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO analytics_dirty_keys (tenant_id, kind, entity_id) VALUES (OLD.tenant_id, 'mailbox', OLD.id), (OLD.tenant_id, 'billing', '');
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO analytics_dirty_keys (tenant_id, kind, entity_id) VALUES (NEW.tenant_id, 'mailbox', NEW.id), (NEW.tenant_id, 'billing', '');
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER email_accounts_track_changes AFTER INSERT OR DELETE OR UPDATE OF tenant_id, id, company_id, domain_id
  ON email_accounts FOR EACH ROW EXECUTE FUNCTION pm_track_email_account_changes();

CREATE FUNCTION pm_track_subscription_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO analytics_dirty_keys (tenant_id, kind) VALUES (OLD.tenant_id, 'billing');
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO analytics_dirty_keys (tenant_id, kind) VALUES (NEW.tenant_id, 'billing');
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER subscriptions_track_changes AFTER INSERT OR DELETE OR UPDATE
  ON subscriptions FOR EACH ROW EXECUTE FUNCTION pm_track_subscription_changes();

-- a new time zone moves every day and month boundary of the tenant
CREATE FUNCTION pm_track_tenant_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO analytics_dirty_keys (tenant_id, kind) VALUES (NEW.id, 'tenant');
  RETURN NULL;
END
$$;
CREATE TRIGGER tenants_track_time_zone AFTER UPDATE OF time_zone ON tenants
  FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone)
  EXECUTE FUNCTION pm_track_tenant_changes();

REVOKE EXECUTE ON FUNCTION pm_track_email_inserts(), pm_track_email_updates(), pm_track_email_deletes(),
  pm_track_campaign_changes(), pm_track_step_changes(), pm_track_mailbox_changes(),
  pm_track_email_account_changes(), pm_track_subscription_changes(), pm_track_tenant_changes()
  FROM PUBLIC;
