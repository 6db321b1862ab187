import { verifyAnalytics } from '@penguinmails/aggregator'
import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { addDays, addMonths, monthOf, monthRange, partitionName } from './calendar.js'
import { ARCHIVE_SCHEMA, DAILY_TABLES, partitionsOf } from './catalog.js'
import type { RunContext } from './context.js'
import { type CommandReport, emptyReport } from './report.js'
import { appendChainHead, readChainHeads, verifyChain } from './trail.js'

export interface VerifyOptions {
  /** how many tenants to recompute, picked at random, or all of them */
  sample: number | 'all'
  /** these tenants instead of a sample */
  tenantIds?: string[] | undefined
  /**
   * a file of chain heads exported earlier (--export-head, or audit-logger's exportChainHead), kept
   * outside the database: the chain must still reach each of them with the same hash
   */
  anchorFile: string | undefined
  /** a file to append the verified head to, to keep outside the database as the next anchor */
  exportHeadFile?: string | undefined
}

export interface TenantDrift {
  table: string
  tenantId: string
  missing: number
  unexpected: number
  /** rows of that tenant and table in the archive, which a recompute from source adds back */
  archived: number
}

/**
 * Recomputes the analytics of a sample of tenants (or all) from source in rolled-back transactions
 * (the aggregator's verifyAnalytics) and reports drift, then verifies the audit chain, against an
 * exported head when given one. A recompute covers every day of the source, archived ones too: a
 * table whose only difference is as many missing rows as the tenant has in the archive is reported
 * as such, not as drift (the aggregator compares counts of rows, so this is a count check).
 */
export async function runVerify(ctx: RunContext, options: VerifyOptions): Promise<CommandReport> {
  const report = emptyReport()
  const tenantIds = options.tenantIds ?? (await pickTenants(ctx.conn, options.sample))
  ctx.progress.update(`recomputing ${tenantIds.length} tenant(s) from source`)
  const drift: TenantDrift[] = []
  if (tenantIds.length > 0) {
    // the recompute writes (then rolls back) every month of the tenants' emails, archived months
    // included: their live partitions must exist meanwhile
    const created = await ensureRecomputePartitions(ctx, tenantIds)
    try {
      const result = await verifyAnalytics(ctx.conn, { tenantIds })
      for (const d of result.drift) {
        drift.push({ ...d, archived: await archivedRows(ctx.conn, d.table, d.tenantId) })
      }
    } finally {
      for (const name of created)
        await sql`select pm_drop_empty_partition(${name}::regclass)`.execute(ctx.conn)
    }
  }
  const real = drift.filter((d) => d.unexpected > 0 || d.missing !== d.archived)
  for (const d of real) {
    report.problems.push(
      `${d.table} of tenant ${d.tenantId} drifted from its source: ${d.missing} row(s) missing or different, ${d.unexpected} unexpected${d.archived ? ` (${d.archived} of its rows are archived)` : ''}; recompute it (aggregator recomputeAll)`,
    )
  }
  report.lines.push(
    real.length === 0
      ? `analytics of ${tenantIds.length} tenant(s) equal a recompute from source${drift.length ? ` (archived rows, which a recompute adds back: ${drift.reduce((n, d) => n + d.archived, 0)})` : ''}`
      : `analytics drifted in ${real.length} table(s) of ${new Set(real.map((d) => d.tenantId)).size} tenant(s)`,
  )
  ctx.progress.update('verifying the audit chain')
  const anchors = options.anchorFile ? readChainHeads(options.anchorFile) : []
  const chain = await verifyChain(ctx.conn, anchors)
  if (chain.ok) {
    report.lines.push(chain.summary)
    // what an auditor keeps outside the database, to pass as --anchor next time
    if (chain.head) {
      report.lines.push(`chain head: ${JSON.stringify(chain.head)}`)
      if (options.exportHeadFile) {
        if (ctx.dryRun) {
          report.lines.push(`would append the chain head to ${options.exportHeadFile}`)
        } else {
          appendChainHead(options.exportHeadFile, chain.head)
          report.lines.push(`chain head appended to ${options.exportHeadFile}`)
        }
      }
    }
  } else {
    report.problems.push(chain.summary)
  }
  ctx.progress.finish()
  report.details = { tenantsChecked: tenantIds.length, drift, chain }
  return report
}

async function pickTenants(db: Kysely<DB>, sample: number | 'all'): Promise<string[]> {
  const { rows } =
    sample === 'all'
      ? await sql<{ id: string }>`select id from tenants order by id`.execute(db)
      : await sql<{ id: string }>`select id from tenants order by random() limit ${sample}`.execute(
          db,
        )
  return rows.map((r) => r.id)
}

/** Creates the live partitions missing for the months of the tenants' emails; returns their names. */
async function ensureRecomputePartitions(ctx: RunContext, tenantIds: string[]): Promise<string[]> {
  const { rows } = await sql<{ first: string | null; last: string | null }>`
    select (min(sent_at) at time zone 'UTC')::date::text as first,
           (max(sent_at) at time zone 'UTC')::date::text as last
      from emails where tenant_id = any(${tenantIds}::text[]) and sent_at is not null`.execute(
    ctx.conn,
  )
  const first = rows[0]?.first
  const last = rows[0]?.last
  if (!first || !last) return []
  // a day either side covers every time zone; mailbox rows reach a week past a send
  const months = monthRange(monthOf(addDays(first, -1)), monthOf(addDays(last, 8)))
  const created: string[] = []
  for (const table of DAILY_TABLES) {
    const existing = new Set((await partitionsOf(ctx.conn, table)).map((p) => p.name))
    for (const month of months) {
      if (existing.has(partitionName(table, month))) continue
      await sql`select pm_ensure_monthly_partitions(${table}::regclass, ${month}::date, ${addMonths(month, 1)}::date)`.execute(
        ctx.conn,
      )
      created.push(partitionName(table, month))
    }
  }
  return created
}

async function archivedRows(db: Kysely<DB>, table: string, tenantId: string): Promise<number> {
  if (!(DAILY_TABLES as readonly string[]).includes(table)) return 0
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from ${sql.table(`${ARCHIVE_SCHEMA}.${table}`)} where tenant_id = ${tenantId}`.execute(
    db,
  )
  return rows[0]?.n ?? 0
}
