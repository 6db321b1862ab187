-- Indexes for the read API (issue #3, packages/bi-queries).
--
-- Campaign performance over a date range reads every campaign_analytics row of the tenant in the
-- range. With (tenant_id, day) alone each row costs a heap page visit (rows of one tenant are
-- spread over the table); carrying the columns the query aggregates makes it an index-only scan.
-- Measured on 300 tenants x 100 campaigns x 45 days: 11 ms -> 4 ms for a 30-day range. It replaces
-- campaign_analytics_day_idx (same leading columns, so every query that used it still can). The
-- price: an update of the counts is no longer HOT, so the aggregator's upserts also write this
-- index.
CREATE INDEX campaign_analytics_day_covering_idx ON campaign_analytics (tenant_id, day)
  INCLUDE (campaign_id, company_id, status, sent, delivered, opened_tracked, clicked_tracked,
           replied, bounced, unsubscribed, spam_complaints, completed_leads);
DROP INDEX campaign_analytics_day_idx;
