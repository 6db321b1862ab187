import { recomputeTenantDay } from '@penguinmails/aggregator'
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import pg from 'pg'
import { type Logger, pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readWorkerConfig } from '../src/env.js'
import { dailyAggregateJob, requestAggregates, requestDrain } from '../src/queues.js'
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
import { deleteKeysUnder } from './support/redis-keys.js'

// Q2: forced lock loss, as in BullMQ's own tests: a lock of 1 s renewed only every 3 s, so a
// running job's lock expires, a stalled check puts it back and a worker (the second one, or
// the first again) starts it a second time while the first run is still going. The first run is
// held inside its write (the test locks the tenant's analytics rows), so it has read the source
// before the test writes to it again; the second run must wait for the first (the aggregator's
// per-tenant lock) and then read the newer source. Alternately a drain and the seed's daily
// aggregate. No job scheduler and no repair pass: only the test enqueues.

const RUNS = 20
const TABLES = [
  'campaign_analytics',
  'sequence_step_analytics',
  'mailbox_analytics',
  'warmup_analytics',
  'lead_analytics',
  'billing_analytics',
]

let database: AnalyticsDatabase
const prefix = uniquePrefix('lockloss')
const redis = new Redis(SHARED_REDIS_URL)
const workers: { worker: RunningWorker; lines: LogLine[] }[] = []

interface LogLine {
  msg: string
  jobId?: string
  err?: string
  code?: string
  [field: string]: unknown
}

function capturingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = []
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  return { logger, lines }
}

beforeAll(async () => {
  database = await createAnalyticsDatabase('worker_lockloss')
  const config = readWorkerConfig({
    DATABASE_URL: database.writerUrl,
    REDIS_URL: SHARED_REDIS_URL,
    WORKER_QUEUE_PREFIX: prefix,
    WORKER_LOCK_DURATION_MS: '1000',
    WORKER_STALLED_INTERVAL_MS: '500',
    WORKER_REPAIR_INTERVAL_MS: '3600000',
  })
  for (let i = 0; i < 2; i++) {
    const { logger, lines } = capturingLogger()
    const worker = await startWorker(config, {
      logger,
      schedulers: false,
      health: false,
      lockRenewTimeMs: 3_000,
    })
    workers.push({ worker, lines })
  }
})

afterAll(async () => {
  for (const { worker } of workers) await worker.stop(10_000)
  await deleteKeysUnder(redis, prefix)
  redis.disconnect()
  await database?.test.drop()
})

const allLines = () => workers.flatMap((w) => w.lines)

/** Locks every analytics row of the tenant, as a long write would: recomputes block inside. */
async function lockAnalyticsRows(tenantId: string): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: database.test.url() })
  await client.connect()
  await client.query('begin')
  for (const table of TABLES)
    await client.query(`select 1 from ${table} where tenant_id = $1 for update`, [tenantId])
  return async () => {
    await client.query('rollback')
    await client.end()
  }
}

/** A campaign email of the tenant (the n-th), with its tenant-local day. */
async function campaignEmail(tenantId: string, n: number) {
  const { rows } = await sql<{ id: string; day: string }>`
    select e.id::text, (e.sent_at at time zone t.time_zone)::date::text as day
      from emails e join tenants t on t.id = e.tenant_id
     where e.tenant_id = ${tenantId} and e.sent_at is not null and not e.is_warmup
     order by e.id offset ${n} limit 1`.execute(database.su)
  const email = rows[0]
  if (!email) throw new Error(`${tenantId} has no campaign email`)
  return email
}

/** A change to the email's events that every per-day and per-lead table sees. */
async function touch(tenantId: string, id: string, round: number): Promise<void> {
  await sql`update emails
               set opened_at = case when opened_at is null then sent_at + interval '1 hour' end,
                   clicked_at = case when ${round % 2 === 0} then sent_at + interval '2 hours' end,
                   replied_at = case when ${round % 3 === 0} then sent_at + interval '1 day' end,
                   updated_at = now()
             where tenant_id = ${tenantId} and id = ${id}`.execute(database.su)
}

