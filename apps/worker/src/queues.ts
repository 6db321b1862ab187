import type { JobsOptions, Queue } from 'bullmq'
import { z } from 'zod'

/**
 * Three queues, so that a slow backfill never sits in front of the drain that keeps analytics
 * fresh, and the sweep is never stuck behind either.
 */
export const QUEUE_NAMES = {
  /** job-scheduler ticks: the fast sweep and the daily and monthly fan-outs */
  scheduled: 'scheduled',
  /** draining one tenant's dirty keys */
  drain: 'drain',
  /** the seed's explicit recomputes */
  aggregate: 'aggregate',
} as const

export type QueueName = keyof typeof QUEUE_NAMES

export const JOB_NAMES = {
  sweep: 'sweep',
  dailyFanout: 'daily-fanout',
  monthlyFanout: 'monthly-fanout',
  drain: 'drain',
  dailyAggregate: 'daily-aggregate',
  campaignAggregate: 'campaign-aggregate',
  billingCalculate: 'billing-calculate',
} as const

export type JobName = (typeof JOB_NAMES)[keyof typeof JOB_NAMES]

/** The queue each job runs on. */
export const QUEUE_OF: Record<JobName, QueueName> = {
  sweep: 'scheduled',
  'daily-fanout': 'scheduled',
  'monthly-fanout': 'scheduled',
  drain: 'drain',
  'daily-aggregate': 'aggregate',
  'campaign-aggregate': 'aggregate',
  'billing-calculate': 'aggregate',
}

// Job data holds ids and dates only, never personal data; the ids are erased too: with REDIS_URL,
// `maintenance anonymize` removes every job, key and event entry naming an erased tenant or subject.
const id = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .min(1, `${what} must not be empty`)
    .max(200, `${what} must be at most 200 characters`)

const isRealDay = (day: string) => {
  const at = Date.parse(`${day}T00:00:00Z`)
  return !Number.isNaN(at) && new Date(at).toISOString().slice(0, 10) === day
}

const day = z
  .string({ error: 'day must be a string' })
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'day must be YYYY-MM-DD')
  .refine(isRealDay, 'day must be a real calendar day')

const month = z
  .string({ error: 'month must be a string' })
  .regex(/^\d{4}-\d{2}-01$/, "month must be the month's first day, YYYY-MM-01")
  .refine(isRealDay, 'month must be a real month')

/** An instant the fan-outs count "yesterday" and "last month" from; default: the job's time. */
const asOf = z.iso.datetime({ offset: true, error: 'asOf must be an ISO 8601 instant' }).optional()

export const PAYLOADS = {
  sweep: z.object({}).strict(),
  'daily-fanout': z.object({ asOf }).strict(),
  'monthly-fanout': z.object({ asOf }).strict(),
  drain: z.object({ tenantId: id('tenantId') }).strict(),
  'daily-aggregate': z.object({ tenantId: id('tenantId'), day }).strict(),
  'campaign-aggregate': z
    .object({ tenantId: id('tenantId'), campaignId: id('campaignId'), day: day.optional() })
    .strict(),
  'billing-calculate': z.object({ tenantId: id('tenantId'), month }).strict(),
} satisfies Record<JobName, z.ZodType>

export type Payload<N extends JobName> = z.output<(typeof PAYLOADS)[N]>

/** Kept for inspection: completed jobs by count, failed ones longer. */
export const REMOVE_ON_COMPLETE = { count: 1_000 }
export const REMOVE_ON_FAIL = { count: 5_000 }
/** Bound of each queue's event stream (XADD MAXLEN ~). */
export const EVENTS_MAX_LEN = 10_000

export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: REMOVE_ON_COMPLETE,
  removeOnFail: REMOVE_ON_FAIL,
}

export type Queues = Record<QueueName, Queue>

/**
 * Deduplicated per key: while a job with this id waits, another request adds nothing (the waiting
 * job will see the change: it reads PostgreSQL when it runs); while it is active, the request is
 * kept and runs once after it (keepLastIfActive), so a change arriving mid-run is never dropped.
 * At most one active and one waiting job per key.
 */
function keyed(dedupId: string): JobsOptions {
  return { deduplication: { id: dedupId, keepLastIfActive: true } }
}

/** Rings the doorbell for a tenant's dirty keys. */
export function requestDrain(queues: Queues, tenantId: string) {
  return queues.drain.add(JOB_NAMES.drain, { tenantId }, keyed(`drain:${tenantId}`))
}

/** Many doorbells in one round trip. */
export function requestDrains(queues: Queues, tenantIds: string[]) {
  return queues.drain.addBulk(
    tenantIds.map((tenantId) => ({
      name: JOB_NAMES.drain,
      data: { tenantId },
      opts: keyed(`drain:${tenantId}`),
    })),
  )
}

/** The seed's daily aggregate of one tenant-local day. */
export function dailyAggregateJob(job: Payload<'daily-aggregate'>) {
  return {
    name: JOB_NAMES.dailyAggregate,
    data: PAYLOADS['daily-aggregate'].parse(job),
    opts: keyed(`daily:${job.tenantId}:${job.day}`),
  }
}

/** The seed's campaign aggregate: one campaign, one day of it or all. */
export function campaignAggregateJob(job: Payload<'campaign-aggregate'>) {
  return {
    name: JOB_NAMES.campaignAggregate,
    data: PAYLOADS['campaign-aggregate'].parse(job),
    opts: keyed(`campaign:${job.tenantId}:${job.campaignId}:${job.day ?? 'all'}`),
  }
}

/** The seed's billing calculation of one tenant-local month. */
export function billingCalculateJob(job: Payload<'billing-calculate'>) {
  return {
    name: JOB_NAMES.billingCalculate,
    data: PAYLOADS['billing-calculate'].parse(job),
    opts: keyed(`billing:${job.tenantId}:${job.month}`),
  }
}

/** Enqueues the seed's recompute jobs (built with the functions above) on the aggregate queue. */
export function requestAggregates(
  queues: Queues,
  jobs: ReturnType<
    typeof dailyAggregateJob | typeof campaignAggregateJob | typeof billingCalculateJob
  >[],
) {
  return queues.aggregate.addBulk(jobs)
}
