import type { DB } from '@penguinmails/schema'
import { type Kysely, type RawBuilder, sql } from 'kysely'
import type { BillingMeasure } from './explain-cells.js'
import {
  explainMetric,
  type MetricExplanation,
  type ShownStatement,
  type SourceEmailRow,
  shown,
} from './explain-metric.js'
import { type CountExplanation, strip } from './explain-rate.js'
import { toDecimal } from './numeric-values.js'
import type { Page, PageRequest } from './page.js'
import { InvalidQueryError } from './query-errors.js'
import { tenantToday } from './tenant-today.js'
import { type TenantUsageRow, tenantUsageQuery, toTenantUsageRow } from './tenant-usage.js'

/** The figures of a /v1/usage row that are functions of its measures rather than measures. */
export const USAGE_RATIOS = [
  'emails_per_mailbox',
  'emails_per_campaign',
  'previous_period_emails',
  'mom_growth',
] as const
export type UsageRatio = (typeof USAGE_RATIOS)[number]

/** The inputs a usage ratio can be made of; previous_period_emails is emails_sent of the month before. */
export const USAGE_RATIO_INPUTS = [
  'emails_sent',
  'mailboxes_used',
  'campaigns_used',
  'previous_period_emails',
] as const
export type UsageRatioInput = (typeof USAGE_RATIO_INPUTS)[number]

/** The inputs of each ratio, in the order its formula takes them. */
export const INPUTS_OF_USAGE_RATIO: Record<UsageRatio, readonly UsageRatioInput[]> = {
  emails_per_mailbox: ['emails_sent', 'mailboxes_used'],
  emails_per_campaign: ['emails_sent', 'campaigns_used'],
  previous_period_emails: ['previous_period_emails'],
  mom_growth: ['emails_sent', 'previous_period_emails'],
}

export interface ExplainUsageRatioParams extends PageRequest {
  tenantId: string
  ratio: UsageRatio
  /** the month, YYYY-MM, in the tenant's time zone (default: the current one) */
  period?: string | undefined
  /** the input whose source emails are listed (default: the ratio's first input) */
  input?: UsageRatioInput | undefined
}

export interface UsageRatioExplanation {
  metric: UsageRatio
  /** the billing period, YYYY-MM in the tenant's time zone */
  period: string
  /** its days, [from, to) */
  from: string
  to: string
  /** the figure exactly as /v1/usage returns it for the period; null when it returns null or no row */
  value: number | null
  formula: string
  /** why value is null (a zero denominator, no previous period, no billing row); null otherwise */
  null_reason: string | null
  /** each input explained as a usage measure: value, formula, SQL, source count, reconciliation */
  inputs: Partial<Record<UsageRatioInput, CountExplanation>>
  /** the formula applied to the inputs' values, with the route's rounding */
  recomputed: number | null
  /** the formula applied to the inputs' source emails counted now; equals value once aggregated */
  recomputed_from_source: number | null
  /** value, recomputed and recomputed_from_source are equal */
  recomputed_matches: boolean
  sql: {
    /** the statement /v1/usage runs; value is its row's column */
    figure: ShownStatement
    /** the formula over the inputs' values */
    recompute: ShownStatement
  }
  /** the input whose source emails data lists */
  emails_of: UsageRatioInput
  emails: Page<SourceEmailRow>
}

interface RatioDefinition {
  inputs: readonly UsageRatioInput[]
  formula: string
  compute: (a: number, b: number) => RawBuilder<{ value: string | number | null }>
  nullReason: (row: TenantUsageRow) => string
}

const ROUNDED =
  'rounded to 2 decimals, half away from zero, as numeric (no binary float on the way)'

const DEFINITIONS: Record<UsageRatio, RatioDefinition> = {
  emails_per_mailbox: {
    inputs: INPUTS_OF_USAGE_RATIO.emails_per_mailbox,
    formula: `emails_per_mailbox = emails_sent / mailboxes_used of the billing period, ${ROUNDED}; null when mailboxes_used is 0. Not a per-mailbox mean of daily figures: the period's campaign emails over the distinct mailboxes that sent any email (campaign or warmup) in it.`,
    compute: (a, b) =>
      sql`select round(cast(${a} as bigint)::numeric / nullif(cast(${b} as bigint), 0), 2) as value`,
    nullReason: () =>
      'mailboxes_used is 0: no mailbox sent in the period, the ratio has no denominator',
  },
  emails_per_campaign: {
    inputs: INPUTS_OF_USAGE_RATIO.emails_per_campaign,
    formula: `emails_per_campaign = emails_sent / campaigns_used of the billing period, ${ROUNDED}; null when campaigns_used is 0.`,
    compute: (a, b) =>
      sql`select round(cast(${a} as bigint)::numeric / nullif(cast(${b} as bigint), 0), 2) as value`,
    nullReason: () =>
      'campaigns_used is 0: no campaign sent in the period, the ratio has no denominator',
  },
  previous_period_emails: {
    inputs: INPUTS_OF_USAGE_RATIO.previous_period_emails,
    formula:
      'previous_period_emails = emails_sent of the billing period that ends where this one starts (the calendar month before, in the tenant’s time zone); 0 when the tenant has no billing row for that month.',
    compute: (a) => sql`select cast(${a} as bigint) as value`,
    nullReason: () => 'never null',
  },
  mom_growth: {
    inputs: INPUTS_OF_USAGE_RATIO.mom_growth,
    formula: `mom_growth = 100 · (emails_sent − previous_period_emails) / previous_period_emails, in percent ${ROUNDED}; null when the month before sent no campaign email or has no billing row (no growth from nothing).`,
    compute: (a, b) =>
      sql`select round(100.0 * (cast(${a} as bigint) - cast(${b} as bigint)) / nullif(cast(${b} as bigint), 0), 2) as value`,
    nullReason: (row) =>
      row.previous_period_emails === 0
        ? 'previous_period_emails is 0: the month before sent no campaign email or has no billing row'
        : 'null',
  },
}

