import { createDatabase, type Database } from '@penguinmails/schema'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readWorkerConfig } from '../src/env.js'
import { prepareEmbeddedDatabase } from '../src/preflight.js'
import { type RunningWorker, startWorker } from '../src/worker.js'
import { insertEdgeCaseFixture } from './support/aggregator-support.js'
import { dirtyKeyCount, driftFromContract, waitFor } from './support/analytics-database.js'
import { SHARED_REDIS_URL, uniquePrefix } from './support/queue-prefix.js'
import { deleteKeysUnder } from './support/redis-keys.js'

// Without DATABASE_URL the worker runs on the embedded PGlite database, in the process that owns
// it (the demo's): the same queues and drains, on a database it creates and migrates itself.

let database: Database
let worker: RunningWorker | undefined
const prefix = uniquePrefix('embedded')
const redis = new Redis(SHARED_REDIS_URL)

beforeAll(async () => {
  database = createDatabase({ dataDir: 'memory://' })
  await prepareEmbeddedDatabase(database)
  await insertEdgeCaseFixture(database.db)
})

afterAll(async () => {
  expect(await worker?.stop(10_000)).toBe(true)
  await database?.destroy()
  await deleteKeysUnder(redis, prefix)
  redis.disconnect()
})

describe('embedded PGlite', () => {
  it('drains the dirty keys of a PGlite database it shares with its host process', async () => {
    expect(await dirtyKeyCount(database.db)).toBeGreaterThan(0)
    const config = readWorkerConfig({
      REDIS_URL: SHARED_REDIS_URL,
      WORKER_QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'warn',
    })
    expect(config.databaseUrl).toBeUndefined()
    worker = await startWorker(config, { database, health: false })
    await waitFor('the drain', async () => (await dirtyKeyCount(database.db)) === 0, 60_000, 200)
    expect(await driftFromContract(database.db)).toEqual({})
  })
})
