import { recomputeCampaign } from '@penguinmails/aggregator'
import type { Job } from 'bullmq'
import type { ProcessorContext } from './context.js'
import { summarize } from './drain.js'
import { parsePayload } from './payload.js'

/** The seed's campaign aggregate: one campaign (one day of it, or all), its steps and leads. */
export async function processCampaignAggregate(job: Job, ctx: ProcessorContext) {
  const payload = parsePayload('campaign-aggregate', job.data)
  const { counts, durationMs } = await recomputeCampaign(ctx.db, {
    tenantId: payload.tenantId,
    campaignId: payload.campaignId,
    ...(payload.day ? { day: payload.day } : {}),
  })
  return { ...payload, rows: summarize(counts), durationMs: Math.round(durationMs) }
}
