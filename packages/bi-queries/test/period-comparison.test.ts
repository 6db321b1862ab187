import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  COUNT_COLUMNS,
  type ComparisonScope,
  comparePeriods,
  metricChange,
  previousPeriod,
  RATE_COLUMNS,
} from '../src/index.js'
import type { Counts } from '../src/testing/analytics-fixture.js'
import { rates } from '../src/testing/index.js'
import {
  type AnalyticsDatabase,
  openAnalyticsDatabase,
  TENANTS,
} from './support/analytics-database.js'

let data: AnalyticsDatabase

beforeAll(async () => {
  data = await openAnalyticsDatabase('bi_comparison', 303)
})

afterAll(async () => {
  await data?.database.drop()
})

type DayRow = Counts & { tenant_id: string; day: string; campaign_id?: string }

function totals(
  rows: readonly DayRow[],
  tenantId: string,
  from: string,
  to: string,
  campaignId?: string,
): Record<string, number | null> {
  const sum = Object.fromEntries(COUNT_COLUMNS.map((c) => [c, 0])) as Counts
  for (const r of rows)
    if (
      r.tenant_id === tenantId &&
      r.day >= from &&
      r.day < to &&
      (campaignId === undefined || r.campaign_id === campaignId)
    )
      for (const c of COUNT_COLUMNS) sum[c] += r[c]
  const all = { ...sum, ...rates(sum) } as unknown as Record<string, number | null>
  return Object.fromEntries([...COUNT_COLUMNS, ...RATE_COLUMNS].map((m) => [m, all[m] ?? null]))
}

describe('previousPeriod', () => {
  it('is the range of equal length ending where the range starts', () => {
    expect(previousPeriod({ from: '2024-03-01', to: '2024-04-01' })).toEqual({
      from: '2024-01-30',
      to: '2024-03-01',
    })
    expect(previousPeriod({ from: '2024-02-29', to: '2024-03-01' })).toEqual({
      from: '2024-02-28',
      to: '2024-02-29',
    })
  })
})

describe('metricChange', () => {
  it('gives the absolute and relative change, relative NULL when the previous value is 0', () => {
    expect(metricChange('sent', 150, 100)).toEqual({
      metric: 'sent',
      current: 150,
      previous: 100,
      change: 50,
      relative_change: 50,
    })
    expect(metricChange('sent', 5, 0).relative_change).toBeNull()
    expect(metricChange('sent', 5, 0).change).toBe(5)
    expect(metricChange('open_rate', 12.5, null)).toMatchObject({
      change: null,
      relative_change: null,
    })
    expect(metricChange('open_rate', 10.01, 12.34)).toMatchObject({
      change: -2.33,
      relative_change: -18.88,
    })
    // half away from zero, as PostgreSQL rounds
    expect(metricChange('sent', 0, 800).relative_change).toBe(-100)
    expect(metricChange('sent', 799, 800 * 1000).relative_change).toBe(-99.9)
  })
})

describe('comparePeriods', () => {
  const ranges = [
    { from: '2024-02-10', to: '2024-03-05' },
    { from: '2024-03-01', to: '2024-04-01' },
    { from: '2024-01-01', to: '2024-01-08' },
  ]

  it('equals the reference totals of both periods for every tenant, scope and range', async () => {
    const f = data.fixture
    let compared = 0
    for (const tenant of TENANTS)
      for (const range of ranges) {
        const previous = previousPeriod(range)
        const campaignId = f.campaigns.find((c) => c.tenant_id === tenant.id)?.id as string
        const cases: [ComparisonScope, readonly DayRow[], string?][] = [
          [{ kind: 'campaigns' }, f.campaignDays],
          [{ kind: 'campaigns', campaignId }, f.campaignDays, campaignId],
          [{ kind: 'mailboxes' }, f.mailboxDays],
          [{ kind: 'warmup' }, f.warmupDays],
        ]
        for (const [scope, rows, only] of cases) {
          const result = await data.asTenant(tenant.id, (trx) =>
            comparePeriods(trx, { tenantId: tenant.id, ...range, scope }),
          )
          const now = totals(rows, tenant.id, range.from, range.to, only)
          const before = totals(rows, tenant.id, previous.from, previous.to, only)
          expect(result).toEqual({
            ...range,
            previous_from: previous.from,
            previous_to: previous.to,
            metrics: Object.keys(now).map((m) =>
              metricChange(m, now[m] ?? null, before[m] ?? null),
            ),
          })
          compared++
        }
      }
    expect(compared).toBe(TENANTS.length * ranges.length * 4)
  })

  it('compares a period with data against an empty one: relative change NULL, rates NULL', async () => {
    const result = await data.asTenant('tenant-a', (trx) =>
      comparePeriods(trx, {
        tenantId: 'tenant-a',
        from: '2024-01-01',
        to: '2024-02-01',
        scope: { kind: 'campaigns' },
      }),
    )
    const sent = result.metrics.find((m) => m.metric === 'sent')
    expect(sent?.previous).toBe(0)
    expect(sent?.current).toBeGreaterThan(0)
    expect(sent?.change).toBe(sent?.current)
    expect(sent?.relative_change).toBeNull()
    const open = result.metrics.find((m) => m.metric === 'open_rate')
    expect(open?.previous).toBeNull()
    expect(open?.change).toBeNull()
  })
})
