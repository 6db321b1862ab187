import { sql } from 'kysely'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { requestDrain } from '../src/queues.js'
import { dirtyKeyCount, driftFromContract, waitFor } from './support/analytics-database.js'
import { workerForTestFile } from './support/worker-under-test.js'

// Q5 and Q6: doorbells for a tenant whose drain is active are kept once, never dropped and never
// run in parallel. No job scheduler here (the sweep would ring too): only the test rings.

const under = workerForTestFile('dedup', 'warn')

/** Every drain job of the tenant that ever ran or waits to (completed jobs are kept). */
async function drainJobsOf(tenantId: string): Promise<string[]> {
  const jobs = await under.worker.queues.drain.getJobs([
    'completed',
    'failed',
    'active',
    'wait',
    'delayed',
    'prioritized',
  ])
  return jobs.filter((j) => j.data.tenantId === tenantId).map((j) => String(j.id))
}

async function quiet(): Promise<boolean> {
  const c = await under.worker.queues.drain.getJobCounts('active', 'wait', 'delayed', 'prioritized')
  return Object.values(c).every((n) => n === 0) && (await dirtyKeyCount(under.database.su)) === 0
}

/** Holds the aggregator's per-tenant lock, as a long recompute of that tenant would. */
async function holdTenantLock(tenantId: string): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: under.database.test.url() })
  await client.connect()
  await client.query(`select pg_advisory_lock(hashtext('pm_aggregate'), hashtext($1))`, [tenantId])
  return async () => {
    await client.end()
  }
}

async function updateEmailsOf(tenantId: string, count: number, seed: number): Promise<void> {
  const { rows } = await sql<{ id: string }>`
    select id::text from emails where tenant_id = ${tenantId} and sent_at is not null
     order by id`.execute(under.database.su)
  for (let i = 0; i < count; i++) {
    const id = rows[(seed * 31 + i * 7) % rows.length]?.id
    await sql`update emails set opened_at = case when opened_at is null then sent_at + interval '1 minute' end,
                                clicked_at = case when ${i % 3 === 0} then sent_at + interval '2 minutes' end
               where tenant_id = ${tenantId} and id = ${id}`.execute(under.database.su)
  }
}

describe('drain deduplication (keepLastIfActive)', () => {
  it('100 changes and 1,000 doorbells while the drain is active: at most 2 runs, nothing lost (Q5, Q6)', async () => {
    const tenant = 't-ny'
    const before = await drainJobsOf(tenant)
    const release = await holdTenantLock(tenant)
    try {
      await updateEmailsOf(tenant, 1, 1)
      await requestDrain(under.worker.queues, tenant)
      // the drain is active, waiting for the tenant's lock
      await waitFor(
        'an active drain',
        async () => (await under.worker.queues.drain.getActiveCount()) === 1,
        5_000,
      )
      const started = performance.now()
      const rings = Array.from({ length: 1_000 }, () => requestDrain(under.worker.queues, tenant))
      await updateEmailsOf(tenant, 100, 2)
      await Promise.all(rings)
      console.info(
        `dedup: 1,000 doorbells and 100 changes in ${Math.round(performance.now() - started)} ms`,
      )
      // still the first run, waiting for the lock: every doorbell above met it active
      expect(await under.worker.queues.drain.getActiveCount()).toBe(1)
      expect(await dirtyKeyCount(under.database.su)).toBeGreaterThan(0)
    } finally {
      await release()
    }
    await waitFor('the drains to finish', quiet, 15_000)
    const runs = (await drainJobsOf(tenant)).filter((id) => !before.includes(id))
    console.info(`dedup: ${tenant}: ${runs.length} drain run(s)`)
    expect(runs.length).toBeGreaterThanOrEqual(1)
    expect(runs.length).toBeLessThanOrEqual(2)
    expect(await driftFromContract(under.database.su)).toEqual({})
  })

  it('1,000 doorbells in a burst with no lock held: never more than 1 active and 1 waiting drain (Q6)', async () => {
    const tenant = 't-utc'
    const before = await drainJobsOf(tenant)
    await updateEmailsOf(tenant, 5, 3)
    let sampling = true
    const samples: { active: number; waiting: number }[] = []
    const sampler = (async () => {
      // at least 10 samples even when the drains finish within a few of them (they now take tens
      // of milliseconds): the last ones then see the queue after the burst, which must hold too
      while (sampling || samples.length < 10) {
        const c = await under.worker.queues.drain.getJobCounts('active', 'wait', 'prioritized')
        samples.push({ active: c.active ?? 0, waiting: (c.wait ?? 0) + (c.prioritized ?? 0) })
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    })()
    const started = performance.now()
    await Promise.all(
      Array.from({ length: 1_000 }, () => requestDrain(under.worker.queues, tenant)),
    )
    const burstMs = performance.now() - started
    await waitFor('the drains to finish', quiet, 15_000)
    sampling = false
    await sampler
    const runs = (await drainJobsOf(tenant)).filter((id) => !before.includes(id))
    console.info(
      `dedup: ${tenant}: 1,000 doorbells in ${Math.round(burstMs)} ms → ${runs.length} drain run(s); ${samples.length} samples`,
    )
    expect(samples.length).toBeGreaterThan(5)
    expect(Math.max(...samples.map((s) => s.active))).toBeLessThanOrEqual(1)
    expect(Math.max(...samples.map((s) => s.waiting))).toBeLessThanOrEqual(1)
    expect(runs.length).toBeGreaterThanOrEqual(1)
    expect(await driftFromContract(under.database.su)).toEqual({})
  })
})
