-- Billing months get dirty keys of their own (issue #7, incremental cost). Until now the drain
-- recomputed the billing month of every campaign_day and mailbox_day key, so an open or a click
-- re-read a whole tenant-month of emails although no billing measure counts opens or clicks.
--
-- kind           entity_id      campaign_id   day
-- billing_month  ''             ''            the first day of the tenant-local month of sent_at
--
-- Inserted and deleted emails always dirty their month; an update only when a column a billing
-- measure reads changed: sent_at, email_account_id, campaign_id, lead_id, is_warmup (and the row's
-- tenant or id, which is a delete plus an insert).

ALTER TABLE analytics_dirty_keys DROP CONSTRAINT analytics_dirty_keys_kind_check;
ALTER TABLE analytics_dirty_keys ADD CONSTRAINT analytics_dirty_keys_kind_check
  CHECK (kind IN ('campaign_day', 'mailbox_day', 'lead_campaign', 'campaign', 'mailbox', 'billing',
                  'billing_month', 'tenant'));

-- keys recorded before this migration stand for their billing months too: say so explicitly, as
-- the drain no longer infers them
INSERT INTO analytics_dirty_keys (tenant_id, kind, day)
SELECT DISTINCT tenant_id, 'billing_month', date_trunc('month', day)::date
  FROM analytics_dirty_keys
 WHERE kind IN ('campaign_day', 'mailbox_day') AND day IS NOT NULL;

CREATE OR REPLACE FUNCTION pm_track_email_inserts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO analytics_dirty_keys (tenant_id, kind, entity_id, campaign_id, day)
  SELECT DISTINCT c.tenant_id, k.kind, k.entity_id, k.campaign_id, k.day
    FROM pm_new_emails c
    JOIN tenants t ON t.id = c.tenant_id
   CROSS JOIN LATERAL (SELECT (c.sent_at AT TIME ZONE t.time_zone)::date AS local_day) l
   CROSS JOIN LATERAL (VALUES
     ('campaign_day', c.campaign_id, '', l.local_day),
     ('mailbox_day', c.email_account_id, '', l.local_day),
     ('lead_campaign', c.lead_id, c.campaign_id, NULL::date),
     ('billing_month', '', '', date_trunc('month', l.local_day)::date)
   ) AS k (kind, entity_id, campaign_id, day)
   WHERE c.sent_at IS NOT NULL AND k.entity_id IS NOT NULL;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION pm_track_email_deletes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO analytics_dirty_keys (tenant_id, kind, entity_id, campaign_id, day)
  SELECT DISTINCT c.tenant_id, k.kind, k.entity_id, k.campaign_id, k.day
    FROM pm_old_emails c
    JOIN tenants t ON t.id = c.tenant_id
   CROSS JOIN LATERAL (SELECT (c.sent_at AT TIME ZONE t.time_zone)::date AS local_day) l
   CROSS JOIN LATERAL (VALUES
     ('campaign_day', c.campaign_id, '', l.local_day),
     ('mailbox_day', c.email_account_id, '', l.local_day),
     ('lead_campaign', c.lead_id, c.campaign_id, NULL::date),
     ('billing_month', '', '', date_trunc('month', l.local_day)::date)
   ) AS k (kind, entity_id, campaign_id, day)
   WHERE c.sent_at IS NOT NULL AND k.entity_id IS NOT NULL;
  RETURN NULL;
END
$$;

-- An update dirties the keys of the row before and after, and only when a column analytics read
-- changed (updated_at alone does not count); the billing month only when a billed column changed.
CREATE OR REPLACE FUNCTION pm_track_email_updates() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  WITH moved AS (
    SELECT o.tenant_id, o.campaign_id, o.email_account_id, o.lead_id, o.sent_at,
           n.tenant_id AS n_tenant_id, n.campaign_id AS n_campaign_id,
           n.email_account_id AS n_email_account_id, n.lead_id AS n_lead_id, n.sent_at AS n_sent_at,
           (o.sent_at, o.email_account_id, o.campaign_id, o.lead_id, o.is_warmup)
             IS DISTINCT FROM
           (n.sent_at, n.email_account_id, n.campaign_id, n.lead_id, n.is_warmup) AS billed
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
    SELECT tenant_id, campaign_id, email_account_id, lead_id, sent_at, billed FROM moved
    UNION ALL
    SELECT n_tenant_id, n_campaign_id, n_email_account_id, n_lead_id, n_sent_at, billed FROM moved
    -- an id that changed tenant or id is an insert plus a delete
    UNION ALL
    SELECT o.tenant_id, o.campaign_id, o.email_account_id, o.lead_id, o.sent_at, true
      FROM pm_old_emails o
     WHERE NOT EXISTS (SELECT FROM pm_new_emails n WHERE n.tenant_id = o.tenant_id AND n.id = o.id)
    UNION ALL
    SELECT n.tenant_id, n.campaign_id, n.email_account_id, n.lead_id, n.sent_at, true
      FROM pm_new_emails n
     WHERE NOT EXISTS (SELECT FROM pm_old_emails o WHERE o.tenant_id = n.tenant_id AND o.id = n.id)
  )
  INSERT INTO analytics_dirty_keys (tenant_id, kind, entity_id, campaign_id, day)
  SELECT DISTINCT c.tenant_id, k.kind, k.entity_id, k.campaign_id, k.day
    FROM changed c
    JOIN tenants t ON t.id = c.tenant_id
   CROSS JOIN LATERAL (SELECT (c.sent_at AT TIME ZONE t.time_zone)::date AS local_day) l
   CROSS JOIN LATERAL (VALUES
     ('campaign_day', c.campaign_id, '', l.local_day),
     ('mailbox_day', c.email_account_id, '', l.local_day),
     ('lead_campaign', c.lead_id, c.campaign_id, NULL::date),
     ('billing_month', CASE WHEN c.billed THEN '' END, '', date_trunc('month', l.local_day)::date)
   ) AS k (kind, entity_id, campaign_id, day)
   WHERE c.sent_at IS NOT NULL AND k.entity_id IS NOT NULL;
  RETURN NULL;
END
$$;

-- The tracked column list of 0005 stays: these are replacements, the triggers still point at them.
REVOKE EXECUTE ON FUNCTION pm_track_email_inserts(), pm_track_email_updates(), pm_track_email_deletes()
  FROM PUBLIC;
