import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyMutations } from './support/aggregator-support.js'
import {
  type AnalyticsDatabase,
  createAnalyticsDatabase,
  dirtyKeyCount,
  driftFromContract,
  waitFor,
} from './support/analytics-database.js'
import { OwnRedis } from './support/redis-server.js'
import { FAST_RECOVERY, type LogLine, WorkerProcess } from './support/worker-process.js'

// Q3 on a redis-server of the test's own: stopped (SHUTDOWN NOSAVE, so it comes back empty) for
// longer than the worker's drainDelay while work is pending, 10 times.
// An outage of 5 s outlasts the worker's drainDelay (3 s here, to keep the test short) and
// BullMQ's blocking-command watchdog (drainDelay + 1 s): the case of BullMQ issues #4585 and
// #4479. With bullmq 6.1.2 the idle cycles never recover; with the pinned 6.7.0 they do.

const CYCLES = 10
const OUTAGE_MS = 5_000
const DRAIN_DELAY_SECONDS = 3

/**
 * Lanes run at once, each with its own redis-server, database and worker. One: the outages are
 * mostly waiting, and two lanes' worker startups overloaded the shared 2-core test machine.
 */
const LANES = 1

interface Lane {
  index: number
  database: AnalyticsDatabase
  redis: OwnRedis
  worker: WorkerProcess
}

const lanes: Lane[] = []

beforeAll(async () => {
  await Promise.all(
    Array.from({ length: LANES }, async (_, index) => {
      const database = await createAnalyticsDatabase(`worker_outage_${index}`)
      const redis = await OwnRedis.start()
      const worker = new WorkerProcess({
        DATABASE_URL: database.writerUrl,
        REDIS_URL: redis.url,
        ...FAST_RECOVERY,
        WORKER_DRAIN_DELAY_SECONDS: String(DRAIN_DELAY_SECONDS),
      })
      // recorded before the wait: afterAll then stops a lane whose worker never started
      lanes.push({ index, database, redis, worker })
      await worker.started()
    }),
  )
})

afterAll(async () => {
  for (const { worker, redis, database } of lanes) {
    if (worker.running) worker.kill('SIGKILL')
    await redis.stop()
    await database.test.drop()
  }
})

const drainStarted = (l: LogLine) => l.msg === 'job started' && l.job === 'drain'
const drainCompleted = (l: LogLine) => l.msg === 'job completed' && l.job === 'drain'

async function health(
  worker: WorkerProcess,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const port = (worker.logs.find((l) => l.msg === 'worker started') as LogLine).healthPort
  const res = await fetch(`http://127.0.0.1:${port}/healthz`)
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

/** `cycles` outages of the lane's Redis; the milliseconds to drain after each return. */
async function runLane(lane: Lane, cycles: number): Promise<number[]> {
  const { database, redis, worker } = lane
  const recoveries: number[] = []
  for (let cycle = 0; cycle < cycles; cycle++) {
    const from = worker.logs.length
    await applyMutations(database.su, 500 + cycle, cycle + 1)
    if (cycle % 2 === 1) {
      // down while a drain is active
      await worker.waitForLog(drainStarted, 20_000, from)
    } else {
      // down while the worker idles in its blocking read: no job in flight whose completion
      // would fetch the next one, so only a recovered blocking connection consumes again
      await waitFor('an idle worker', async () => (await dirtyKeyCount(database.su)) === 0, 20_000)
      await new Promise((resolve) => setTimeout(resolve, 1_000))
    }
    await redis.shutdown()
    const down = Date.now()
    // a drain caught mid-run finishes its PostgreSQL work without Redis; only then does more
    // work arrive, so that what remains needs the worker to fetch jobs from Redis again
    await waitFor(
      'the drains in flight to finish',
      () => {
        const lines = worker.logs.slice(from)
        const ended = new Set(
          lines
            .filter((l) => l.job === 'drain' && l.msg.startsWith('job ') && l.msg !== 'job started')
            .map((l) => l.jobId),
        )
        return lines.filter(drainStarted).every((l) => ended.has(l.jobId))
      },
      10_000,
    )
    // and more work arrives while it is down
    await applyMutations(database.su, 600 + cycle, cycle + 1)
    const pending = await dirtyKeyCount(database.su)
    expect(pending).toBeGreaterThan(0)
    await waitFor(
      'the health check to fail',
      async () => (await health(worker)).status === 503,
      5_000,
    )
    expect((await health(worker)).body.redis).toBe('unavailable')
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS - (Date.now() - down)))
    const back = worker.logs.length
    await redis.restart()
    const ms = await waitFor(
      'the worker to drain after Redis returned',
      async () => (await dirtyKeyCount(database.su)) === 0,
      30_000,
      100,
    )
    recoveries.push(ms)
    // drained by BullMQ jobs: nothing else drains in this test
    expect(worker.logs.slice(back).some(drainCompleted)).toBe(true)
    expect(await driftFromContract(database.su), `lane ${lane.index}, cycle ${cycle + 1}`).toEqual(
      {},
    )
    await waitFor(
      'the health check to pass',
      async () => (await health(worker)).status === 200,
      10_000,
    )
  }
  worker.kill('SIGTERM')
  expect((await worker.exited).code).toBe(0)
  return recoveries
}

describe('Redis outages', () => {
  it(`the worker consumes again within 30 s of Redis returning after ${OUTAGE_MS / 1000} s down, ${CYCLES} times, and converges (Q3)`, {
    timeout: 300_000,
  }, async () => {
    expect(OUTAGE_MS).toBeGreaterThan((DRAIN_DELAY_SECONDS + 1) * 1_000)
    const recoveries = (
      await Promise.all(lanes.map((lane) => runLane(lane, Math.ceil(CYCLES / LANES))))
    ).flat()
    console.info(
      `outage: ${CYCLES} outages of ${OUTAGE_MS} ms${LANES > 1 ? ` in ${LANES} lanes` : ''} (drainDelay ${DRAIN_DELAY_SECONDS} s); drained ${recoveries.map((r) => Math.round(r)).join(', ')} ms after Redis returned`,
    )
    expect(recoveries).toHaveLength(CYCLES)
    expect(Math.max(...recoveries)).toBeLessThan(30_000)
  })
})
