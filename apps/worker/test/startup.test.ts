import { randomBytes } from 'node:crypto'
import { ROLES } from '@penguinmails/schema'
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EnvError, readWorkerConfig } from '../src/env.js'
import { StartupRefusal } from '../src/preflight.js'
import { startWorker } from '../src/worker.js'
import {
  type AnalyticsDatabase,
  createAnalyticsDatabase,
  dirtyKeyCount,
  driftFromContract,
  waitFor,
} from './support/analytics-database.js'
import { SHARED_REDIS_URL, uniquePrefix } from './support/queue-prefix.js'
import { deleteKeysUnder } from './support/redis-keys.js'
import { freePort, OwnRedis } from './support/redis-server.js'
import { FAST_RECOVERY, WorkerProcess } from './support/worker-process.js'

// What the worker refuses to start with (Q11, R4), and starting before Redis is up (Q10).

let database: AnalyticsDatabase
const prefix = uniquePrefix('startup')
const redis = new Redis(SHARED_REDIS_URL)

beforeAll(async () => {
  database = await createAnalyticsDatabase('worker_startup')
})

afterAll(async () => {
  await deleteKeysUnder(redis, prefix)
  redis.disconnect()
  await database?.test.drop()
})

function env(overrides: Record<string, string>): Record<string, string> {
  return {
    DATABASE_URL: database.writerUrl,
    REDIS_URL: SHARED_REDIS_URL,
    WORKER_QUEUE_PREFIX: prefix,
    ...FAST_RECOVERY,
    ...overrides,
  }
}

/** The child's exit code and all it said, stdout and stderr. */
async function refusal(worker: WorkerProcess): Promise<{ code: number | null; said: string }> {
  const { code } = await Promise.race([
    worker.exited,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`the worker did not exit:\n${worker.tail()}`)), 60_000),
    ),
  ])
  return { code, said: `${worker.logs.map((l) => l.msg).join('\n')}\n${worker.stderr}` }
}

/** A logger whose lines the test reads. */
function capturingLogger() {
  const lines: { msg: string }[] = []
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  return { logger, lines }
}

describe('the worker refuses to start', () => {
  it('when Redis may evict keys (maxmemory-policy allkeys-lru): clear message, exit 1 (Q11)', async () => {
    const lru = await OwnRedis.start(['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'])
    try {
      const { code, said } = await refusal(new WorkerProcess(env({ REDIS_URL: lru.url })))
      expect(code).toBe(1)
      expect(said).toMatch(/maxmemory-policy allkeys-lru/)
      expect(said).toMatch(/CONFIG SET maxmemory-policy noeviction/)
    } finally {
      await lru.stop()
    }
  })

  it('as a superuser: exit 1, naming the role and the fix (R4)', async () => {
    const { code, said } = await refusal(
      new WorkerProcess(env({ DATABASE_URL: database.test.url() })),
    )
    expect(code).toBe(1)
    expect(said).toMatch(/database role "postgres" is a superuser/)
    expect(said).toMatch(/Connect as pm_writer/)
  })

  it('as a role with BYPASSRLS, naming the role and the fix', async () => {
    const role = `pm_test_bypass_${randomBytes(4).toString('hex')}`
    await sql
      .raw(`create role ${role} login bypassrls in role ${ROLES.writer}`)
      .execute(database.su)
    try {
      const url = new URL(database.writerUrl)
      url.username = role
      const config = readWorkerConfig(env({ DATABASE_URL: url.toString(), LOG_LEVEL: 'silent' }))
      const started = startWorker(config, { health: false })
      await expect(started).rejects.toThrow(StartupRefusal)
      await expect(started).rejects.toThrow(
        new RegExp(`database role "${role}" has BYPASSRLS.*Connect as pm_writer`),
      )
    } finally {
      await sql.raw(`drop role ${role}`).execute(database.su)
    }
  })

  it('with an invalid configuration, listing every problem at once', () => {
    let error: unknown
    try {
      readWorkerConfig({
        DATABASE_URL: 'mysql://nope',
        WORKER_CONCURRENCY: 'many',
        WORKER_QUEUE_PREFIX: 'no-hash-tag',
        LOG_LEVEL: 'loud',
      })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(EnvError)
    expect((error as EnvError).problems).toEqual([
      'DATABASE_URL must be a postgres:// URL',
      'REDIS_URL is required: the Redis the BullMQ queues live in (e.g. redis://127.0.0.1:6379)',
      'WORKER_QUEUE_PREFIX must contain one {hash tag}, e.g. {pm}, so that all keys of a queue land in one Redis Cluster slot',
      'WORKER_CONCURRENCY must be a whole number',
      'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent',
    ])
    expect(() =>
      readWorkerConfig({
        REDIS_URL: SHARED_REDIS_URL,
        WORKER_LOCK_DURATION_MS: '2000',
        WORKER_STALLED_INTERVAL_MS: '5000',
      }),
    ).toThrow(/must not exceed WORKER_LOCK_DURATION_MS/)
  })
})

describe('Redis down at startup (Q10)', () => {
  const RUNS = 5
  it(`waits for Redis, then starts consuming within 30 s of it coming up, ${RUNS} times`, {
    timeout: 300_000,
  }, async () => {
    const consuming: number[] = []
    for (let run = 0; run < RUNS; run++) {
      const port = await freePort()
      const { logger, lines } = capturingLogger()
      const config = readWorkerConfig(env({ REDIS_URL: `redis://127.0.0.1:${port}` }))
      const starting = startWorker(config, { logger, health: false })
      let own: OwnRedis | undefined
      try {
        await waitFor(
          `run ${run + 1}: "waiting for Redis"`,
          () => lines.some((l) => l.msg === 'waiting for Redis'),
          10_000,
        )
        await sql`update emails set opened_at = case when opened_at is null then sent_at end
                   where tenant_id = 't-ny' and id = (
                     select min(id) from emails where tenant_id = 't-ny' and sent_at is not null)`.execute(
          database.su,
        )
        expect(await dirtyKeyCount(database.su)).toBeGreaterThan(0)
        own = await OwnRedis.startOn(port)
        consuming.push(
          await waitFor(
            `run ${run + 1}: the dirty keys drained`,
            async () => (await dirtyKeyCount(database.su)) === 0,
            30_000,
          ),
        )
        const worker = await starting
        expect(lines.some((l) => l.msg === 'worker started')).toBe(true)
        expect(await driftFromContract(database.su), `run ${run + 1}`).toEqual({})
        expect(await worker.stop(10_000)).toBe(true)
      } finally {
        await own?.stop()
      }
    }
    console.info(
      `startup: consuming ${consuming.map((ms) => Math.round(ms)).join(', ')} ms after Redis came up`,
    )
    expect(consuming).toHaveLength(RUNS)
  })
})
