import { createHmac, randomBytes } from 'node:crypto'
import { recomputeAll } from '@penguinmails/aggregator'
import { createApp, createContext, readEnv as readApiEnv } from '@penguinmails/api'
import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { type Job, Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAnonymize } from '../src/anonymize.js'
import { addDays, utcDay } from '../src/calendar.js'
import type { MaintenanceContext } from '../src/context.js'
import { identifierMatcher } from '../src/redis-scrub.js'
import type { CommandReport } from '../src/report.js'
import { superuser } from './support/superuser.js'
import { type FixtureTenant, insertTenant } from './support/tenant-fixture.js'
import { onOneConnection, writerContext } from './support/writer-context.js'

// G1's Redis half: the worker keeps BullMQ jobs in Redis (completed and failed ones for inspection,
// waiting and delayed ones, their logs, deduplication keys and the queues' event streams), with
// tenant and campaign ids in them. After an erasure, no key name or value under the worker's
// prefix holds an erased identifier; the other tenant's jobs are untouched. The API's rate limiter
// counts each tenant's requests in Redis too, under its own prefix (REDIS_KEY_PREFIX), in keys
// named after the tenant: those are scrubbed as well.

const REDIS_URL = 'redis://127.0.0.1:6379'
// a prefix of this test's own on the shared Redis, with a hash tag like the worker's default
const PREFIX = `{pm-test-erasure-${randomBytes(4).toString('hex')}}`
const TODAY = utcDay(new Date())
// the API's key prefix (REDIS_KEY_PREFIX of apps/api), of this test's own
const API_PREFIX = `pm-test-erasure-api-${randomBytes(4).toString('hex')}:`
const JWT_SECRET = 'test-secret-of-at-least-thirty-two-characters'
// the worker's queue names and deduplication ids (apps/worker/src/queues.ts)
const QUEUES = ['drain', 'aggregate'] as const
const KEPT = { removeOnComplete: { count: 1_000 }, removeOnFail: { count: 5_000 } }

let database: TestDatabase
let su: pg.Client
let alpha: FixtureTenant
let beta: FixtureTenant
let redis: Redis
const queues: Record<string, Queue> = {}
const contexts: MaintenanceContext[] = []

const LEAD = 'lead-alpha-1-xyz'
const LEAD_EMAIL = 'person1@customer-alpha-xyz.example'
const LEAD_JOB_DEDUP = `daily:tenant-alpha-xyz:${addDays(TODAY, -2)}`

function context(options: { redis: boolean }): MaintenanceContext {
  const ctx = writerContext(database, {
    env: options.redis
      ? { REDIS_URL, WORKER_QUEUE_PREFIX: PREFIX, REDIS_KEY_PREFIX: API_PREFIX }
      : {},
  })
  contexts.push(ctx)
  return ctx
}

/** Every key under the worker's and the API's prefix (SCAN), with its whole value as text. */
async function everyValue(): Promise<Map<string, string>> {
  const keys: string[] = []
  for (const pattern of [`${PREFIX}:*`, `${API_PREFIX}*`]) {
    let cursor = '0'
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      keys.push(...batch)
    } while (cursor !== '0')
  }
  const out = new Map<string, string>()
  for (const key of keys.sort()) {
    const type = await redis.type(key)
    let value: unknown
    if (type === 'string') value = await redis.get(key)
    else if (type === 'hash') value = await redis.hgetall(key)
    else if (type === 'list') value = await redis.lrange(key, 0, -1)
    else if (type === 'set') value = await redis.smembers(key)
    else if (type === 'zset') value = await redis.zrange(key, '0', '-1', 'WITHSCORES')
    else if (type === 'stream') value = await redis.xrange(key, '-', '+')
    else value = `(${type})`
    out.set(key, JSON.stringify(value))
  }
  return out
}

/** Keys whose name or value contains one of the values (plain substring, as G1's database scan). */
async function redisHits(values: string[]): Promise<string[]> {
  const hits: string[] = []
  for (const [key, value] of await everyValue()) {
    if (values.some((v) => key.includes(v) || value.includes(v))) hits.push(key)
  }
  return hits
}

/** The jobs of a tenant as BullMQ shows them, in every state. */
async function jobsOf(tenantId: string) {
  const out: unknown[] = []
  for (const name of QUEUES) {
    const jobs = await (queues[name] as Queue).getJobs([
      'completed',
      'failed',
      'waiting',
      'delayed',
    ])
    for (const job of jobs) {
      if (!job) throw new Error(`${name}: a job id without its job (the queue is inconsistent)`)
      if (job.data.tenantId !== tenantId) continue
      out.push({
        queue: name,
        id: job.id,
        name: job.name,
        data: job.data,
        returnvalue: job.returnvalue,
        failedReason: job.failedReason,
        logs: (await (queues[name] as Queue).getJobLogs(job.id as string)).logs,
        state: await job.getState(),
      })
    }
  }
  return out.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
}

