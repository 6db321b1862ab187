import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import {
  billingCalculateJob,
  campaignAggregateJob,
  dailyAggregateJob,
  requestAggregates,
} from '../src/queues.js'
import { driftFromContract, waitFor } from './support/analytics-database.js'
import { workerForTestFile } from './support/worker-under-test.js'

// The seed's jobs, the scheduled fan-outs and bad payloads, through the real queues. No job
// scheduler runs here, so the only jobs are the test's.

const under = workerForTestFile('jobs', 'silent')

async function finished(queue: 'aggregate' | 'drain' | 'scheduled', id: string | undefined) {
  if (!id) throw new Error('the job has no id')
  await waitFor(
    `job ${id} to finish`,
    async () => {
      const state = await under.worker.queues[queue].getJobState(id)
      return state === 'completed' || state === 'failed'
    },
    10_000,
  )
  const job = await under.worker.queues[queue].getJob(id)
  if (!job) throw new Error(`job ${id} is gone`)
  return { job, state: await job.getState() }
}

/** Damages rows the way a bug or a manual edit would, bypassing change tracking. */
async function tamper(where: string): Promise<void> {
  for (const table of ['campaign_analytics', 'sequence_step_analytics', 'mailbox_analytics']) {
    await sql.raw(`update ${table} set sent = sent + 100 where ${where}`).execute(under.database.su)
  }
}

describe('the seed jobs', () => {
  it('daily-aggregate, campaign-aggregate and billing-calculate repair the keys they cover', async () => {
    await tamper(`tenant_id = 't-ny' and day = '2024-03-10'`)
    await sql`update billing_analytics set emails_sent = 0 where tenant_id = 't-ist'`.execute(
      under.database.su,
    )
    await sql`update campaign_analytics set sent = 0 where tenant_id = 't-utc' and campaign_id = 't-utc-c3'`.execute(
      under.database.su,
    )
    expect(Object.keys(await driftFromContract(under.database.su)).length).toBeGreaterThan(0)
    const { rows } = await sql<{ month: string }>`
      select distinct to_char(period_start at time zone 'Asia/Kolkata', 'YYYY-MM-01') as month
        from billing_analytics where tenant_id = 't-ist'`.execute(under.database.su)
    const jobs = await requestAggregates(under.worker.queues, [
      dailyAggregateJob({ tenantId: 't-ny', day: '2024-03-10' }),
      campaignAggregateJob({ tenantId: 't-utc', campaignId: 't-utc-c3' }),
      ...rows.map((r) => billingCalculateJob({ tenantId: 't-ist', month: r.month })),
    ])
    for (const job of jobs) expect((await finished('aggregate', job.id)).state).toBe('completed')
    expect(await driftFromContract(under.database.su)).toEqual({})
  })

  it('the daily fan-out enqueues each tenant’s local yesterday; the monthly one its last month', async () => {
    // 03:30 UTC on 11 March 2024: still the 10th in New York (UTC−4 since that morning)
    const daily = await under.worker.queues.scheduled.add('daily-fanout', {
      asOf: '2024-03-11T03:30:00Z',
    })
    expect((await finished('scheduled', daily.id)).state).toBe('completed')
    // 02:00 UTC on 1 April: still 31 March in New York
    const monthly = await under.worker.queues.scheduled.add('monthly-fanout', {
      asOf: '2024-04-01T02:00:00Z',
    })
    expect((await finished('scheduled', monthly.id)).state).toBe('completed')
    await waitFor(
      'the fanned-out jobs',
      async () => (await under.worker.queues.aggregate.getJobCounts('active', 'wait')).wait === 0,
      10_000,
    )
    const done = await under.worker.queues.aggregate.getJobs(['completed', 'active', 'wait'])
    const data = (name: string) =>
      done
        .filter((j) => j.name === name && j.timestamp >= daily.timestamp)
        .map((j) => j.data)
        .sort((a, b) => String(a.tenantId).localeCompare(String(b.tenantId)))
    expect(data('daily-aggregate')).toEqual([
      { tenantId: 't-ist', day: '2024-03-10' },
      { tenantId: 't-ny', day: '2024-03-09' },
      { tenantId: 't-quiet', day: '2024-03-10' },
      { tenantId: 't-utc', day: '2024-03-10' },
    ])
    expect(data('billing-calculate')).toEqual([
      { tenantId: 't-ist', month: '2024-03-01' },
      { tenantId: 't-ny', month: '2024-02-01' },
      { tenantId: 't-quiet', month: '2024-03-01' },
      { tenantId: 't-utc', month: '2024-03-01' },
    ])
    expect(await driftFromContract(under.database.su)).toEqual({})
  })
})

describe('bad jobs', () => {
  it.each([
    ['drain', { tenantId: 42 }, /tenantId: tenantId must be a string/],
    ['drain', {}, /tenantId/],
    ['drain', { tenantId: 't-ny', email: 'x@example.com' }, /Unrecognized key/],
  ])(
    '%s with %j fails at once, without retries, and is kept for inspection',
    async (name, data, reason) => {
      const job = await under.worker.queues.drain.add(name, data)
      const { job: failed, state } = await finished('drain', job.id)
      expect(state).toBe('failed')
      expect(failed.attemptsMade).toBe(1)
      expect(failed.failedReason).toMatch(reason)
    },
  )

  it('rejects a day that is not a calendar day, and a job name its queue does not run', async () => {
    const badDay = await under.worker.queues.aggregate.add('daily-aggregate', {
      tenantId: 't-ny',
      day: '2024-02-30',
    })
    const first = await finished('aggregate', badDay.id)
    expect(first.state).toBe('failed')
    expect(first.job.failedReason).toMatch(/day must be a real calendar day/)
    const wrongQueue = await under.worker.queues.aggregate.add('drain', { tenantId: 't-ny' })
    const second = await finished('aggregate', wrongQueue.id)
    expect(second.state).toBe('failed')
    expect(second.job.attemptsMade).toBe(1)
    expect(second.job.failedReason).toMatch(/no job named "drain" runs on the aggregate queue/)
  })

  it('the request helpers refuse a bad payload before it reaches Redis', () => {
    expect(() => dailyAggregateJob({ tenantId: 't-ny', day: '10/03/2024' })).toThrow(/YYYY-MM-DD/)
    expect(() => billingCalculateJob({ tenantId: 't-ny', month: '2024-03-15' })).toThrow(
      /first day/,
    )
  })
})
