export {
  type AdminActivityParams,
  type AdminActivityRow,
  adminActivity,
  TIME_CATEGORIES,
  type TimeCategory,
} from './admin-activity.js'
export {
  type AuditLogEntriesParams,
  type AuditLogEntryRow,
  auditLogEntries,
} from './audit-log-entries.js'
export {
  type CampaignDailyTrendParams,
  type CampaignDayRow,
  campaignDailyTrend,
} from './campaign-daily-trend.js'
export {
  CAMPAIGN_LEAD_SORTS,
  type CampaignLeadRow,
  type CampaignLeadSort,
  type CampaignLeadsParams,
  campaignLeads,
  LEAD_STATUSES,
  type LeadStatus,
} from './campaign-leads.js'
export { campaignExists } from './campaign-lookup.js'
export {
  CAMPAIGN_PERFORMANCE_SORTS,
  type CampaignPerformanceParams,
  type CampaignPerformanceRow,
  type CampaignPerformanceSort,
  campaignPerformance,
} from './campaign-performance.js'
export { checkDateRange, type DateRange, MAX_RANGE_DAYS, parseDay } from './date-range.js'
export {
  COUNT_COLUMNS,
  type CountColumn,
  type EmailCounts,
  type EmailRates,
  RATE_COLUMNS,
} from './email-metrics.js'
export {
  ACTIVE_DAYS_TABLES,
  type ActiveDaysTable,
  type ExplainActiveDaysParams,
  explainActiveDays,
} from './explain-active-days.js'
export {
  BILLING_MEASURES,
  type BillingMeasure,
  EXPLAINABLE_METRICS,
  EXPLAINABLE_TABLES,
  type ExplainableMetric,
  type ExplainableTable,
} from './explain-cells.js'
export { FIGURE_SUBJECTS, type FigureExplanation, type FigureValue } from './explain-figure.js'
export { type ExplainFunnelShareParams, explainFunnelShare } from './explain-funnel-share.js'
export {
  type ExplainLeadParams,
  explainLead,
  LEAD_METRICS,
  type LeadMetric,
} from './explain-lead.js'
export { type ExplainMailboxHealthParams, explainMailboxHealth } from './explain-mailbox-health.js'
export {
  type ExplainMetricParams,
  explainMetric,
  type MetricExplanation,
  type ShownStatement,
  type SourceEmailRow,
} from './explain-metric.js'
export {
  type CountExplanation,
  type ExplainRateParams,
  explainRate,
  FUNNEL_SHARES,
  type FunnelShare,
  RATE_TABLES,
  type RateExplanation,
  type RateSourceEmailRow,
  type RateTable,
} from './explain-rate.js'
export {
  RECONCILIATION_CHECKS,
  type ReconciliationCheck,
  type ReconciliationCheckName,
  type ReconciliationPart,
} from './explain-reconciliation.js'
export {
  type ExplainUsageRatioParams,
  explainUsageRatio,
  INPUTS_OF_USAGE_RATIO,
  USAGE_RATIO_INPUTS,
  USAGE_RATIOS,
  type UsageRatio,
  type UsageRatioExplanation,
  type UsageRatioInput,
} from './explain-usage-ratio.js'
export {
  type ExplainWarmupParams,
  explainWarmup,
  WARMUP_EXPLAINED,
  type WarmupExplained,
} from './explain-warmup.js'
export {
  type ExplainWarmupProgressParams,
  explainWarmupProgress,
} from './explain-warmup-progress.js'
export {
  FRESHNESS_AND_VERSION_SQL,
  type TenantFreshness,
  type TenantFreshnessAndVersion,
  tenantFreshness,
  tenantFreshnessAndVersion,
  toFreshnessAndVersion,
} from './freshness.js'
export {
  MAILBOX_SORTS,
  MAILBOX_WARMUP_FILTERS,
  type MailboxesParams,
  type MailboxRow,
  type MailboxSort,
  type MailboxWarmupFilter,
  mailboxes,
} from './mailboxes.js'
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type Page, type PageRequest } from './page.js'
export {
  type ComparisonScope,
  comparePeriods,
  type MetricChange,
  metricChange,
  type PeriodComparison,
  previousPeriod,
} from './period-comparison.js'
export { InvalidCursorError, InvalidQueryError } from './query-errors.js'
export {
  MIN_SAMPLE_SIZE,
  percentOf,
  RATE_DEFINITIONS,
  type RateColumn,
  type RateUncertainty,
  rateUncertainty,
  UNCERTAINTY_COLUMNS,
} from './rate-uncertainty.js'
export { type StepFunnelParams, type StepFunnelRow, stepFunnel } from './step-funnel.js'
export {
  SYSTEM_EVENT_SEVERITIES,
  SYSTEM_EVENT_TYPES,
  type SystemEventRow,
  type SystemEventsParams,
  systemEvents,
} from './system-events.js'
export {
  type TenantUsageParams,
  type TenantUsageRow,
  tenantUsage,
  tenantUsageQuery,
  toTenantUsageRow,
} from './tenant-usage.js'
export {
  DEFAULT_FORECAST_WINDOW_DAYS,
  FORECAST_METHOD,
  type UsageForecast,
  type UsageForecastParams,
  type UsageForecastRow,
  usageForecast,
} from './usage-forecast.js'
export {
  type CumulativeProjection,
  type DailyValue,
  type LimitCrossing,
  limitCrossing,
  type Projection,
  type ProjectionInput,
  projectMonthEnd,
} from './usage-projection.js'
export {
  MIN_TRACKING_DAYS,
  WARMUP_CATEGORIES,
  WARMUP_PERFORMANCE_SORTS,
  type WarmupCategory,
  type WarmupPerformancePage,
  type WarmupPerformanceParams,
  type WarmupPerformanceRow,
  type WarmupPerformanceSort,
  warmupPerformance,
} from './warmup-performance.js'
export { type Interval, wilsonInterval, wilsonLowerSql, Z_95 } from './wilson-interval.js'
