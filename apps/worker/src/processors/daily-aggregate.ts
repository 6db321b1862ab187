import { recomputeTenantDay } from '@penguinmails/aggregator'
import type { Job } from 'bullmq'
import type { ProcessorContext } from './context.js'
import { summarize } from './drain.js'
import { parsePayload } from './payload.js'

/** The seed's daily aggregate: every table of one tenant for one tenant-local day. */
export async function processDailyAggregate(job: Job, ctx: ProcessorContext) {
  const payload = parsePayload('daily-aggregate', job.data)
  const { counts, durationMs } = await recomputeTenantDay(ctx.db, payload)
  return { ...payload, rows: summarize(counts), durationMs: Math.round(durationMs) }
}
