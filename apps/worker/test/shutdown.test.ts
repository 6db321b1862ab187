import { Redis } from 'ioredis'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeQueues, createQueues, createRedisConnection } from '../src/context.js'
import { dailyAggregateJob, type Queues, requestAggregates } from '../src/queues.js'
import {
  type AnalyticsDatabase,
  createAnalyticsDatabase,
  driftFromContract,
} from './support/analytics-database.js'
import { SHARED_REDIS_URL, uniquePrefix } from './support/queue-prefix.js'
import { deleteKeysUnder } from './support/redis-keys.js'
import { FAST_RECOVERY, type LogLine, WorkerProcess } from './support/worker-process.js'

// Q7: SIGTERM lets active jobs finish within the deadline (exit 0); past the deadline the worker
// exits non-zero and the unfinished job is recovered as stalled by the next worker.

let database: AnalyticsDatabase
let queues: Queues
const prefix = uniquePrefix('shutdown')
const connection = createRedisConnection(SHARED_REDIS_URL, 'shutdown-test')
const redis = new Redis(SHARED_REDIS_URL)

beforeAll(async () => {
  database = await createAnalyticsDatabase('worker_shutdown')
  queues = createQueues(connection, prefix)
})

afterAll(async () => {
  await closeQueues(queues)
  connection.disconnect()
  await deleteKeysUnder(redis, prefix)
  redis.disconnect()
  await database?.test.drop()
})

function startWorker(overrides: Record<string, string> = {}): WorkerProcess {
  return new WorkerProcess({
    DATABASE_URL: database.writerUrl,
    REDIS_URL: SHARED_REDIS_URL,
    WORKER_QUEUE_PREFIX: prefix,
    ...FAST_RECOVERY,
    WORKER_CONCURRENCY: '5',
    ...overrides,
  })
}

/** Holds the tenant's aggregation lock: its recomputes wait, as long jobs would. */
async function holdTenantLock(tenantId: string): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: database.test.url() })
  await client.connect()
  await client.query(`select pg_advisory_lock(hashtext('pm_aggregate'), hashtext($1))`, [tenantId])
  return async () => {
    await client.end()
  }
}

const isJob = (msg: string, name: string) => (l: LogLine) => l.msg === msg && l.job === name

async function waitForCount(worker: WorkerProcess, match: (l: LogLine) => boolean, n: number) {
  const deadline = Date.now() + 20_000
  while (worker.logs.filter(match).length < n) {
    if (Date.now() > deadline)
      throw new Error(`expected ${n} matching log lines:\n${worker.tail()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('graceful shutdown', () => {
  it('SIGTERM with 5 active jobs: they complete, exit 0 within the deadline, no stall after', async () => {
    const worker = startWorker({ WORKER_SHUTDOWN_TIMEOUT_MS: '15000' })
    const release = await holdTenantLock('t-ny')
    let released = false
    try {
      await worker.started()
      const days = ['2024-03-01', '2024-03-02', '2024-03-03', '2024-03-04', '2024-03-05']
      await requestAggregates(
        queues,
        days.map((day) => dailyAggregateJob({ tenantId: 't-ny', day })),
      )
      await waitForCount(worker, isJob('job started', 'daily-aggregate'), 5)
      const signalled = Date.now()
      worker.kill('SIGTERM')
      // the jobs run about 2 s more, then finish
      await new Promise((resolve) => setTimeout(resolve, 2_000))
      await release()
      released = true
      const { code } = await worker.exited
      const tookMs = Date.now() - signalled
      console.info(`shutdown: exit ${code} ${tookMs} ms after SIGTERM with 5 active jobs`)
      expect(code).toBe(0)
      expect(tookMs).toBeLessThan(15_000)
      expect(worker.logs.filter(isJob('job completed', 'daily-aggregate'))).toHaveLength(5)
      expect(await queues.aggregate.getJobCounts('completed', 'active', 'wait')).toEqual({
        completed: 5,
        active: 0,
        wait: 0,
      })
    } finally {
      if (!released) await release()
      if (worker.running) worker.kill('SIGKILL')
    }
    // the next start finds nothing stalled: lock (2 s) and two stalled checks (1 s) pass
    const next = startWorker()
    try {
      await next.started()
      await new Promise((resolve) => setTimeout(resolve, 4_500))
      expect(next.logs.filter((l) => /stalled/.test(l.msg))).toEqual([])
      next.kill('SIGTERM')
      expect((await next.exited).code).toBe(0)
    } finally {
      if (next.running) next.kill('SIGKILL')
    }
    expect(await driftFromContract(database.su)).toEqual({})
  })

  it('SIGTERM with a job longer than the deadline: non-zero exit; the next worker recovers it', async () => {
    const worker = startWorker({ WORKER_SHUTDOWN_TIMEOUT_MS: '1500' })
    const release = await holdTenantLock('t-utc')
    let released = false
    let jobId: string | undefined
    try {
      await worker.started()
      const [job] = await requestAggregates(queues, [
        dailyAggregateJob({ tenantId: 't-utc', day: '2024-03-10' }),
      ])
      jobId = job?.id
      await worker.waitForLog(isJob('job started', 'daily-aggregate'), 10_000)
      const signalled = Date.now()
      worker.kill('SIGTERM')
      const { code } = await worker.exited
      const tookMs = Date.now() - signalled
      console.info(`shutdown: exit ${code} ${tookMs} ms after SIGTERM, deadline 1500 ms`)
      expect(code).toBe(1)
      expect(tookMs).toBeLessThan(5_000)
      expect(worker.logs.some((l) => /shutdown deadline passed/.test(l.msg))).toBe(true)
      expect(await queues.aggregate.getJobState(String(jobId))).toBe('active')
    } finally {
      await release()
      released = true
      if (worker.running) worker.kill('SIGKILL')
    }
    expect(released).toBe(true)
    const next = startWorker()
    try {
      await next.waitForLog((l) => l.msg.startsWith('job stalled') && l.jobId === jobId, 60_000)
      await next.waitForLog((l) => l.msg === 'job completed' && l.jobId === jobId, 60_000)
      // the log line comes from the processor; BullMQ moves the job to completed just after
      await expect
        .poll(() => queues.aggregate.getJobState(String(jobId)), { timeout: 5_000 })
        .toBe('completed')
      next.kill('SIGTERM')
      expect((await next.exited).code).toBe(0)
    } finally {
      if (next.running) next.kill('SIGKILL')
    }
    expect(await driftFromContract(database.su)).toEqual({})
  })
})
