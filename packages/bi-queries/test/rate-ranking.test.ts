import { ROLES, withTenant } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { campaignPerformance } from '../src/index.js'
import type { CampaignDay } from '../src/testing/analytics-fixture.js'
import {
  type AnalyticsFixture,
  generateAnalyticsFixture,
  writeAnalyticsFixture,
} from '../src/testing/index.js'

let database: TestDatabase
let fixture: AnalyticsFixture

const TENANT = 'tenant-r'
const DAY = '2024-02-14'

// three campaigns on one day: a single lucky send, a solid campaign, and a middling large one
function day(campaignId: string, sent: number, replied: number, opened: number): CampaignDay {
  return {
    tenant_id: TENANT,
    company_id: `${TENANT}-co`,
    campaign_id: campaignId,
    day: DAY,
    completed_leads: 0,
    status: 'active',
    sent,
    delivered: sent,
    opened_tracked: opened,
    clicked_tracked: 0,
    replied,
    bounced: 0,
    unsubscribed: 0,
    spam_complaints: 0,
  }
}

beforeAll(async () => {
  database = await createTestDatabase({ label: 'bi_rate_ranking' })
  fixture = generateAnalyticsFixture({ seed: 7, tenants: [{ id: TENANT, time_zone: 'UTC' }] })
  fixture.campaignDays = [
    // 1 of 1 replied and opened: 100%, but [20.65%, 100%] and below the minimum sample
    day(`${TENANT}-c0`, 1, 1, 1),
    // 12 of 40 replied (30%, [18.07%, 45.43%]); 30 of 40 opened (75%, [59.81%, 85.81%])
    day(`${TENANT}-c1`, 40, 12, 30),
    // 250 of 1000 replied (25%, [22.42%, 27.78%]); 700 of 1000 opened (70%, [67.09%, 72.76%])
    day(`${TENANT}-c3`, 1000, 250, 700),
    // 10 of 20 replied (50%, [29.93%, 70.07%]): a high bound, but below the minimum sample
    day(`${TENANT}-c4`, 20, 10, 10),
  ]
  await writeAnalyticsFixture(database.connect().db, fixture)
})

afterAll(async () => {
  await database?.drop()
})

describe('rankings by the Wilson lower bound', () => {
  it('do not put a 1-of-1 reply rate at the top', async () => {
    const { rows } = await withTenant(database.connect(ROLES.admin).db, TENANT, (trx) =>
      campaignPerformance(trx, {
        tenantId: TENANT,
        from: DAY,
        to: '2024-02-15',
        sort: 'reply_rate',
      }),
    )
    const rank = (id: string) => rows.find((r) => r.campaign_id === `${TENANT}-${id}`)
    // by the raw rate: c0 100%, c4 50%, c1 30%, c3 25%
    expect(['c0', 'c4', 'c1', 'c3'].map((id) => rank(id)?.reply_rate)).toEqual([100, 50, 30, 25])
    // by the lower bound, solid samples first: c3 22.42% > c1 18.07%, then c4 29.93% > c0 20.65%
    expect(rows.map((r) => r.campaign_id)).toEqual(
      ['c3', 'c1', 'c4', 'c0'].map((id) => `${TENANT}-${id}`),
    )
    expect(rows.map((r) => r.reply_rate_rank)).toEqual([1, 2, 3, 4])
    expect(rank('c0')).toMatchObject({
      reply_rate_lower: 20.65,
      reply_rate_upper: 100,
      reply_rate_insufficient_sample: true,
    })
    expect(rank('c1')).toMatchObject({
      reply_rate_lower: 18.07,
      reply_rate_upper: 45.43,
      reply_rate_insufficient_sample: false,
    })
    expect(rank('c3')).toMatchObject({ reply_rate_lower: 22.42, reply_rate_upper: 27.78 })
    expect(rank('c4')).toMatchObject({
      reply_rate_lower: 29.93,
      reply_rate_insufficient_sample: true,
    })
    // open rate: the solid 70% of 1000 beats 75% of 40, and 100% of 1 comes last
    expect(['c3', 'c1', 'c4', 'c0'].map((id) => rank(id)?.open_rate_rank)).toEqual([1, 2, 3, 4])
  })
})
