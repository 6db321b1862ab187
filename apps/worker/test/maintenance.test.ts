import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { type Job, Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EnvError, readWorkerConfig } from '../src/env.js'
import {
  MAINTENANCE_JOB,
  MAINTENANCE_PATTERNS,
  MAINTENANCE_QUEUE,
  type MaintenanceRun,
} from '../src/maintenance.js'
import { type RunningWorker, startWorker } from '../src/worker.js'
import { waitFor } from './support/analytics-database.js'
import { SHARED_REDIS_URL, uniquePrefix } from './support/queue-prefix.js'
import { deleteKeysUnder } from './support/redis-keys.js'

// The maintenance runner scheduled from the worker: schedulers on a queue of their own, jobs that
// run the maintenance command line (built: apps/maintenance/dist) as pm_writer.

let database: TestDatabase
// biome-ignore lint/suspicious/noExplicitAny: checks by raw SQL
let su: Kysely<any>
const prefix = uniquePrefix('maintenance')
const redis = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null })
const queue = new Queue(MAINTENANCE_QUEUE, { connection: redis, prefix })
const running: RunningWorker[] = []

beforeAll(async () => {
  database = await createTestDatabase({ label: 'worker_maintenance' })
  su = database.connect().db
})

afterAll(async () => {
  for (const worker of running) await worker.stop(30_000)
  await queue.close()
  await deleteKeysUnder(redis, prefix)
  redis.disconnect()
  await database?.drop()
})

const env = (overrides: Record<string, string> = {}) => ({
  DATABASE_URL: database.url(ROLES.writer),
  REDIS_URL: SHARED_REDIS_URL,
  WORKER_QUEUE_PREFIX: prefix,
  WORKER_REPAIR_INTERVAL_MS: '3600000',
  LOG_LEVEL: 'silent',
  ...overrides,
})

async function start(overrides: Record<string, string> = {}): Promise<RunningWorker> {
  const worker = await startWorker(readWorkerConfig(env(overrides)), { health: false })
  running.push(worker)
  return worker
}

async function stop(worker: RunningWorker): Promise<void> {
  expect(await worker.stop(30_000)).toBe(true)
  running.splice(running.indexOf(worker), 1)
}

async function schedulers() {
  const list = await queue.getJobSchedulers()
  return list
    .map((s) => ({ key: s.key, pattern: s.pattern, tz: s.tz }))
    .sort((a, b) => a.key.localeCompare(b.key))
}

/** Waits for the job to complete or fail; returns its state, result and reason. */
async function settled(job: Job) {
  let state = ''
  await waitFor(
    `maintenance job ${job.id}`,
    async () => {
      state = await queue.getJobState(job.id as string)
      return state === 'completed' || state === 'failed'
    },
    90_000,
    200,
  )
  const done = (await queue.getJob(job.id as string)) as Job
  return {
    state,
    result: done.returnvalue as MaintenanceRun | null,
    reason: done.failedReason,
  }
}

describe('WORKER_MAINTENANCE', () => {
  it('schedules partitions by default, takes a list or none, and refuses an unknown command', () => {
    expect(readWorkerConfig(env()).maintenanceCommands).toEqual(['partitions'])
    expect(
      readWorkerConfig(env({ WORKER_MAINTENANCE: 'partitions, analyze,verify' }))
        .maintenanceCommands,
    ).toEqual(['partitions', 'analyze', 'verify'])
    expect(readWorkerConfig(env({ WORKER_MAINTENANCE: 'none' })).maintenanceCommands).toEqual([])
    for (const bad of ['vacuum', 'anonymize', 'partitions,,analyze']) {
      expect(() => readWorkerConfig(env({ WORKER_MAINTENANCE: bad }))).toThrow(EnvError)
    }
    expect(() => readWorkerConfig(env({ WORKER_MAINTENANCE: 'anonymize' }))).toThrow(
      /WORKER_MAINTENANCE must be "none" or a comma-separated list of partitions, analyze, refresh, archive, verify/,
    )
  })
})

