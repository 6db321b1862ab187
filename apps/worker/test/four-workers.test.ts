import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyMutations } from './support/aggregator-support.js'
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

// Past one machine: four worker processes (as on four hosts) on one Redis and one database share
// the queues. Every dirty key is drained exactly once — none twice, none lost — and the tables
// equal the contract afterwards.

const WORKERS = 4

let database: AnalyticsDatabase
const prefix = uniquePrefix('four')
const redis = new Redis(SHARED_REDIS_URL)
const workers: WorkerProcess[] = []

beforeAll(async () => {
  database = await createAnalyticsDatabase('worker_four')
})

afterAll(async () => {
  for (const w of workers) if (w.running) w.kill('SIGKILL')
  await deleteKeysUnder(redis, prefix)
  redis.disconnect()
  await database?.test.drop()
})

const batchDrained = (l: LogLine) => l.msg === 'drained a batch of dirty keys'
const keysDrained = (w: WorkerProcess) =>
  w.logs.filter(batchDrained).reduce((sum, l) => sum + Number(l.keys), 0)

describe(`${WORKERS} workers on one Redis and one database`, () => {
  it('drain every dirty key exactly once between them, and the tables are exact', {
    timeout: 240_000,
  }, async () => {
    // a backlog written while no worker runs: its size is known exactly
    for (let round = 0; round < 4; round++) await applyMutations(database.su, 600 + round, round)
    const backlog = await dirtyKeyCount(database.su)
    expect(backlog).toBeGreaterThan(0)

    for (let i = 0; i < WORKERS; i++)
      workers.push(
        new WorkerProcess({
          DATABASE_URL: database.writerUrl,
          REDIS_URL: SHARED_REDIS_URL,
          WORKER_QUEUE_PREFIX: prefix,
          WORKER_CONCURRENCY: '1',
          ...FAST_RECOVERY,
          LOG_LEVEL: 'info',
        }),
      )
    await Promise.all(workers.map((w) => w.started()))
    await waitFor(
      'the backlog drained',
      async () => (await dirtyKeyCount(database.su)) === 0,
      60_000,
      100,
    )

    // each key row was deleted by exactly one batch of one worker
    const perWorker = workers.map(keysDrained)
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(backlog)
    expect(await driftFromContract(database.su)).toEqual({})

    // then changes arrive while all four run, as in production
    for (let round = 4; round < 8; round++) await applyMutations(database.su, 600 + round, round)
    await waitFor(
      'live changes drained',
      async () => (await dirtyKeyCount(database.su)) === 0,
      60_000,
      100,
    )
    expect(await driftFromContract(database.su)).toEqual({})

    // no drain job ran twice: each completed job id is logged by one worker, once
    const completed = workers.flatMap((w) =>
      w.logs
        .filter((l) => l.msg === 'job completed' && l.job === 'drain')
        .map((l) => String(l.jobId)),
    )
    expect(new Set(completed).size).toBe(completed.length)
    for (const w of workers) w.kill('SIGTERM')
    for (const w of workers) expect((await w.exited).code).toBe(0)
    const shares = workers.map(keysDrained)
    console.info(
      `four workers: backlog of ${backlog} keys drained as ${perWorker.join(' + ')}; all keys ${shares.join(' + ')}; ${completed.length} drain jobs`,
    )
    // the queues were shared: more than one process did drain work
    expect(shares.filter((n) => n > 0).length).toBeGreaterThan(1)
  })
})
