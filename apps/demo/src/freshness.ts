import { createHash } from 'node:crypto'
import { createDatabase, type Database, ROLES } from '@penguinmails/schema'
import { readWorkerConfig, startWorker } from '@penguinmails/worker'
import { startDrainLoop } from './drain-loop.js'
import type { DemoEnv } from './env.js'

/** What keeps the analytics tables fresh while the demo runs. */
export interface Freshness {
  /** one line for the terminal: how freshness is kept */
  how: string
  /** what it did so far */
  describe(): string
  stop(): Promise<void>
}

/**
 * With REDIS_URL the BullMQ worker of apps/worker drains the dirty keys; without Redis an
 * in-process loop calls the same aggregator function (drainDirtyKeys) on the demo's database.
 */
export async function startFreshness(
  database: Database,
  env: DemoEnv,
  onError: (error: unknown) => void,
): Promise<Freshness> {
  if (env.redisUrl) return startWorkerFreshness(database, env, onError)
  const loop = startDrainLoop(database.db, onError)
  return {
    how: 'in-process aggregation loop (no REDIS_URL): drains dirty keys about every second',
    describe: () =>
      `aggregation: ${loop.stats.keys.toLocaleString('en-US')} dirty keys drained in ${loop.stats.batches} batches`,
    stop: loop.stop,
  }
}

/** How long the demo's stop waits for a drain job in progress. */
const WORKER_STOP_TIMEOUT_MS = 10_000

/**
 * The BullMQ worker of apps/worker, in this process and on this database: its job schedulers
 * sweep the dirty keys every second into drain jobs, which it runs. Its queues get a prefix of
 * their own per database, so two demos (or a demo and a real worker) on one Redis never take each
 * other's jobs. No health endpoint: the demo's own /healthz serves. On PostgreSQL it connects as
 * pm_writer (the worker refuses a superuser): the DATABASE_URL with that user and no password,
 * which a development cluster with trust authentication accepts.
 */
async function startWorkerFreshness(
  database: Database,
  env: DemoEnv,
  onError: (error: unknown) => void,
): Promise<Freshness> {
  const where = createHash('sha256').update(database.location).digest('hex').slice(0, 8)
  const config = readWorkerConfig({
    REDIS_URL: env.redisUrl,
    WORKER_QUEUE_PREFIX: `{pm-demo-${where}}`,
    LOG_LEVEL: 'warn',
  })
  const own = env.databaseUrl
    ? createDatabase({
        databaseUrl: asRole(env.databaseUrl, ROLES.writer),
        maxConnections: config.concurrency + 1,
        applicationName: 'penguinmails-demo-worker',
      })
    : undefined
  const worker = await startWorker(config, { database: own ?? database, health: false }).catch(
    async (error: unknown) => {
      await own?.destroy()
      throw new Error(
        `REDIS_URL: the worker could not start (${error instanceof Error ? error.message : String(error)}); unset REDIS_URL to aggregate in-process instead`,
        { cause: error },
      )
    },
  )
  return {
    how: `BullMQ worker on ${config.redisUrl.replace(/\/\/[^@/]*@/, '//***@')} (queues ${config.queuePrefix})`,
    describe: () =>
      `worker: ${worker.progress.completedJobs} jobs done, ${worker.progress.failedJobs} failed, ${worker.progress.pendingKeys} dirty keys waiting`,
    async stop() {
      if (!(await worker.stop(WORKER_STOP_TIMEOUT_MS)))
        onError(
          new Error(
            'the worker still had jobs running at the deadline; they are retried at the next start',
          ),
        )
      await own?.destroy()
    },
  }
}

function asRole(url: string, role: string): string {
  const parsed = new URL(url)
  parsed.username = role
  parsed.password = ''
  return parsed.toString()
}