describe('maintenance scheduled from the worker', () => {
  it('upserts one scheduler per chosen command on the maintenance queue, and removes the others', async () => {
    const first = await start()
    expect(await schedulers()).toEqual([
      { key: 'maintenance-partitions', pattern: MAINTENANCE_PATTERNS.partitions, tz: 'UTC' },
    ])
    // a nightly run is waiting for its time, on the maintenance queue
    expect(await queue.getJobCounts('delayed')).toEqual({ delayed: 1 })
    await stop(first)
    const second = await start({ WORKER_MAINTENANCE: 'analyze,verify' })
    expect((await schedulers()).map((s) => s.key)).toEqual([
      'maintenance-analyze',
      'maintenance-verify',
    ])
    await stop(second)
    const none = await start({ WORKER_MAINTENANCE: 'none' })
    expect(await schedulers()).toEqual([])
    await stop(none)
  })

  it('puts back a maintenance scheduler that Redis lost, with the others (the repair loop)', async () => {
    await start({ WORKER_REPAIR_INTERVAL_MS: '500' })
    await queue.removeJobScheduler('maintenance-partitions')
    await waitFor(
      'the maintenance scheduler recreated',
      async () => (await schedulers()).length === 1,
      30_000,
      100,
    )
    expect(await schedulers()).toEqual([
      { key: 'maintenance-partitions', pattern: MAINTENANCE_PATTERNS.partitions, tz: 'UTC' },
    ])
    await stop(running.at(-1) as RunningWorker)
  })

  it('a job runs the command through the maintenance runner: its report, its system event and audit entry', async () => {
    await start()
    const job = await queue.add(MAINTENANCE_JOB, { command: 'partitions' }, { attempts: 1 })
    const done = await settled(job)
    expect(done.state, done.reason).toBe('completed')
    expect(done.result).toMatchObject({
      command: 'partitions',
      exitCode: 0,
      message: 'partitions done',
      details: expect.objectContaining({ created: expect.any(Array) }),
    })
    const { rows: events } = await sql<{ metadata: Record<string, unknown> }>`
      select metadata from admin_system_events where event_type = 'maintenance'`.execute(su)
    expect(events.map((e) => e.metadata)).toEqual([
      expect.objectContaining({
        command: 'partitions',
        actor: 'system:worker',
        outcome: 'succeeded',
      }),
    ])
    const { rows: entries } = await sql<{ admin_id: string; action: string }>`
      select admin_id, action from admin_audit_log`.execute(su)
    expect(entries).toEqual([{ admin_id: 'system:worker', action: 'maintenance.partitions' }])
  })

  it('a failed command fails the job with the runner’s message', async () => {
    // a row in a default partition: partitions reports the table and exits 1
    await sql`insert into tenants (id, name) values ('dflt', 'D')`.execute(su)
    await sql`insert into campaign_analytics (tenant_id, company_id, campaign_id, day, billing_id, status)
              values ('dflt', 'co', 'cmp', '2070-01-05', 'dflt:2070-01', 'active')`.execute(su)
    const job = await queue.add(MAINTENANCE_JOB, { command: 'partitions' }, { attempts: 1 })
    const done = await settled(job)
    expect(done.state).toBe('failed')
    expect(done.reason).toMatch(/^maintenance partitions exited with 1: partitions found 1 problem/)
    expect(done.reason).toContain('campaign_analytics_default holds 1 row(s)')
    const bad = await queue.add(MAINTENANCE_JOB, { command: 'anonymize' }, { attempts: 3 })
    const refused = await settled(bad)
    expect(refused.state).toBe('failed')
    expect(refused.reason).toContain('not a maintenance job')
    // refused once, not retried
    expect((await queue.getJob(bad.id as string))?.attemptsMade).toBe(1)
  })
})
