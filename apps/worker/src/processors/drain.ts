import { drainDirtyKeys, type TableCounts } from '@penguinmails/aggregator'
import type { Job } from 'bullmq'
import { requestDrain } from '../queues.js'
import type { ProcessorContext } from './context.js'
import { parsePayload } from './payload.js'

/** A drain job yields after this long and rings again, so that one tenant cannot hog a slot. */
const TIME_BUDGET_MS = 10_000
/** How long to wait before trying again when another recompute holds the tenant's lock. */
const BUSY_RETRY_MS = 100

export interface DrainJobResult {
  tenantId: string
  batches: number
  keys: number
  /** drained: nothing left; deferred: out of time, shutting down or still busy — rang again */
  outcome: 'drained' | 'deferred'
}

/**
 * Drains one tenant's dirty keys, batch after batch, until none is left. Each batch recomputes
 * and deletes its keys in one transaction (the aggregator's), so a crash anywhere loses nothing.
 */
export async function processDrain(job: Job, ctx: ProcessorContext): Promise<DrainJobResult> {
  const { tenantId } = parsePayload('drain', job.data)
  const started = performance.now()
  const result: DrainJobResult = { tenantId, batches: 0, keys: 0, outcome: 'drained' }
  for (;;) {
    if (ctx.stopping() || performance.now() - started > TIME_BUDGET_MS) {
      // while this job is active the request is kept and runs right after it (keepLastIfActive)
      await requestDrain(ctx.queues, tenantId)
      result.outcome = 'deferred'
      return result
    }
    const batch = await drainDirtyKeys(ctx.db, { tenantId })
    if (batch.state === 'idle') return result
    if (batch.state === 'busy') {
      await new Promise((resolve) => setTimeout(resolve, BUSY_RETRY_MS))
      continue
    }
    result.batches += 1
    result.keys += batch.keys
    ctx.logger.info(
      {
        tenantId,
        keys: batch.keys,
        rows: summarize(batch.counts),
        durationMs: Math.round(batch.durationMs),
      },
      'drained a batch of dirty keys',
    )
  }
}

/** Rows written and deleted per table, leaving out tables the batch did not touch. */
export function summarize(counts: TableCounts[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const c of counts) {
    if (c.upserted === 0 && c.deleted === 0) continue
    out[c.table] = `+${c.upserted} -${c.deleted}`
  }
  return out
}
