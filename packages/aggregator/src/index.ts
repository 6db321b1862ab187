export {
  type DirtyKey,
  type DrainOptions,
  type DrainResult,
  drainDirtyKeys,
  pendingDirtyKeys,
  scopeFromDirtyKeys,
} from './dirty-keys.js'
export {
  type FullRecomputeOptions,
  recomputeAll,
  recomputeBillingPeriod,
  recomputeCampaign,
  recomputeTenantDay,
} from './full-recompute.js'
export { ensureDailyPartitions } from './partitions.js'
export {
  checkWorkMem,
  DEFAULT_WORK_MEM,
  MissingPartitionError,
  type RecomputeResult,
  recompute,
} from './recompute.js'
export {
  type Day,
  type DayRange,
  NO_END,
  NO_START,
  normalizeScope,
  type RecomputeScope,
} from './recompute-scope.js'
export { ANALYTICS_TABLES, type AnalyticsTable, type TableCounts } from './table-counts.js'
export { type Drift, type VerifyResult, verifyAnalytics } from './verify.js'
