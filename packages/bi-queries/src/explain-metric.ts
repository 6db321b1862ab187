import type { DB } from '@penguinmails/schema'
import { type CompiledQuery, type Kysely, type RawBuilder, sql } from 'kysely'
import { checkDateRange, formatDay, parseDay } from './date-range.js'
import {
  EXPLAINABLE_METRICS,
  EXPLAINABLE_TABLES,
  type ExplainableMetric,
  type ExplainableTable,
  type SourceSet,
  sourceSet,
} from './explain-cells.js'
import { type ReconciliationCheck, reconcile } from './explain-reconciliation.js'
import { listFingerprint } from './keyset-cursor.js'
import { keysetPage } from './keyset-page.js'
import { toCount } from './numeric-values.js'
import type { Page, PageRequest } from './page.js'
import { InvalidQueryError } from './query-errors.js'
import { tenantToday } from './tenant-today.js'

export interface ExplainMetricParams extends PageRequest {
  tenantId: string
  table: ExplainableTable
  metric: ExplainableMetric
  /** the row's id (campaign, sequence step or mailbox); not used for billing_analytics */
  key?: string | undefined
  /** daily tables: the days [from, to) */
  from?: string | undefined
  to?: string | undefined
  /** billing_analytics: the month, YYYY-MM, in the tenant's time zone (default: the current one) */
  period?: string | undefined
}

/** A statement as it runs: `$n` placeholders and their values. */
export interface ShownStatement {
  statement: string
  parameters: readonly unknown[]
}

export interface SourceEmailRow {
  /** emails.id (a bigint, as a string so that no digit is lost) */
  id: string
  /** the send day in the tenant's time zone, YYYY-MM-DD */
  day: string
  sent_at: string
  status: string
  email_account_id: string
  campaign_id: string | null
  sequence_step_id: string | null
  lead_id: string | null
  is_warmup: boolean
  opened_at: string | null
  clicked_at: string | null
  replied_at: string | null
  bounce_type: string | null
  unsubscribed_at: string | null
  complaint_at: string | null
}

export interface MetricExplanation {
  table: ExplainableTable
  metric: ExplainableMetric
  /** the row's key: its id column, or the billing period */
  key: Record<string, string>
  /** the days covered, [from, to) in the tenant's time zone (a billing period: its month) */
  from: string
  to: string
  /** the figure as the analytics table holds it (a range: the sum of its day rows) */
  value: number
  /** the contract's definition, in words */
  formula: string
  sql: {
    /** reads the figure from the analytics table */
    figure: ShownStatement
    /** selects the source emails behind the figure; their number is the figure */
    source: ShownStatement
    /** where the analytics row was written */
    aggregator: string
  }
  /** the number of source emails behind the figure, counted now from the source */
  source_count: number
  reconciliation: ReconciliationCheck[]
  /** one keyset page of the source emails, in id order */
  emails: Page<SourceEmailRow>
}

const AGGREGATORS: Record<ExplainableTable, string> = {
  campaign_analytics:
    'recomputeCampaignAnalytics (@penguinmails/aggregator): one set-based statement writes the campaign and step rows of a scope; sql.source is its per-cell equivalent',
  sequence_step_analytics:
    'recomputeCampaignAnalytics (@penguinmails/aggregator): one set-based statement writes the campaign and step rows of a scope; sql.source is its per-cell equivalent',
  mailbox_analytics:
    'recomputeMailboxAnalytics (@penguinmails/aggregator): one set-based statement writes the mailbox and warmup rows of a scope; sql.source is its per-cell equivalent',
  warmup_analytics:
    'recomputeMailboxAnalytics (@penguinmails/aggregator): one set-based statement writes the mailbox and warmup rows of a scope; sql.source is its per-cell equivalent',
  billing_analytics:
    'recomputeBillingAnalytics (@penguinmails/aggregator): one statement per scope, each measure over its own set; sql.source is its per-cell equivalent',
}

const ENTITY: Record<Exclude<ExplainableTable, 'billing_analytics'>, string> = {
  campaign_analytics: 'campaigns',
  sequence_step_analytics: 'campaign_sequence_steps',
  mailbox_analytics: 'email_accounts',
  warmup_analytics: 'email_accounts',
}

