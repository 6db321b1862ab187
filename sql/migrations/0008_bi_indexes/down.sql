CREATE INDEX campaign_analytics_day_idx ON campaign_analytics (tenant_id, day);
DROP INDEX campaign_analytics_day_covering_idx;