/** Backends of the workers waiting for a lock: a run held in its write, or one waiting its turn. */
async function waitingForLocks(): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from pg_stat_activity
     where datname = current_database() and application_name = 'penguinmails-worker'
       and wait_event_type = 'Lock'`.execute(database.su)
  return rows[0]?.n ?? 0
}

async function quiet(): Promise<boolean> {
  if (workers.some(({ worker }) => worker.progress.activeJobs > 0)) return false
  const queues = workers[0]?.worker.queues
  if (!queues) return false
  for (const queue of [queues.drain, queues.aggregate]) {
    const c = await queue.getJobCounts('active', 'wait', 'delayed', 'prioritized')
    if (Object.values(c).some((n) => n > 0)) return false
  }
  return true
}

describe('forced lock loss (lockDuration 1000, lockRenewTime 3000) with two workers', () => {
  it(`the same recompute runs twice at once, with source writes between, ${RUNS} times: final tables = recompute (Q2)`, {
    timeout: 300_000,
  }, async () => {
    const queues = workers[0]?.worker.queues
    if (!queues) throw new Error('no worker')
    const tenants = ['t-utc', 't-ny', 't-ist']
    let overlapped = 0
    let exact = 0
    const started = performance.now()
    for (let run = 0; run < RUNS; run++) {
      const tenantId = tenants[run % tenants.length] as string
      const kind = run % 2 === 0 ? 'drain' : 'daily-aggregate'
      const email = await campaignEmail(tenantId, run)
      const other = await campaignEmail(tenantId, run + 5)
      const from = workers.map((w) => w.lines.length)
      // a change the first run reads…
      await touch(tenantId, email.id, run)
      const release = await lockAnalyticsRows(tenantId)
      let jobId: string | undefined
      try {
        const job =
          kind === 'drain'
            ? await requestDrain(queues, tenantId)
            : (
                await requestAggregates(queues, [dailyAggregateJob({ tenantId, day: email.day })])
              )[0]
        jobId = job?.id
        const starts = () =>
          workers.flatMap((w, i) =>
            w.lines.slice(from[i]).filter((l) => l.msg === 'job started' && l.jobId === jobId),
          ).length
        await waitFor(
          `run ${run + 1}: job ${jobId} running twice at once`,
          () => starts() >= 2,
          20_000,
        )
        // the first run is held in its write; a second daily run is in its statements too (a
        // drain that finds the tenant busy polls instead of waiting)
        const held = kind === 'drain' ? 1 : 2
        await waitFor(
          `run ${run + 1}: ${held} run(s) inside the database`,
          async () => (await waitingForLocks()) >= held,
          20_000,
        )
        overlapped += 1
        // …and changes it cannot have read, written while both runs are active
        await touch(tenantId, email.id, run + 1)
        await touch(tenantId, other.id, run + 1)
      } finally {
        await release()
      }
      await waitFor(`run ${run + 1}: every run of job ${jobId} ended`, quiet, 30_000)
      if (kind === 'daily-aggregate') {
        // nothing drained the writes above: the tables are what the job's runs left
        const left = await readAnalytics(database.su)
        await recomputeTenantDay(database.writer.db, { tenantId, day: email.day })
        expect(await readAnalytics(database.su), `run ${run + 1} (${kind})`).toEqual(left)
        await requestDrain(queues, tenantId)
      }
      await waitFor(
        `run ${run + 1}: no dirty key`,
        async () => (await dirtyKeyCount(database.su)) === 0 && (await quiet()),
        30_000,
      )
      expect(await driftFromContract(database.su), `run ${run + 1} (${kind})`).toEqual({})
      exact += 1
    }
    const lines = allLines()
    const violations = lines.filter(
      (l) => l.code === '23505' || /duplicate key|unique constraint/i.test(String(l.err ?? '')),
    )
    const stalls = lines.filter((l) => /stalled/.test(l.msg)).length
    console.info(
      `lock loss: ${overlapped}/${RUNS} runs overlapped, ${exact}/${RUNS} exact, ${violations.length} unique violations, ${stalls} stalled events, ${Math.round((performance.now() - started) / 1000)} s`,
    )
    expect(violations).toEqual([])
    expect(overlapped).toBe(RUNS)
    expect(exact).toBe(RUNS)
  })
})