interface Cell {
  table: ExplainableTable
  metric: ExplainableMetric
  tenantId: string
  key: string
  from: string
  to: string
}

/** Checks the parameters and resolves the days the cell covers. */
function resolveCell(params: ExplainMetricParams): Cell {
  const { table, metric, tenantId } = params
  if (!(table in EXPLAINABLE_TABLES))
    throw new InvalidQueryError(
      'table',
      `must be one of ${Object.keys(EXPLAINABLE_TABLES).join(', ')}`,
    )
  const metrics: readonly string[] = EXPLAINABLE_METRICS[table]
  if (!metrics.includes(metric))
    throw new InvalidQueryError('metric', `${table} explains ${metrics.join(', ')}`)
  if (table === 'billing_analytics') {
    const match = /^(\d{4})-(\d{2})$/.exec(params.period ?? '')
    const first = match ? parseDay(`${match[1]}-${match[2]}-01`) : null
    if (first === null)
      throw new InvalidQueryError('period', 'billing_analytics needs a month as YYYY-MM')
    const [y, m] = [Number(match?.[1]), Number(match?.[2])]
    const next = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`
    return { table, metric, tenantId, key: tenantId, from: formatDay(first), to: next }
  }
  const key = params.key ?? ''
  if (key.length === 0)
    throw new InvalidQueryError(EXPLAINABLE_TABLES[table], `${table} needs the row's id`)
  const range = { from: params.from ?? '', to: params.to ?? '' }
  checkDateRange(range)
  return { table, metric, tenantId, key, from: range.from, to: range.to }
}

/** Where a source statement looks: the tenant's emails, and with from/to only those sent on [from, to). */
export interface SourceScope {
  tenantId: string
  from?: string | undefined
  to?: string | undefined
}

/** Selects the source emails of `set` (SourceEmailRow columns, plus the set's own columns). */
export function sourceStatement(
  scope: SourceScope,
  set: SourceSet,
): RawBuilder<Record<string, unknown>> {
  const day = sql`(e.sent_at at time zone t.time_zone)::date`
  const range =
    scope.from === undefined || scope.to === undefined
      ? [sql<boolean>`e.sent_at is not null`]
      : [
          sql<boolean>`e.sent_at >= (cast(${scope.from} as date)::timestamp at time zone t.time_zone)`,
          sql<boolean>`e.sent_at < (cast(${scope.to} as date)::timestamp at time zone t.time_zone)`,
        ]
  const where = sql.join([sql`e.tenant_id = ${scope.tenantId}`, ...range, ...set.where], sql` and `)
  const distinct = set.distinctOn ? sql`distinct on (${sql.join(set.distinctOn)}) ` : sql``
  const order = set.distinctOn ? sql` order by ${sql.join([...set.distinctOn, sql`e.id`])}` : sql``
  const mailbox = set.joinMailbox
    ? sql` join email_accounts ea on ea.tenant_id = e.tenant_id and ea.id = e.email_account_id`
    : sql``
  const more = set.columns?.length ? sql`, ${sql.join(set.columns)}` : sql``
  return sql<Record<string, unknown>>`select ${distinct}e.id, ${day} as day, e.sent_at, e.status,
       e.email_account_id, e.campaign_id, e.sequence_step_id, e.lead_id, e.is_warmup,
       e.opened_at, e.clicked_at, e.replied_at, e.bounce_type, e.unsubscribed_at, e.complaint_at${more}
  from emails e join tenants t on t.id = e.tenant_id${mailbox}
 where ${where}${order}`
}

/** One keyset page (id order) of a source statement's rows. */
export function sourcePage(
  db: Kysely<DB>,
  source: RawBuilder<Record<string, unknown>>,
  fingerprint: readonly unknown[],
  request: PageRequest,
): Promise<Page<Record<string, unknown>>> {
  return keysetPage(
    db,
    db.selectFrom(sql<Record<string, unknown>>`(${source})`.as('s')).selectAll(),
    [{ column: 'id', direction: 'asc', type: 'bigint' }],
    listFingerprint(fingerprint),
    request,
  )
}

function figureStatement(cell: Cell): RawBuilder<{ value: string | number }> {
  const column = sql.ref(`a.${cell.metric}`)
  if (cell.table === 'billing_analytics')
    return sql<{ value: string | number }>`select coalesce(sum(${column}), 0) as value
  from billing_analytics a join tenants t on t.id = a.tenant_id
 where a.tenant_id = ${cell.tenantId}
   and a.period_start = (cast(${cell.from} as date)::timestamp at time zone t.time_zone)`
  return sql<{ value: string | number }>`select coalesce(sum(${column}), 0) as value
  from ${sql.table(cell.table)} a
 where a.tenant_id = ${cell.tenantId} and ${sql.ref(`a.${EXPLAINABLE_TABLES[cell.table]}`)} = ${cell.key}
   and a.day >= ${cell.from} and a.day < ${cell.to}`
}

async function entityExists(db: Kysely<DB>, cell: Cell): Promise<boolean> {
  const table = cell.table === 'billing_analytics' ? 'tenants' : ENTITY[cell.table]
  const tenantColumn = cell.table === 'billing_analytics' ? 'id' : 'tenant_id'
  const { rows } = await sql`select 1 from ${sql.table(table)}
     where ${sql.ref(tenantColumn)} = ${cell.tenantId} and id = ${cell.key}`.execute(db)
  return rows.length > 0
}

const iso = (value: unknown): string | null =>
  value === null || value === undefined ? null : new Date(value as string | Date).toISOString()

export function toSourceEmail(r: Record<string, unknown>): SourceEmailRow {
  return {
    id: String(r.id),
    day: String(r.day),
    sent_at: iso(r.sent_at) as string,
    status: r.status as string,
    email_account_id: r.email_account_id as string,
    campaign_id: r.campaign_id as string | null,
    sequence_step_id: r.sequence_step_id as string | null,
    lead_id: r.lead_id as string | null,
    is_warmup: r.is_warmup as boolean,
    opened_at: iso(r.opened_at),
    clicked_at: iso(r.clicked_at),
    replied_at: iso(r.replied_at),
    bounce_type: r.bounce_type as string | null,
    unsubscribed_at: iso(r.unsubscribed_at),
    complaint_at: iso(r.complaint_at),
  }
}

export function shown(
  db: Kysely<DB>,
  statement: { compile(provider: Kysely<DB>): CompiledQuery<unknown> },
): ShownStatement {
  const compiled = statement.compile(db)
  return { statement: compiled.sql, parameters: compiled.parameters }
}

/**
 * Explains one figure of an analytics table (a cell, or a cell summed over a range of days): the
 * contract's formula, the statement that reads it and the one that selects its source emails, the
 * source emails themselves (a keyset page, in id order), and the reconciliations it takes part in.
 * Null when the tenant has no such campaign, step or mailbox (another tenant's id included). Run it
 * in withTenant: every statement also filters on the tenant.
 */
export async function explainMetric(
  db: Kysely<DB>,
  params: ExplainMetricParams,
): Promise<MetricExplanation | null> {
  const period =
    params.table === 'billing_analytics' && params.period === undefined
      ? (await tenantToday(db, params.tenantId)).slice(0, 7)
      : params.period
  const cell = resolveCell({ ...params, period })
  if (!(await entityExists(db, cell))) return null
  const set = sourceSet(cell.table, cell.metric, cell.tenantId, cell.key)
  const source = sourceStatement(cell, set)
  const figure = figureStatement(cell)
  const value = toCount((await figure.execute(db)).rows[0]?.value)
  const counted = await sql<{ n: string }>`select count(*) as n from (${source}) s`.execute(db)
  const sourceCount = toCount(counted.rows[0]?.n)
  const page = await sourcePage(
    db,
    source,
    ['explain', cell.tenantId, cell.table, cell.key, cell.metric, cell.from, cell.to],
    params,
  )
  return {
    table: cell.table,
    metric: cell.metric,
    key: {
      [EXPLAINABLE_TABLES[cell.table]]:
        cell.table === 'billing_analytics' ? cell.from.slice(0, 7) : cell.key,
    },
    from: cell.from,
    to: cell.to,
    value,
    formula: set.formula,
    sql: {
      figure: shown(db, figure),
      source: shown(db, source),
      aggregator: AGGREGATORS[cell.table],
    },
    source_count: sourceCount,
    reconciliation: await reconcile(db, cell, value, sourceCount),
    emails: { rows: page.rows.map(toSourceEmail), nextCursor: page.nextCursor },
  }
}

export type { Cell as ExplainedCell }
