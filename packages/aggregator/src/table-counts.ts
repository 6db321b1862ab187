export type AnalyticsTable =
  | 'campaign_analytics'
  | 'sequence_step_analytics'
  | 'mailbox_analytics'
  | 'warmup_analytics'
  | 'lead_analytics'
  | 'billing_analytics'

export const ANALYTICS_TABLES: readonly AnalyticsTable[] = [
  'campaign_analytics',
  'sequence_step_analytics',
  'mailbox_analytics',
  'warmup_analytics',
  'lead_analytics',
  'billing_analytics',
]

/** What one recompute statement did to one table. */
export interface TableCounts {
  table: AnalyticsTable
  /** rows inserted or changed (unchanged rows are not rewritten) */
  upserted: number
  deleted: number
  /** rows that fell into a default partition: a month without its partition */
  inDefaultPartition?: number
}
