import { sql } from 'kysely'
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

// Q4 on a redis-server of the test's own: FLUSHALL while a drain runs, then 100 source changes,
// 10 times. Jobs, locks, deduplication keys and job schedulers are all gone; the dirty keys are
// still in PostgreSQL and the worker's repair pass puts the schedulers back and rings again.

const RUNS = 10
const CHANGES = 100
const FRESHNESS_BOUND_MS = 30_000

let database: AnalyticsDatabase
let redis: OwnRedis
let worker: WorkerProcess

beforeAll(async () => {
  database = await createAnalyticsDatabase('worker_flushall')
  redis = await OwnRedis.start()
  worker = new WorkerProcess({
    DATABASE_URL: database.writerUrl,
    REDIS_URL: redis.url,
    ...FAST_RECOVERY,
  })
  await worker.started()
})

afterAll(async () => {
  if (worker?.running) worker.kill('SIGKILL')
  await redis?.stop()
  await database?.test.drop()
})

const drainStarted = (l: LogLine) => l.msg === 'job started' && l.job === 'drain'

async function flushAll(): Promise<void> {
  const client = redis.client()
  try {
    await client.flushall()
  } finally {
    client.disconnect()
  }
}

async function changeEmails(run: number): Promise<void> {
  const { rows } = await sql<{ id: string; tenant_id: string }>`
    select id::text, tenant_id from emails where sent_at is not null order by id`.execute(
    database.su,
  )
  for (let i = 0; i < CHANGES; i++) {
    const e = rows[(run * 7 + i * 13) % rows.length]
    if (!e) throw new Error('no email to change')
    const change = [
      `opened_at = coalesce(opened_at, sent_at + interval '1 hour')`,
      `clicked_at = sent_at + interval '3 hours'`,
      `replied_at = sent_at + interval '1 day'`,
      `sent_at = sent_at + interval '1 day'`,
    ][i % 4]
    await sql
      .raw(`update emails set ${change} where tenant_id = '${e.tenant_id}' and id = ${e.id}`)
      .execute(database.su)
  }
}

describe('FLUSHALL', () => {
  it(`mid-run, then ${CHANGES} source changes, ${RUNS} times: all reflected within ${FRESHNESS_BOUND_MS / 1000} s, schedulers recreated (Q4)`, {
    timeout: 300_000,
  }, async () => {
    const reflected: number[] = []
    for (let run = 0; run < RUNS; run++) {
      const from = worker.logs.length
      await applyMutations(database.su, 700 + run, run + 1)
      await worker.waitForLog(drainStarted, 20_000, from)
      await flushAll()
      await changeEmails(run)
      const ms = await waitFor(
        `run ${run + 1}: the ${CHANGES} changes drained`,
        async () => (await dirtyKeyCount(database.su)) === 0,
        FRESHNESS_BOUND_MS,
        100,
      )
      reflected.push(ms)
      expect(await driftFromContract(database.su), `run ${run + 1}`).toEqual({})
      await worker.waitForLog((l) => /job schedulers were missing/.test(l.msg), 10_000, from)
    }
    console.info(
      `flushall: ${RUNS} runs; ${CHANGES} changes reflected ${reflected.map((r) => Math.round(r)).join(', ')} ms after the last was written`,
    )
    expect(reflected).toHaveLength(RUNS)
    worker.kill('SIGTERM')
    expect((await worker.exited).code).toBe(0)
  })
})
