import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyMutations, seeded } from './support/aggregator-support.js'
import {
  type AnalyticsDatabase,
  createAnalyticsDatabase,
  dirtyKeyCount,
  driftFromContract,
  waitFor,
} from './support/analytics-database.js'
import { SHARED_REDIS_URL, uniquePrefix } from './support/queue-prefix.js'
import { deleteKeysUnder } from './support/redis-keys.js'
import { FAST_RECOVERY, type LogLine, WorkerProcess } from './support/worker-process.js'

// Q1: the worker as a child process, SIGKILLed at a random point of a drain job, again and again;
// after each kill a new worker starts and drains: the tables equal the contract every time.

const KILLS = 20

let database: AnalyticsDatabase
const prefix = uniquePrefix('crash')
const redis = new Redis(SHARED_REDIS_URL)
const workers: WorkerProcess[] = []

beforeAll(async () => {
  database = await createAnalyticsDatabase('worker_crash')
})

afterAll(async () => {
  for (const w of workers) if (w.running) w.kill('SIGKILL')
  await deleteKeysUnder(redis, prefix)
  redis.disconnect()
  await database?.test.drop()
})

function startWorker(): WorkerProcess {
  const worker = new WorkerProcess({
    DATABASE_URL: database.writerUrl,
    REDIS_URL: SHARED_REDIS_URL,
    WORKER_QUEUE_PREFIX: prefix,
    ...FAST_RECOVERY,
    WORKER_STALLED_INTERVAL_MS: '500',
    LOG_LEVEL: 'info',
  })
  workers.push(worker)
  return worker
}

const drainStarted = (l: LogLine) => l.msg === 'job started' && l.job === 'drain'
const drainCompleted = (l: LogLine) => l.msg === 'job completed' && l.job === 'drain'

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

describe('crash recovery', () => {
  it(`SIGKILL at a random point of ${KILLS} drain jobs: exact tables and no dirty key every time`, {
    timeout: 300_000,
  }, async () => {
    const random = seeded(2024)
    let midJob = 0
    // two workers consume side by side, as in production; the one running the drain is killed
    // and a replacement starts while the survivor carries on
    let pool = [startWorker(), startWorker()]
    for (const w of pool) await w.started()
    for (let kill = 0; kill < KILLS; kill++) {
      const from = pool.map((w) => w.logs.length)
      // round 0 also changes a time zone, campaign status, steps, warmups and subscriptions
      await applyMutations(database.su, 100 + kill, kill)
      const started = await Promise.any(
        pool.map((w, i) =>
          w.waitForLog(drainStarted, 20_000, from[i]).then((line) => ({ w, line })),
        ),
      )
      // uniform over a drain's typical run time (measured from the completed ones so far)
      const durations = workers
        .flatMap((w) => w.logs)
        .filter(drainCompleted)
        .map((l) => Number(l.durationMs))
      const typical = durations.length > 0 ? median(durations) : 200
      await new Promise((resolve) => setTimeout(resolve, random.next() * typical))
      started.w.kill('SIGKILL')
      await started.w.exited
      if (!started.w.logs.some((l) => drainCompleted(l) && l.jobId === started.line.jobId))
        midJob += 1
      pool = [...pool.filter((w) => w !== started.w), startWorker()]
      await waitFor(
        `kill ${kill + 1}: every dirty key drained`,
        async () => (await dirtyKeyCount(database.su)) === 0,
        30_000,
        100,
      )
      expect(await driftFromContract(database.su), `after kill ${kill + 1}`).toEqual({})
    }
    for (const w of workers.filter((w) => w.running)) {
      await w.started()
      w.kill('SIGTERM')
      expect((await w.exited).code).toBe(0)
    }
    const durations = workers
      .flatMap((w) => w.logs)
      .filter(drainCompleted)
      .map((l) => Number(l.durationMs))
    const stalledFailures = workers
      .flatMap((w) => w.logs)
      .filter((l) => l.msg === 'job failed' && /stalled/i.test(String(l.err)))
    console.info(
      `crash: ${KILLS} kills, ${midJob} in the middle of a drain job (median drain ${Math.round(median(durations))} ms), ${stalledFailures.length} stalled-limit failures`,
    )
    expect(stalledFailures).toEqual([])
    expect(midJob).toBeGreaterThanOrEqual(KILLS / 2)
    expect(await dirtyKeyCount(database.su)).toBe(0)
  })
})
