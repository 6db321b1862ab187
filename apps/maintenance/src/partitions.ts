import { sql } from 'kysely'
import type { Age } from './calendar.js'
import { addMonths, monthOf, monthRange, partitionName, subtractAge, utcDay } from './calendar.js'
import {
  defaultPartitionMonths,
  finalizeDetachedPartitions,
  partitionedTables,
  partitionsOf,
} from './catalog.js'
import type { RunContext } from './context.js'
import { type CommandReport, emptyReport } from './report.js'

export interface PartitionsOptions {
  /** months after the current one that get a partition */
  ahead: number
  /** how far back partitions are kept: the archive's age, so archived months are not recreated */
  retention: Age
}

/**
 * Creates the monthly partitions of every range-partitioned table of the schema for
 * [current month − retention, current month + ahead] that are missing: after missed runs it
 * creates exactly the months missed, and when nothing is missing it runs no DDL at all. Finishes
 * interrupted concurrent detaches first. A default partition holding rows is a problem: the
 * command names the table and the months and exits 1 (those months are left without a partition,
 * since creating one would fail on the rows).
 */
export async function runPartitions(
  ctx: RunContext,
  options: PartitionsOptions,
): Promise<CommandReport> {
  const report = emptyReport()
  const today = utcDay(ctx.now())
  const first = monthOf(subtractAge(today, options.retention))
  const last = addMonths(today, options.ahead)
  const months = monthRange(first, last)
  const finalized = await finalizeDetachedPartitions(ctx.conn, ctx.dryRun)
  for (const f of finalized) {
    report.lines.push(
      `${ctx.dryRun ? 'would finish' : 'finished'} the interrupted detach of ${f.partition} and attached it back to ${f.parent}`,
    )
  }
  const tables = await partitionedTables(ctx.conn)
  const created: string[] = []
  const blocked: { table: string; months: string[]; rows: number }[] = []
  let step = 0
  for (const table of tables) {
    ctx.progress.update(`partitions of ${table.name}`, ++step, tables.length)
    if (table.keyType !== 'date' && table.keyType !== 'timestamp with time zone') {
      report.lines.push(`skipped ${table.name}: partitioned by ${table.keyType}, not by month`)
      continue
    }
    const existing = new Set((await partitionsOf(ctx.conn, table.name)).map((p) => p.name))
    const inDefault = await defaultPartitionMonths(ctx.conn, table.name)
    const defaultMonths = new Set(inDefault.map((d) => d.month))
    for (const month of months) {
      const name = partitionName(table.name, month)
      if (existing.has(name) || defaultMonths.has(month)) continue
      if (!ctx.dryRun) {
        await sql`select pm_ensure_monthly_partitions(${table.name}::regclass, ${month}::date,
                                                      ${addMonths(month, 1)}::date)`.execute(
          ctx.conn,
        )
      }
      created.push(name)
    }
    if (inDefault.length > 0) {
      const rows = inDefault.reduce((n, d) => n + d.rows, 0)
      blocked.push({ table: table.name, months: inDefault.map((d) => d.month.slice(0, 7)), rows })
      report.problems.push(
        `${table.name}_default holds ${rows} row(s) (months ${inDefault.map((d) => d.month.slice(0, 7)).join(', ')}): ` +
          'a writer wrote them before creating their month. Move them out of the default partition ' +
          `(in one transaction: copy and delete them from ${table.name}, call pm_ensure_monthly_partitions for their months, insert them back) and run partitions again`,
      )
    }
  }
  ctx.progress.finish()
  report.lines.push(
    created.length === 0
      ? `all ${tables.length} partitioned tables have their partitions for ${first.slice(0, 7)} … ${last.slice(0, 7)}: nothing to create`
      : `${ctx.dryRun ? 'would create' : 'created'} ${created.length} partition(s): ${created.join(', ')}`,
  )
  report.details = {
    months: { first: first.slice(0, 7), last: last.slice(0, 7) },
    tables: tables.map((t) => t.name),
    created,
    finalizedDetaches: finalized,
    defaultPartitionsWithRows: blocked,
  }
  return report
}
