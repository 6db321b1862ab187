import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CAMPAIGN_LEAD_SORTS,
  CAMPAIGN_PERFORMANCE_SORTS,
  type CampaignLeadSort,
  type CampaignPerformanceSort,
  campaignDailyTrend,
  campaignLeads,
  campaignPerformance,
  LEAD_STATUSES,
  stepFunnel,
} from '../src/index.js'
import {
  expectedCampaignLeads,
  expectedCampaignPerformance,
  expectedCampaignTrend,
  expectedStepFunnel,
} from '../src/testing/index.js'
import {
  type AnalyticsDatabase,
  allPages,
  byKeys,
  openAnalyticsDatabase,
  TENANTS,
} from './support/analytics-database.js'

let data: AnalyticsDatabase

beforeAll(async () => {
  data = await openAnalyticsDatabase('bi_campaigns', 101)
})

afterAll(async () => {
  await data?.database.drop()
})

// ranges: all of the data, one that cuts through the middle of months, and one day
const ALL_DATA = { from: '2024-01-01', to: '2024-04-01' }
const RANGES = [
  ALL_DATA,
  { from: '2024-02-10', to: '2024-03-05' },
  { from: '2024-02-29', to: '2024-03-01' },
]

describe('campaignPerformance', () => {
  it('equals the reference computation for every tenant, range and sort, across pages', async () => {
    let compared = 0
    for (const tenant of TENANTS)
      for (const range of RANGES) {
        const expected = expectedCampaignPerformance(data.fixture, tenant.id, range.from, range.to)
        for (const sort of Object.keys(CAMPAIGN_PERFORMANCE_SORTS) as CampaignPerformanceSort[]) {
          const { rows } = await data.asTenant(tenant.id, (trx) =>
            allPages((cursor) =>
              campaignPerformance(trx, { tenantId: tenant.id, ...range, sort, limit: 2, cursor }),
            ),
          )
          const key =
            sort === 'campaign_id'
              ? byKeys<(typeof expected)[number]>((r) => r.campaign_id)
              : byKeys<(typeof expected)[number]>(
                  (r) =>
                    sort === 'volume'
                      ? r.volume_rank
                      : sort === 'open_rate'
                        ? r.open_rate_rank
                        : r.reply_rate_rank,
                  (r) => r.campaign_id,
                )
          expect(rows).toEqual([...expected].sort(key))
          compared += rows.length
        }
      }
    expect(compared).toBeGreaterThan(50)
  })

  it('ranks ties equally and puts campaigns without a rate last', async () => {
    const { rows } = await data.asTenant('tenant-a', (trx) =>
      campaignPerformance(trx, { tenantId: 'tenant-a', ...ALL_DATA, limit: 100 }),
    )
    const original = rows.find((r) => r.campaign_id === 'tenant-a-c0')
    const clone = rows.find((r) => r.campaign_id === 'tenant-a-c1')
    expect(clone?.volume_rank).toBe(original?.volume_rank)
    expect(clone?.open_rate_rank).toBe(original?.open_rate_rank)
    const silent = rows.find((r) => r.campaign_id === 'tenant-a-c3')
    expect(silent?.open_rate).toBeNull()
    expect(silent?.open_rate_rank).toBe(Math.max(...rows.map((r) => r.open_rate_rank)))
    expect(rows.some((r) => r.campaign_id === 'tenant-a-c2')).toBe(false)
  })

  it('refuses a cursor from another sort and a tampered cursor', async () => {
    const first = await data.asTenant('tenant-a', (trx) =>
      campaignPerformance(trx, { tenantId: 'tenant-a', ...ALL_DATA, limit: 1 }),
    )
    expect(first.nextCursor).not.toBeNull()
    const cursor = first.nextCursor as string
    await expect(
      data.asTenant('tenant-a', (trx) =>
        campaignPerformance(trx, {
          tenantId: 'tenant-a',
          ...ALL_DATA,
          sort: 'open_rate',
          cursor,
        }),
      ),
    ).rejects.toThrow('another list')
    const forged = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(cursor, 'base64url').toString()),
        k: ["1'; drop", 'x'],
      }),
    ).toString('base64url')
    await expect(
      data.asTenant('tenant-a', (trx) =>
        campaignPerformance(trx, { tenantId: 'tenant-a', ...ALL_DATA, cursor: forged }),
      ),
    ).rejects.toThrow('malformed cursor')
    await expect(
      data.asTenant('tenant-a', (trx) =>
        campaignPerformance(trx, { tenantId: 'tenant-a', ...ALL_DATA, cursor: '%%%' }),
      ),
    ).rejects.toThrow('not a cursor')
  })

  it('rejects impossible ranges naming the parameter', async () => {
    const run = (from: string, to: string) =>
      data.asTenant('tenant-a', (trx) =>
        campaignPerformance(trx, { tenantId: 'tenant-a', from, to }),
      )
    await expect(run('2024-02-30', '2024-03-01')).rejects.toMatchObject({ parameter: 'from' })
    await expect(run('2024-03-01', '2024-03-01')).rejects.toMatchObject({ parameter: 'to' })
    await expect(run('2023-01-01', '2024-01-03')).rejects.toMatchObject({ parameter: 'to' })
  })
})

