import type { ShownStatement, SourceEmailRow } from './explain-metric.js'
import type { ReconciliationCheck } from './explain-reconciliation.js'
import type { Page } from './page.js'

export const FIGURE_SUBJECTS = [
  'mailbox_health',
  'mailbox_warmup_progress',
  'warmup',
  'lead',
  'active_days',
] as const

/** A value of a derived figure or of one of its inputs. */
export type FigureValue = number | string | boolean | null

/**
 * The explanation of a figure that is a function of counts rather than a count (a health score, a
 * warmup average, a lead's status): its inputs, the day rows it rests on, its sample, the value
 * recomputed now from the source rows, and those source emails.
 */
export interface FigureExplanation {
  /**
   * what is explained: a mailbox's health score or warmup progress, a warmup figure, a lead column,
   * the active_days of a campaign or mailbox
   */
  subject: (typeof FIGURE_SUBJECTS)[number]
  metric: string
  key: Record<string, string>
  /** the days covered, [from, to) in the tenant's time zone; null: all days (a lead) */
  from: string | null
  to: string | null
  /** the figure as the API returns it; null when the API returns none */
  value: FigureValue
  formula: string
  /** the figure's inputs, from the analytics rows and the source */
  inputs: Record<string, FigureValue>
  /** the analytics day rows it is computed from, with their values */
  days: Record<string, FigureValue>[]
  /** the emails the figure rests on, against the minimum below which it is too little to judge */
  sample: { size: number; minimum: number; insufficient: boolean } | null
  sql: {
    /** reads the figure from the analytics tables, as the API's query does */
    figure: ShownStatement
    /** selects the source emails behind it; data lists them */
    source: ShownStatement
    /** recomputes the figure from the source rows alone */
    recompute: ShownStatement
    aggregator: string
  }
  /** the number of source emails behind it, counted now */
  source_count: number
  /** the figure recomputed now from the source rows (sql.recompute); equals value once aggregated */
  recomputed: FigureValue
  /** value and recomputed are equal */
  recomputed_matches: boolean
  reconciliation: ReconciliationCheck[]
  emails: Page<SourceEmailRow>
}