async function runJobs(expected: number): Promise<void> {
  const workers = QUEUES.map(
    (name) =>
      new Worker(
        name,
        async (job: Job) => {
          await job.log(`${job.name} of ${job.data.tenantId}`)
          if (job.name === 'campaign-aggregate')
            throw new Error(`campaign ${job.data.campaignId} of ${job.data.tenantId}: no data`)
          if (job.name === 'daily-aggregate' && job.data.day === TODAY)
            throw new Error(`lead ${LEAD_EMAIL} (${LEAD}) points to a deleted campaign`)
          return { tenantId: job.data.tenantId, drained: 3 }
        },
        { connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }), prefix: PREFIX },
      ),
  )
  const settled = async () => {
    let n = 0
    for (const name of QUEUES) {
      const c = await (queues[name] as Queue).getJobCounts('completed', 'failed')
      n += (c.completed ?? 0) + (c.failed ?? 0)
    }
    return n
  }
  for (let i = 0; i < 500 && (await settled()) < expected; i++)
    await new Promise((resolve) => setTimeout(resolve, 20))
  for (const w of workers) await w.close()
  expect(await settled()).toBe(expected)
}

/** An HS256 bearer token as the API accepts it (sub, tenant_id, role, exp). */
function token(tenantId: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({
    sub: `user-of-${tenantId}`,
    tenant_id: tenantId,
    role: 'member',
    exp: Math.floor(Date.now() / 1000) + 3600,
  })}`
  return `${unsigned}.${createHmac('sha256', JWT_SECRET).update(unsigned).digest('base64url')}`
}

/** The API's keys (its rate limiter's counters), name → value. */
async function apiKeys(): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {}
  for (const key of (await everyValue()).keys())
    if (key.startsWith(API_PREFIX)) out[key] = await redis.get(key)
  return out
}

const anonymize = (
  ctx: MaintenanceContext,
  args: { tenantId: string; leadId?: string },
  dryRun = false,
) => onOneConnection(ctx, (run) => runAnonymize(run, { ...args, replay: false }), { dryRun })

let leadRun: CommandReport

beforeAll(async () => {
  database = await createTestDatabase({ label: 'maint_erasure_redis' })
  su = await superuser(database)
  const from = addDays(TODAY, -20)
  alpha = await insertTenant(su, { name: 'alpha', emailIdBase: 1_000_000, from, to: TODAY })
  beta = await insertTenant(su, { name: 'beta', emailIdBase: 2_000_000, from, to: TODAY })
  await recomputeAll(context({ redis: false }).database.db)
  redis = new Redis(REDIS_URL)
  for (const name of QUEUES) {
    queues[name] = new Queue(name, {
      connection: redis,
      prefix: PREFIX,
      defaultJobOptions: { attempts: 1, ...KEPT },
      streams: { events: { maxLen: 10_000 } },
    })
  }
  const drain = queues.drain as Queue
  const aggregate = queues.aggregate as Queue
  // jobs the worker ran: completed (with logs and a return value) and failed, for both tenants
  for (const t of [alpha.id, beta.id]) {
    await drain.add('drain', { tenantId: t }, { deduplication: { id: `drain:${t}` } })
    await aggregate.add(
      'campaign-aggregate',
      { tenantId: t, campaignId: t.replace('tenant-', 'cmp-') },
      { deduplication: { id: `campaign:${t}:all` } },
    )
    await aggregate.add('daily-aggregate', { tenantId: t, day: addDays(TODAY, -1) })
  }
  // alpha's failure whose message names a lead
  await aggregate.add('daily-aggregate', { tenantId: alpha.id, day: TODAY })
  await runJobs(7)
  // jobs still to run: waiting (with deduplication keys) and delayed
  for (const t of [alpha.id, beta.id]) {
    await drain.add('drain', { tenantId: t }, { deduplication: { id: `drain:${t}` } })
    await aggregate.add(
      'billing-calculate',
      { tenantId: t, month: `${TODAY.slice(0, 7)}-01` },
      { delay: 3_600_000, deduplication: { id: `billing:${t}:${TODAY.slice(0, 7)}` } },
    )
  }
  // a waiting job whose data names the lead, deduplicated under an id that does not
  await aggregate.add(
    'daily-aggregate',
    { tenantId: alpha.id, day: addDays(TODAY, -2), lead: LEAD },
    { deduplication: { id: LEAD_JOB_DEDUP } },
  )
  expect(await redis.exists(`${PREFIX}:aggregate:de:${LEAD_JOB_DEDUP}`)).toBe(1)
  expect(await redisHits([LEAD_EMAIL])).not.toEqual([])
  // requests to the API, as deployed with REDIS_URL: its rate limiter counts them per tenant in
  // Redis (an hour's window: the keys outlive the test)
  const api = createContext(
    readApiEnv({
      DATABASE_URL: database.url(ROLES.admin),
      JWT_SECRET,
      REDIS_URL,
      REDIS_KEY_PREFIX: API_PREFIX,
      RATE_LIMIT_WINDOW_SECONDS: '3600',
      LOG_LEVEL: 'silent',
    }),
  )
  try {
    const app = createApp(api)
    for (const [t, n] of [
      [alpha.id, 3],
      [beta.id, 2],
    ] as const) {
      for (let i = 0; i < n; i++) {
        const response = await app.request(`/v1/usage?from=${addDays(TODAY, -20)}&to=${TODAY}`, {
          headers: { authorization: `Bearer ${token(t)}` },
        })
        expect(response.status, await response.text()).toBe(200)
        expect(response.headers.get('ratelimit-remaining')).toBe(String(600 - 1 - i))
      }
    }
  } finally {
    await api.close()
  }
  leadRun = await anonymize(context({ redis: true }), { tenantId: alpha.id, leadId: LEAD })
}, 120_000)

afterAll(async () => {
  for (const q of Object.values(queues)) await q.obliterate({ force: true }).catch(() => undefined)
  for (const q of Object.values(queues)) await q.close()
  const counters = redis ? Object.keys(await apiKeys()) : []
  if (counters.length > 0) await redis.del(...counters)
  redis?.disconnect()
  for (const ctx of contexts) await ctx.close()
  await su?.end()
  await database?.drop()
})

describe('anonymize with REDIS_URL: the worker’s jobs in Redis', () => {
  it('matches identifiers as whole tokens: erasing t1 leaves t10 alone', () => {
    const matches = identifierMatcher(['t1', 'a@b.example'])
    expect(matches('{"tenantId":"t1"}')).toBe(true)
    expect(matches('{pm}:drain:de:drain:t1')).toBe(true)
    expect(matches('billing:t1:2024-01')).toBe(true)
    expect(matches('lead a@b.example bounced')).toBe(true)
    expect(matches('{"tenantId":"t10"}')).toBe(false)
    expect(matches('xt1')).toBe(false)
    expect(matches('ca@b.example')).toBe(false)
    expect(identifierMatcher([])('anything')).toBe(false)
  })

  it('G1 for a lead: the failed job naming the lead is gone, the tenant’s other jobs stay', async () => {
    expect(leadRun.problems).toEqual([])
    expect(leadRun.details.redis).toMatchObject({
      scrubbed: true,
      jobsRemoved: 2,
      activeJobs: 0,
    })
    // the waiting job's deduplication key went with it: the same job can be asked for again
    expect(await redis.exists(`${PREFIX}:aggregate:de:${LEAD_JOB_DEDUP}`)).toBe(0)
    expect(leadRun.lines.join('\n')).toMatch(
      /redis \{pm-test-erasure-[0-9a-f]+\}:\* and pm-test-erasure-api-[0-9a-f]+:\*: \d+ key\(s\) scanned; removed 2 job/,
    )
    expect(await redisHits([LEAD, LEAD_EMAIL])).toEqual([])
    expect(await jobsOf(alpha.id)).toHaveLength(5)
    expect(JSON.stringify(leadRun)).not.toContain(LEAD_EMAIL)
    // the API's counters name tenants only (no lead): the tenant's counter stays
    expect(Object.values(await apiKeys()).sort()).toEqual(['2', '3'])
  })

  it('the API’s rate limiter keeps one counter per tenant, named after the tenant id and nothing else', async () => {
    const counters = Object.entries(await apiKeys()).map(([key, count]) => {
      const [kind, tenant, slot, ...rest] = key.slice(`${API_PREFIX}ratelimit:`.length).split(':')
      return { kind, tenant, slot: /^\d+$/.test(slot ?? '') ? 'a number' : slot, rest, count }
    })
    expect(counters.sort((a, b) => String(a.tenant).localeCompare(String(b.tenant)))).toEqual([
      { kind: 'tenant', tenant: alpha.id, slot: 'a number', rest: [], count: '3' },
      { kind: 'tenant', tenant: beta.id, slot: 'a number', rest: [], count: '2' },
    ])
  })

  it('G1 for a tenant: no key name or value under the prefix holds any identifier of the tenant; the other tenant’s jobs are untouched', async () => {
    const identifiers = [...alpha.ids, ...alpha.emails]
    const betaJobs = await jobsOf(beta.id)
    expect(betaJobs).toHaveLength(5)
    expect((await redisHits([alpha.id])).length).toBeGreaterThan(5)
    // a dry run counts and removes nothing
    const before = await everyValue()
    const dry = await anonymize(context({ redis: true }), { tenantId: alpha.id }, true)
    expect(dry.details.redis).toMatchObject({ scrubbed: false, jobsRemoved: 5 })
    expect(await everyValue()).toEqual(before)

    const run = await anonymize(context({ redis: true }), { tenantId: alpha.id })
    expect(run.problems).toEqual([])
    expect(run.details.redis).toMatchObject({ scrubbed: true, jobsRemoved: 5, activeJobs: 0 })
    expect((run.details.redis as { valuesRemoved: number }).valuesRemoved).toBeGreaterThan(0)
    console.info(
      `G1 Redis: tenant erasure scrubbed ${JSON.stringify(run.details.redis)}; the lead erasure before it ${JSON.stringify(leadRun.details.redis)}`,
    )
    expect(await redisHits(identifiers)).toEqual([])
    expect(await jobsOf(alpha.id)).toEqual([])
    // the API's counter of the tenant is gone; the other tenant's counts on
    const counters = await apiKeys()
    expect(Object.values(counters)).toEqual(['2'])
    expect(Object.keys(counters)[0]).toContain(`ratelimit:tenant:${beta.id}:`)
    // the other tenant: every job as it was, its deduplication keys still there
    expect(await jobsOf(beta.id)).toEqual(betaJobs)
    expect((await redisHits([beta.id])).filter((k) => k.includes(':de:'))).toHaveLength(2)
    // BullMQ still works on the scrubbed queues
    const job = await (queues.drain as Queue).add('drain', { tenantId: beta.id })
    expect(await job.getState()).toBe('waiting')

    // a second run: nothing left in the database, Redis scanned again and clean
    const again = await anonymize(context({ redis: true }), { tenantId: alpha.id })
    expect(again.details.redis).toMatchObject({ jobsRemoved: 0, keysDeleted: 0, valuesRemoved: 0 })
  })

  it('leaves a job the worker is running alone, says so (exit 1), and the next run removes it', async () => {
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const worker = new Worker(
      'drain',
      async (job: Job) => {
        if (job.data.tenantId === alpha.id) await gate
        return { tenantId: job.data.tenantId }
      },
      { connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }), prefix: PREFIX },
    )
    try {
      const job = await (queues.drain as Queue).add('drain', { tenantId: alpha.id })
      for (let i = 0; i < 250 && (await job.getState()) !== 'active'; i++)
        await new Promise((resolve) => setTimeout(resolve, 20))
      expect(await job.getState()).toBe('active')
      const during = await anonymize(context({ redis: true }), { tenantId: alpha.id })
      expect(during.details.redis).toMatchObject({ activeJobs: 1, jobsRemoved: 0 })
      expect(during.problems).toEqual([
        expect.stringMatching(
          /1 job\(s\) holding an erased identifier are running in the worker now/,
        ),
      ])
      release()
      for (let i = 0; i < 250 && (await job.getState()) !== 'completed'; i++)
        await new Promise((resolve) => setTimeout(resolve, 20))
      // its worker finished it normally, and recorded it, with the id in it
      expect(await job.getState()).toBe('completed')
      expect(await redisHits([alpha.id])).not.toEqual([])
    } finally {
      release()
      await worker.close()
    }
    const after = await anonymize(context({ redis: true }), { tenantId: alpha.id })
    expect(after.problems).toEqual([])
    expect(after.details.redis).toMatchObject({ activeJobs: 0, jobsRemoved: 1 })
    expect(await redisHits([...alpha.ids, ...alpha.emails])).toEqual([])
  })

  it('says so, and fails, when Redis cannot be reached after the erasure', async () => {
    const ctx = writerContext(database, {
      env: { REDIS_URL: 'redis://127.0.0.1:1', WORKER_QUEUE_PREFIX: PREFIX },
    })
    contexts.push(ctx)
    const report = await anonymize(ctx, { tenantId: alpha.id })
    expect(report.problems).toEqual([
      expect.stringMatching(/cannot connect to REDIS_URL .* run the same anonymize command again/),
    ])
  })
})
