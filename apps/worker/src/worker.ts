import type { Database } from '@penguinmails/schema'
import type { Worker } from 'bullmq'
import type { Logger } from 'pino'
import { createConsumers } from './consumers.js'
import {
  closeQueues,
  createLogger,
  createQueues,
  createRedisConnection,
  createWorkerDatabase,
  describeError,
} from './context.js'
import type { WorkerConfig } from './env.js'
import { startHealthServer } from './health.js'
import { type MaintenanceScheduling, startMaintenanceScheduling } from './maintenance.js'
import { checkDatabase, checkRedis, prepareEmbeddedDatabase, redactRedisUrl } from './preflight.js'
import { sweepDirtyKeys } from './processors/sweep.js'
import { WorkerProgress } from './progress.js'
import type { Queues } from './queues.js'
import { type RepairLoop, startRepairLoop } from './repair-loop.js'
import { ensureSchedulers, upsertSchedulers } from './schedulers.js'

export interface StartOptions {
  /** a database opened elsewhere (the demo's embedded one); the caller destroys it */
  database?: Database
  logger?: Logger
  /**
   * false: no job schedulers (the sweep, daily and monthly jobs, the maintenance commands); drains
   * run only when rung
   */
  schedulers?: boolean
  /** false: no HTTP health endpoint */
  health?: boolean
  /**
   * BullMQ lockRenewTime of the consumers; default half of WORKER_LOCK_DURATION_MS. Tests set it
   * above the lock duration to force lost locks, so that one job runs twice at once.
   */
  lockRenewTimeMs?: number
}

export interface RunningWorker {
  readonly progress: WorkerProgress
  readonly queues: Queues
  /** the health endpoint's port, when it runs */
  readonly healthPort: number | undefined
  /**
   * Stops taking jobs and waits for the active ones, up to the timeout. Resolves true when they
   * all finished and everything was closed; false when the deadline passed (the unfinished jobs
   * are recovered as stalled by the next worker to start).
   */
  stop(timeoutMs: number): Promise<boolean>
}

/**
 * Checks Redis and the database (refusing with a StartupRefusal what is unsafe), upserts the job
 * schedulers, starts consuming the queues, re-enqueues whatever is dirty now and periodically,
 * and serves the health endpoint.
 */
export async function startWorker(
  config: WorkerConfig,
  options: StartOptions = {},
): Promise<RunningWorker> {
  const logger = options.logger ?? createLogger(config.logLevel)
  const progress = new WorkerProgress()
  const database = options.database ?? createWorkerDatabase(config, logger)
  const redisLocation = redactRedisUrl(config.redisUrl)
  const connection = createRedisConnection(config.redisUrl, 'penguinmails-worker')
  let repair: RepairLoop | undefined
  let lost = false
  let closing = false
  connection.on('ready', () => {
    progress.redisReady = true
    if (lost) {
      lost = false
      logger.info({ redis: redisLocation }, 'redis connection is back; re-enqueueing dirty keys')
      repair?.trigger()
    }
  })
  connection.on('close', () => {
    if (progress.redisReady && !closing)
      logger.warn({ redis: redisLocation }, 'redis connection lost')
    progress.redisReady = false
    lost = true
  })
  // ioredis reports every failed reconnect; the close/ready transitions above say what matters
  connection.on('error', () => {})

  const release = async () => {
    closing = true
    connection.disconnect()
    if (!options.database) await database.destroy()
  }
  try {
    await prepareEmbeddedDatabase(database)
    await checkDatabase(database)
    const waitingLog = () => logger.warn({ redis: redisLocation }, 'waiting for Redis')
    const first = setTimeout(waitingLog, 1_000).unref()
    const every = setInterval(waitingLog, 10_000).unref()
    try {
      await checkRedis(connection, redisLocation)
    } finally {
      clearTimeout(first)
      clearInterval(every)
    }
  } catch (error) {
    await release()
    throw error
  }

  const queues = createQueues(connection, config.queuePrefix)
  const onQueueError = (error: Error) =>
    logger.debug(describeError(error), 'queue error (Redis unavailable?)')
  for (const q of Object.values(queues)) q.on('error', onQueueError)
  const schedulers = options.schedulers ?? true
  if (schedulers) await upsertSchedulers(queues, config.sweepIntervalMs)
  const maintenance: MaintenanceScheduling | undefined = schedulers
    ? await startMaintenanceScheduling({
        connection,
        prefix: config.queuePrefix,
        databaseUrl: config.databaseUrl,
        commands: config.maintenanceCommands,
        logger,
        lockDurationMs: config.lockDurationMs,
      })
    : undefined
  let stopping = false
  const consumers: Worker[] = createConsumers({
    connection,
    config,
    db: database.db,
    queues,
    logger,
    progress,
    stopping: () => stopping,
    lockRenewTimeMs: options.lockRenewTimeMs,
  })
  // PostgreSQL is the truth: now and periodically, re-ring whatever is dirty and put back any
  // scheduler Redis lost, so that a flushed or restarted Redis loses nothing
  repair = startRepairLoop(
    async () => {
      if (schedulers) {
        const recreated = [
          ...(await ensureSchedulers(queues, config.sweepIntervalMs)),
          ...((await maintenance?.ensure()) ?? []),
        ]
        if (recreated.length > 0)
          logger.warn(
            { schedulers: recreated },
            'job schedulers were missing (Redis lost its data?); recreated them',
          )
      }
      const swept = await sweepDirtyKeys({ db: database.db, queues, progress })
      if (swept.tenants > 0) logger.debug(swept, 'repair pass rang drains for dirty tenants')
    },
    config.repairIntervalMs,
    logger,
  )
  const health =
    options.health === false
      ? undefined
      : await startHealthServer(
          progress,
          {
            maxSweepAgeMs: Math.max(3 * config.repairIntervalMs, 15_000),
            maxLagMs: config.maxLagMs,
            accepting: () => !stopping,
          },
          config.healthHost,
          config.healthPort,
        )
  logger.info(
    {
      database: `${database.kind} ${database.location}`,
      redis: redisLocation,
      prefix: config.queuePrefix,
      concurrency: config.concurrency,
      healthPort: health?.port,
      schedulers,
      maintenance: maintenance?.commands ?? [],
    },
    'worker started',
  )

  return {
    progress,
    queues,
    healthPort: health?.port,
    async stop(timeoutMs: number) {
      stopping = true
      await repair?.stop()
      const closing = Promise.all([...consumers.map((w) => w.close()), maintenance?.close()]).then(
        () => 'closed' as const,
      )
      const deadline = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), timeoutMs).unref(),
      )
      const outcome = await Promise.race([closing, deadline])
      if (outcome === 'timeout') {
        logger.error(
          { activeJobs: progress.activeJobs, timeoutMs },
          'shutdown deadline passed with jobs still active; they will be recovered as stalled by the next worker',
        )
        await health?.close()
        return false
      }
      await closeQueues(queues)
      await health?.close()
      await release()
      logger.info({ completedJobs: progress.completedJobs }, 'worker stopped')
      return true
    },
  }
}
