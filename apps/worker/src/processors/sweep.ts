import { pendingDirtyKeys } from '@penguinmails/aggregator'
import type { Job } from 'bullmq'
import { requestDrains } from '../queues.js'
import type { ProcessorContext } from './context.js'
import { parsePayload } from './payload.js'

const DOORBELLS_PER_CALL = 500

export interface SweepResult {
  tenants: number
  pendingKeys: number
}

/**
 * PostgreSQL is the truth, Redis the doorbell: rings a drain for every tenant with dirty keys.
 * Deduplication makes ringing again harmless, so this runs every second and after any outage.
 */
export async function sweepDirtyKeys(
  ctx: Pick<ProcessorContext, 'db' | 'queues' | 'progress'>,
): Promise<SweepResult> {
  const pending = await pendingDirtyKeys(ctx.db)
  ctx.progress.recordSweep(pending)
  const tenants = pending.map((p) => p.tenantId)
  for (let i = 0; i < tenants.length; i += DOORBELLS_PER_CALL) {
    await requestDrains(ctx.queues, tenants.slice(i, i + DOORBELLS_PER_CALL))
  }
  return { tenants: tenants.length, pendingKeys: ctx.progress.pendingKeys }
}

export async function processSweep(job: Job, ctx: ProcessorContext): Promise<SweepResult> {
  parsePayload('sweep', job.data)
  return sweepDirtyKeys(ctx)
}
