import type { Job } from 'bullmq'
import { sql } from 'kysely'
import { billingCalculateJob, requestAggregates } from '../queues.js'
import type { ProcessorContext } from './context.js'
import { dueAt } from './daily-fanout.js'
import { parsePayload } from './payload.js'

const JOBS_PER_CALL = 500

/** The monthly billing run: a billing-calculate job for every tenant's previous local month. */
export async function processMonthlyFanout(job: Job, ctx: ProcessorContext) {
  const { asOf } = parsePayload('monthly-fanout', job.data)
  const at = dueAt(job, asOf)
  const { rows } = await sql<{ tenant_id: string; month: string }>`
    select id as tenant_id,
           (date_trunc('month', ${at}::timestamptz at time zone time_zone) - interval '1 month')::date::text as month
      from tenants order by id`.execute(ctx.db)
  for (let i = 0; i < rows.length; i += JOBS_PER_CALL) {
    await requestAggregates(
      ctx.queues,
      rows
        .slice(i, i + JOBS_PER_CALL)
        .map((r) => billingCalculateJob({ tenantId: r.tenant_id, month: r.month })),
    )
  }
  return { asOf: at, tenants: rows.length }
}
