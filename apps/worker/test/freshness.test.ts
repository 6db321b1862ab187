import { Redis } from 'ioredis'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readWorkerConfig } from '../src/env.js'
import { type RunningWorker, startWorker } from '../src/worker.js'
import { readAnalytics } from './support/aggregator-support.js'
import {
  type AnalyticsDatabase,
  createAnalyticsDatabase,
  dirtyKeyCount,
  driftFromContract,
  waitFor,
} from './support/analytics-database.js'
import { SHARED_REDIS_URL, uniquePrefix } from './support/queue-prefix.js'
import { deleteKeysUnder, valuesUnder } from './support/redis-keys.js'

// The worker in this process, on the shared Redis under a prefix of its own.

let database: AnalyticsDatabase
let worker: RunningWorker
const prefix = uniquePrefix('fresh')
const redis = new Redis(SHARED_REDIS_URL)

beforeAll(async () => {
  database = await createAnalyticsDatabase('worker_fresh')
  const config = readWorkerConfig({
    DATABASE_URL: database.writerUrl,
    REDIS_URL: SHARED_REDIS_URL,
    WORKER_QUEUE_PREFIX: prefix,
    WORKER_HEALTH_HOST: '127.0.0.1',
    WORKER_HEALTH_PORT: '0',
    LOG_LEVEL: 'warn',
  })
  worker = await startWorker(config)
})

afterAll(async () => {
  expect(await worker?.stop(10_000)).toBe(true)
  await deleteKeysUnder(redis, prefix)
  redis.disconnect()
  await database?.test.drop()
})

async function exactAndClean(): Promise<boolean> {
  return (
    (await dirtyKeyCount(database.su)) === 0 &&
    Object.keys(await driftFromContract(database.su)).length === 0
  )
}

describe('the worker keeps analytics fresh', () => {
  it('an email update shows in every affected table within 5 seconds', async () => {
    const updates = [
      `opened_at = sent_at + interval '1 hour'`,
      `replied_at = sent_at + interval '1 day', status = 'delivered'`,
      `bounce_type = 'hard', status = 'bounced'`,
      `sent_at = sent_at + interval '1 day'`,
      `complaint_at = sent_at + interval '2 hours'`,
    ]
    const latencies: number[] = []
    for (const [i, change] of updates.entries()) {
      const { rows } = await sql<{ id: string; tenant_id: string }>`
        select id::text, tenant_id from emails
         where sent_at is not null and not is_warmup and tenant_id = ${['t-utc', 't-ny', 't-ist'][i % 3]}
         order by id offset ${i * 7} limit 1`.execute(database.su)
      const email = rows[0]
      if (!email) throw new Error('the fixture has no campaign email to update')
      expect(await exactAndClean()).toBe(true)
      const before = await readAnalytics(database.su)
      await sql
        .raw(
          `update emails set ${change}, updated_at = now() where tenant_id = '${email.tenant_id}' and id = ${email.id}`,
        )
        .execute(database.su)
      // the drain deletes a dirty key in the transaction that recomputed it: the moment none is
      // left is the moment the change is visible (polling that is cheap; the contract is not,
      // and it would hold up the worker, which shares this process)
      latencies.push(
        await waitFor(
          'the update drained',
          async () => (await dirtyKeyCount(database.su)) === 0,
          5_000,
        ),
      )
      expect(await driftFromContract(database.su), change).toEqual({})
      expect(await readAnalytics(database.su), change).not.toEqual(before)
    }
    console.info(
      `freshness: change → exact tables in ${latencies.map((l) => Math.round(l)).join(', ')} ms`,
    )
    expect(Math.max(...latencies)).toBeLessThan(5_000)
  })

  it('its health endpoint reports progress: recent sweeps, no old dirty key', async () => {
    const res = await fetch(`http://127.0.0.1:${worker.healthPort}/healthz`)
    const report = (await res.json()) as Record<string, unknown>
    expect(res.status, JSON.stringify(report)).toBe(200)
    expect(report.status).toBe('ok')
    expect(report.redis).toBe('ready')
    expect(report.lastSweepAgeMs).toBeLessThan(3_000)
    expect(report.completedJobs).toBeGreaterThan(0)
    expect((await fetch(`http://127.0.0.1:${worker.healthPort}/livez`)).status).toBe(200)
    expect((await fetch(`http://127.0.0.1:${worker.healthPort}/nope`)).status).toBe(404)
  })

  it('bounds what it keeps in Redis: event streams capped, completed jobs counted out', async () => {
    for (const queue of ['scheduled', 'drain', 'aggregate']) {
      expect(await redis.hget(`${prefix}:${queue}:meta`, 'opts.maxLenEvents'), queue).toBe('10000')
    }
    const completed = await worker.queues.scheduled.getJobs(['completed'], 0, 0)
    expect(completed[0]?.opts.removeOnComplete).toEqual({ count: 1_000 })
    expect(completed[0]?.opts.removeOnFail).toEqual({ count: 5_000 })
  })

  it('leaves no personal data in Redis: no email address in any key or job (Q12)', async () => {
    const values = await valuesUnder(redis, prefix)
    expect(values.size).toBeGreaterThan(10)
    const { rows } = await sql<{ address: string }>`
      select address from email_accounts union all select email from leads`.execute(database.su)
    expect(rows.length).toBeGreaterThan(0)
    const hits: string[] = []
    for (const [key, value] of values) {
      if (/[\w.+-]+@[\w-]+\.[\w.-]+/.test(value)) hits.push(`${key}: looks like an address`)
      for (const { address } of rows) if (value.includes(address)) hits.push(`${key}: ${address}`)
    }
    expect(hits).toEqual([])
  })
})