const monthOf = (period: string): { y: number; m: number } => {
  const [y, m] = period.split('-').map(Number) as [number, number]
  return { y, m }
}
const shiftMonth = (period: string, by: number): string => {
  const { y, m } = monthOf(period)
  const index = y * 12 + (m - 1) + by
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`
}

/**
 * Explains a derived figure of the tenant's /v1/usage row for one billing period: its value as the
 * route returns it (the same statement), the formula, each input explained as a usage measure
 * (previous_period_emails: emails_sent of the month before), the value recomputed from the inputs
 * and from their source emails, why it is null when it is, and one keyset page of one input's
 * source emails. Null when the tenant does not exist. Run it in withTenant.
 */
export async function explainUsageRatio(
  db: Kysely<DB>,
  params: ExplainUsageRatioParams,
): Promise<UsageRatioExplanation | null> {
  const { tenantId, ratio } = params
  if (!Object.hasOwn(DEFINITIONS, ratio))
    throw new InvalidQueryError('metric', `must be one of ${USAGE_RATIOS.join(', ')}`)
  const definition = DEFINITIONS[ratio]
  const listed = params.input ?? (definition.inputs[0] as UsageRatioInput)
  if (!definition.inputs.includes(listed))
    throw new InvalidQueryError('input', `${ratio} is made of ${definition.inputs.join(', ')}`)
  if (params.period !== undefined && !/^\d{4}-(0[1-9]|1[0-2])$/.test(params.period))
    throw new InvalidQueryError('period', 'must be a month as YYYY-MM')
  const period = params.period ?? (await tenantToday(db, tenantId)).slice(0, 7)
  const inputs: Partial<Record<UsageRatioInput, CountExplanation>> = {}
  let emails: Page<SourceEmailRow> = { rows: [], nextCursor: null }
  let explained: MetricExplanation | null = null
  for (const input of definition.inputs) {
    const previous = input === 'previous_period_emails'
    const paged = input === listed
    const e = await explainMetric(db, {
      tenantId,
      table: 'billing_analytics',
      metric: (previous ? 'emails_sent' : input) as BillingMeasure,
      period: previous ? shiftMonth(period, -1) : period,
      limit: paged ? params.limit : 1,
      cursor: paged ? params.cursor : undefined,
    })
    if (e === null) return null
    if (!previous) explained = e
    if (paged) emails = e.emails
    inputs[input] = strip(e)
  }
  // the period's own days, also for previous_period_emails (whose only input is the month before)
  const next = shiftMonth(period, 1)
  const from = explained?.from ?? `${period}-01`
  const to = explained?.to ?? `${next}-01`
  const figure = tenantUsageQuery(db, { tenantId, from, to })
  const row = (await figure.execute()).map(toTenantUsageRow).find((r) => r.period === period)
  const value = row === undefined ? null : (row[ratio] as number | null)
  const values = definition.inputs.map((i) => inputs[i]?.value ?? 0)
  const counts = definition.inputs.map((i) => inputs[i]?.source_count ?? 0)
  const recompute = definition.compute(values[0] ?? 0, values[1] ?? 0)
  const fromInputs = toDecimal((await recompute.execute(db)).rows[0]?.value)
  const fromSource = toDecimal(
    (await definition.compute(counts[0] ?? 0, counts[1] ?? 0).execute(db)).rows[0]?.value,
  )
  return {
    metric: ratio,
    period,
    from,
    to,
    value,
    formula: definition.formula,
    null_reason:
      row === undefined
        ? `the tenant has no billing row for ${period}: /v1/usage returns no row for it`
        : value === null
          ? definition.nullReason(row)
          : null,
    inputs,
    recomputed: fromInputs,
    recomputed_from_source: fromSource,
    recomputed_matches: value === fromInputs && value === fromSource,
    sql: { figure: shown(db, figure), recompute: shown(db, recompute) },
    emails_of: listed,
    emails,
  }
}
