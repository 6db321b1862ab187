import { type ComparisonScope, comparePeriods } from '@penguinmails/bi-queries'
import { withTenant } from '@penguinmails/schema'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiHarness, openApiHarness } from './support/api-harness.js'

let h: ApiHarness
let token: string

beforeAll(async () => {
  h = await openApiHarness({ label: 'api_compare', seed: 23 })
  token = await h.token({ tenant_id: 'tenant-a', role: 'member' })
})

afterAll(async () => {
  await h?.close()
})

async function body(path: string) {
  const response = await h.get(path, token)
  expect(response.status).toBe(200)
  return (await response.json()) as { comparison?: unknown; data: unknown[] }
}

const expected = (from: string, to: string, scope: ComparisonScope) =>
  withTenant(h.api.db, 'tenant-a', (trx) =>
    comparePeriods(trx, { tenantId: 'tenant-a', from, to, scope }),
  )

describe('compare=previous', () => {
  it('adds the previous period of equal length and the change to every range query', async () => {
    const range = 'from=2024-02-15&to=2024-03-15'
    const campaign = 'tenant-a-c0'
    const cases: [string, ComparisonScope][] = [
      [`/v1/campaigns/performance?${range}`, { kind: 'campaigns' }],
      [`/v1/campaigns/${campaign}/trend?${range}`, { kind: 'campaigns', campaignId: campaign }],
      [`/v1/campaigns/${campaign}/funnel?${range}`, { kind: 'campaigns', campaignId: campaign }],
      [`/v1/usage?${range}`, { kind: 'campaigns' }],
      [`/v1/mailboxes?${range}`, { kind: 'mailboxes' }],
    ]
    for (const [path, scope] of cases) {
      const withComparison = await body(`${path}&compare=previous`)
      const comparison = await expected('2024-02-15', '2024-03-15', scope)
      // 29 days (2024 is a leap year) ending where the range starts
      expect(comparison).toMatchObject({ previous_from: '2024-01-17', previous_to: '2024-02-15' })
      expect(withComparison.comparison).toEqual(comparison)
      const sent = comparison.metrics.find((m) => m.metric === 'sent')
      expect(sent?.current).toBeGreaterThan(0)
      // without the parameter: no comparison, the same rows
      const plain = await body(path)
      expect(plain.comparison).toBeUndefined()
      expect(plain.data).toEqual(withComparison.data)
    }
    const warmup = await body('/v1/warmup?days=14&to=2024-03-01&compare=previous')
    expect(warmup.comparison).toEqual(
      await expected('2024-02-16', '2024-03-01', { kind: 'warmup' }),
    )
  })

  it('refuses any other value, naming the parameter', async () => {
    const response = await h.get('/v1/usage?from=2024-02-01&to=2024-03-01&compare=last-year', token)
    expect(response.status).toBe(400)
    expect(JSON.stringify(await response.json())).toContain('compare')
  })
})
