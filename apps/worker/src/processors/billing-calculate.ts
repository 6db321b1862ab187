import { recomputeBillingPeriod } from '@penguinmails/aggregator'
import type { Job } from 'bullmq'
import type { ProcessorContext } from './context.js'
import { summarize } from './drain.js'
import { parsePayload } from './payload.js'

/** The seed's billing calculation: one tenant's billing row for one tenant-local month. */
export async function processBillingCalculate(job: Job, ctx: ProcessorContext) {
  const payload = parsePayload('billing-calculate', job.data)
  const { counts, durationMs } = await recomputeBillingPeriod(ctx.db, payload)
  return { ...payload, rows: summarize(counts), durationMs: Math.round(durationMs) }
}
