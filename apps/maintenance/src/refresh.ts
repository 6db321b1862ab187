import { sql } from 'kysely'
import type { RunContext } from './context.js'
import { type CommandReport, emptyReport } from './report.js'

/**
 * Refreshes every materialized view of the schema, CONCURRENTLY (readers keep the old contents
 * until the new ones commit). Only the owner may refresh a view: each has a SECURITY DEFINER
 * `pm_refresh_<view>(p_concurrently boolean)`, as campaign_performance_summary has; a view without
 * one is reported as a problem. A view never populated is refreshed plainly once (CONCURRENTLY
 * needs existing contents).
 */
export async function runRefresh(ctx: RunContext): Promise<CommandReport> {
  const report = emptyReport()
  const { rows: views } = await sql<{ name: string; populated: boolean; refresher: string | null }>`
    select c.relname as name, c.relispopulated as populated,
           (select p.proname from pg_proc p
             where p.pronamespace = c.relnamespace and p.proname = 'pm_refresh_' || c.relname
               and p.pronargs = 1 and p.proargtypes[0] = 'boolean'::regtype) as refresher
      from pg_class c
     where c.relkind = 'm' and c.relnamespace = current_schema()::regnamespace
     order by 1`.execute(ctx.conn)
  const refreshed: { view: string; concurrently: boolean; seconds: number }[] = []
  let step = 0
  for (const view of views) {
    ctx.progress.update(`refreshing ${view.name}`, ++step, views.length)
    if (!view.refresher) {
      report.problems.push(
        `materialized view ${view.name} has no refresh function pm_refresh_${view.name}(boolean): add one (SECURITY DEFINER, as pm_refresh_campaign_performance_summary) in a migration`,
      )
      continue
    }
    const started = Date.now()
    if (!ctx.dryRun) {
      await sql`select ${sql.id(view.refresher)}(${view.populated})`.execute(ctx.conn)
    }
    const seconds = (Date.now() - started) / 1000
    refreshed.push({ view: view.name, concurrently: view.populated, seconds })
    report.lines.push(
      `${ctx.dryRun ? 'would refresh' : 'refreshed'} ${view.name}${view.populated ? ' concurrently' : ' (first population, not concurrently)'}${ctx.dryRun ? '' : ` in ${seconds.toFixed(2)} s`}`,
    )
  }
  ctx.progress.finish()
  if (views.length === 0) report.lines.push('no materialized view to refresh')
  report.details = { refreshed }
  return report
}
