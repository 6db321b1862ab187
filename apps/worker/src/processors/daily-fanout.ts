import type { Job } from 'bullmq'
import { sql } from 'kysely'
import { dailyAggregateJob, requestAggregates } from '../queues.js'
import type { ProcessorContext } from './context.js'
import { parsePayload } from './payload.js'

const JOBS_PER_CALL = 500

/** When a scheduled job was due: created at the previous tick, delayed until its own. */
export function dueAt(job: Job, asOf?: string): string {
  return asOf ?? new Date(job.timestamp + (job.delay ?? 0)).toISOString()
}

/**
 * The nightly safety net: a daily-aggregate job for every tenant's yesterday, in the tenant's
 * own time zone, counted from when the tick was due.
 */
export async function processDailyFanout(job: Job, ctx: ProcessorContext) {
  const { asOf } = parsePayload('daily-fanout', job.data)
  const at = dueAt(job, asOf)
  const { rows } = await sql<{ tenant_id: string; day: string }>`
    select id as tenant_id, ((${at}::timestamptz at time zone time_zone)::date - 1)::text as day
      from tenants order by id`.execute(ctx.db)
  for (let i = 0; i < rows.length; i += JOBS_PER_CALL) {
    await requestAggregates(
      ctx.queues,
      rows
        .slice(i, i + JOBS_PER_CALL)
        .map((r) => dailyAggregateJob({ tenantId: r.tenant_id, day: r.day })),
    )
  }
  return { asOf: at, tenants: rows.length }
}
