import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect } from 'vitest'
import { readWorkerConfig } from '../../src/env.js'
import { type RunningWorker, startWorker } from '../../src/worker.js'
import { type AnalyticsDatabase, createAnalyticsDatabase } from './analytics-database.js'
import { SHARED_REDIS_URL, uniquePrefix } from './queue-prefix.js'
import { deleteKeysUnder } from './redis-keys.js'

export interface WorkerUnderTest {
  readonly database: AnalyticsDatabase
  readonly worker: RunningWorker
}

/**
 * A worker of the test file's own, on its own database and queue prefix, started before the
 * file's tests and stopped (within 10 s, or the file fails) after them. No job scheduler and no
 * repair sweep run, so the only jobs are the ones the tests enqueue.
 */
export function workerForTestFile(name: string, logLevel: 'warn' | 'silent'): WorkerUnderTest {
  const prefix = uniquePrefix(name)
  const redis = new Redis(SHARED_REDIS_URL)
  let database: AnalyticsDatabase | undefined
  let worker: RunningWorker | undefined
  beforeAll(async () => {
    database = await createAnalyticsDatabase(`worker_${name}`)
    const config = readWorkerConfig({
      DATABASE_URL: database.writerUrl,
      REDIS_URL: SHARED_REDIS_URL,
      WORKER_QUEUE_PREFIX: prefix,
      WORKER_REPAIR_INTERVAL_MS: '3600000',
      LOG_LEVEL: logLevel,
    })
    worker = await startWorker(config, { schedulers: false, health: false })
  })
  afterAll(async () => {
    expect(await worker?.stop(10_000)).toBe(true)
    await deleteKeysUnder(redis, prefix)
    redis.disconnect()
    await database?.test.drop()
  })
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the worker under test is used before beforeAll')
    return value
  }
  return {
    get database() {
      return started(database)
    },
    get worker() {
      return started(worker)
    },
  }
}
