import { hostname } from 'node:os'
import type { DB } from '@penguinmails/schema'
import { type Job, UnrecoverableError, Worker, type WorkerOptions } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import { describeError } from './context.js'
import type { WorkerConfig } from './env.js'
import { processBillingCalculate } from './processors/billing-calculate.js'
import { processCampaignAggregate } from './processors/campaign-aggregate.js'
import type { ProcessorContext } from './processors/context.js'
import { processDailyAggregate } from './processors/daily-aggregate.js'
import { processDailyFanout } from './processors/daily-fanout.js'
import { processDrain } from './processors/drain.js'
import { processMonthlyFanout } from './processors/monthly-fanout.js'
import { processSweep } from './processors/sweep.js'
import type { WorkerProgress } from './progress.js'
import {
  type JobName,
  QUEUE_NAMES,
  QUEUE_OF,
  type QueueName,
  type Queues,
  REMOVE_ON_COMPLETE,
  REMOVE_ON_FAIL,
} from './queues.js'
import { throttled } from './throttled-log.js'

const PROCESSORS: Record<JobName, (job: Job, ctx: ProcessorContext) => Promise<unknown>> = {
  sweep: processSweep,
  'daily-fanout': processDailyFanout,
  'monthly-fanout': processMonthlyFanout,
  drain: processDrain,
  'daily-aggregate': processDailyAggregate,
  'campaign-aggregate': processCampaignAggregate,
  'billing-calculate': processBillingCalculate,
}

/** Jobs too frequent to log at info: the sweep runs every second. */
const QUIET: ReadonlySet<string> = new Set(['sweep'])

export interface ConsumerDeps {
  connection: Redis
  config: WorkerConfig
  db: Kysely<DB>
  queues: Queues
  logger: Logger
  progress: WorkerProgress
  stopping(): boolean
  /** BullMQ lockRenewTime; default half the lock duration */
  lockRenewTimeMs?: number
}

/**
 * The BullMQ options of the worker consuming `queue`: locks, stalled checks, drainDelay and the
 * bounds on what completed and failed jobs leave in Redis. Exported so that a test can consume
 * with exactly what ships.
 */
export function consumerOptions(
  config: WorkerConfig,
  connection: Redis,
  queue: QueueName,
): WorkerOptions {
  const concurrency: Record<QueueName, number> = {
    scheduled: 1,
    drain: config.concurrency,
    aggregate: config.concurrency,
  }
  return {
    connection,
    prefix: config.queuePrefix,
    name: `${hostname()}:${process.pid}`,
    concurrency: concurrency[queue],
    lockDuration: config.lockDurationMs,
    stalledInterval: config.stalledIntervalMs,
    // a crash mid-job is recovered; a job that keeps killing its worker fails (the sweep then
    // re-enqueues the tenant's drain: the dirty keys are still in PostgreSQL)
    maxStalledCount: 2,
    drainDelay: config.drainDelaySeconds,
    removeOnComplete: REMOVE_ON_COMPLETE,
    removeOnFail: REMOVE_ON_FAIL,
  }
}

/** One BullMQ worker per queue, each routing a job by its name to its processor. */
export function createConsumers(deps: ConsumerDeps): Worker[] {
  const { config, logger, progress } = deps
  return (Object.keys(QUEUE_NAMES) as QueueName[]).map((queue) => {
    // jobs whose processor threw (and logged why): their 'failed' event needs no second line
    const thrown = new Set<string>()
    const worker = new Worker(
      QUEUE_NAMES[queue],
      async (job: Job) => {
        const name = job.name as JobName
        const processor = PROCESSORS[name]
        if (!processor || QUEUE_OF[name] !== queue)
          throw new UnrecoverableError(`no job named "${job.name}" runs on the ${queue} queue`)
        const log = logger.child({
          queue,
          jobId: job.id,
          job: job.name,
          attempt: job.attemptsMade + 1,
        })
        const level = QUIET.has(name) ? 'debug' : 'info'
        const started = performance.now()
        progress.activeJobs += 1
        log[level]({ data: job.data }, 'job started')
        try {
          const result = await processor(job, {
            db: deps.db,
            queues: deps.queues,
            logger: log,
            progress,
            stopping: deps.stopping,
          })
          progress.completedJobs += 1
          progress.lastCompletedAt = new Date()
          log[level](
            { result, durationMs: Math.round(performance.now() - started) },
            'job completed',
          )
          return result
        } catch (error) {
          progress.failedJobs += 1
          if (job.id) thrown.add(job.id)
          const final =
            error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1)
          log[final ? 'error' : 'warn'](
            { durationMs: Math.round(performance.now() - started), final, ...describeError(error) },
            final ? 'job failed; kept in the failed set' : 'job failed; it will be retried',
          )
          throw error
        } finally {
          progress.activeJobs -= 1
        }
      },
      {
        ...consumerOptions(config, deps.connection, queue),
        ...(deps.lockRenewTimeMs ? { lockRenewTime: deps.lockRenewTimeMs } : {}),
      },
    )
    const onError = throttled(logger, 10_000)
    worker.on('error', (error) => onError('worker error', { queue, ...describeError(error) }))
    worker.on('stalled', (jobId) =>
      logger.warn(
        { queue, jobId },
        'job stalled (its worker died or lost the lock); it runs again',
      ),
    )
    worker.on('failed', (job, error) => {
      if (job?.id && thrown.delete(job.id)) return
      // failed outside its processor: stalled too often, lock lost, job missing
      logger.error({ queue, jobId: job?.id, job: job?.name, err: error.message }, 'job failed')
    })
    return worker
  })
}
