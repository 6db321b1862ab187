import { sql } from 'kysely'
import { ARCHIVE_SCHEMA, DAILY_TABLES } from './catalog.js'
import type { RunContext } from './context.js'
import { type CommandReport, emptyReport } from './report.js'

const TABLES = [
  ...DAILY_TABLES,
  'lead_analytics',
  'billing_analytics',
  'analytics_dirty_keys',
  ...DAILY_TABLES.map((t) => `${ARCHIVE_SCHEMA}.${t}`),
]

/**
 * Updates the planner statistics of the analytics tables (live, their partitions, the archive).
 * ANALYZE needs ownership: it runs through pm_analyze_table, which accepts only these tables.
 */
export async function runAnalyze(ctx: RunContext): Promise<CommandReport> {
  const report = emptyReport()
  const analyzed: { table: string; seconds: number; estimatedRows: number }[] = []
  let step = 0
  for (const table of TABLES) {
    ctx.progress.update(`analyzing ${table}`, ++step, TABLES.length)
    const started = Date.now()
    if (!ctx.dryRun) await sql`select pm_analyze_table(${table}::regclass)`.execute(ctx.conn)
    const seconds = (Date.now() - started) / 1000
    // a partitioned parent has no rows of its own: its estimate is the sum over its partitions
    // (pg_partition_tree is empty for a plain table)
    const { rows } = await sql<{ estimate: number }>`
      select coalesce(
               (select sum(greatest(c.reltuples, 0)) from pg_partition_tree(${table}::regclass) t
                  join pg_class c on c.oid = t.relid where t.isleaf),
               (select greatest(reltuples, 0) from pg_class where oid = ${table}::regclass))::float8 as estimate`.execute(
      ctx.conn,
    )
    const estimatedRows = Math.round(rows[0]?.estimate ?? 0)
    analyzed.push({ table, seconds, estimatedRows })
    report.lines.push(
      ctx.dryRun
        ? `would analyze ${table}`
        : `analyzed ${table} in ${seconds.toFixed(2)} s: about ${estimatedRows} row(s)`,
    )
  }
  ctx.progress.finish()
  report.details = { analyzed }
  return report
}