describe('campaignDailyTrend and stepFunnel', () => {
  it('equal the reference for every campaign of every tenant', async () => {
    let campaigns = 0
    for (const campaign of data.fixture.campaigns)
      for (const range of RANGES) {
        const params = { tenantId: campaign.tenant_id, campaignId: campaign.id, ...range }
        const [trend, funnel] = await data.asTenant(campaign.tenant_id, async (trx) => [
          await campaignDailyTrend(trx, params),
          await stepFunnel(trx, params),
        ])
        expect(trend).toEqual(
          expectedCampaignTrend(
            data.fixture,
            campaign.tenant_id,
            campaign.id,
            range.from,
            range.to,
          ),
        )
        expect(funnel).toEqual(
          expectedStepFunnel(data.fixture, campaign.tenant_id, campaign.id, range.from, range.to),
        )
        campaigns++
      }
    expect(campaigns).toBe(data.fixture.campaigns.length * RANGES.length)
  })

  it('returns null for a campaign of another tenant, even with an explicit id', async () => {
    const params = { tenantId: 'tenant-a', campaignId: 'tenant-b-c0', ...ALL_DATA }
    const result = await data.asTenant('tenant-a', async (trx) => [
      await campaignDailyTrend(trx, params),
      await stepFunnel(trx, params),
      await campaignLeads(trx, { tenantId: 'tenant-a', campaignId: 'tenant-b-c0' }),
    ])
    expect(result).toEqual([null, null, null])
  })
})

describe('campaignLeads', () => {
  it('equals the reference for every campaign, status filter and sort, across pages', async () => {
    let compared = 0
    for (const campaign of data.fixture.campaigns)
      for (const status of [undefined, ...LEAD_STATUSES])
        for (const sort of Object.keys(CAMPAIGN_LEAD_SORTS) as CampaignLeadSort[]) {
          const { rows } = await data.asTenant(campaign.tenant_id, (trx) =>
            allPages(async (cursor) => {
              const page = await campaignLeads(trx, {
                tenantId: campaign.tenant_id,
                campaignId: campaign.id,
                status,
                sort,
                limit: 3,
                cursor,
              })
              if (page === null) throw new Error(`campaign ${campaign.id} not found`)
              return page
            }),
          )
          const expected = expectedCampaignLeads(
            data.fixture,
            campaign.tenant_id,
            campaign.id,
            status,
          )
          const order =
            sort === 'lead_id'
              ? byKeys<(typeof expected)[number]>((r) => r.lead_id)
              : sort === 'last_sent_at'
                ? byKeys<(typeof expected)[number]>(
                    (r) => r.last_sent_at,
                    (r) => r.lead_id,
                  )
                : (a: (typeof expected)[number], b: (typeof expected)[number]) =>
                    byKeys<(typeof expected)[number]>(
                      (r) => r.last_sent_at,
                      (r) => r.lead_id,
                    )(b, a)
          expect(rows).toEqual(expected.sort(order))
          compared += rows.length
        }
    expect(compared).toBeGreaterThan(200)
  })
})
