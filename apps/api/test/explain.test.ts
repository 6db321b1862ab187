import { recomputeAll } from '@penguinmails/aggregator'
import { generateSourceData } from '@penguinmails/data-generator'
import { ROLES } from '@penguinmails/schema'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiHarness, openApiHarness } from './support/api-harness.js'

let h: ApiHarness
let member: string
let campaign: { tenant_id: string; campaign_id: string; step_id: string }
let otherCampaign: string

interface Explained {
  data: { id: string; campaign_id: string | null; day: string }[]
  next_cursor: string | null
  explanation: {
    value: number
    source_count: number
    formula: string
    sql: { source: { statement: string; parameters: unknown[] } }
    reconciliation: { check: string; holds: boolean }[]
  }
}

beforeAll(async () => {
  // no fixture tenants: the database holds the generator's tenants t01…t03 only
  h = await openApiHarness({ label: 'api_explain', tenants: [] })
  await generateSourceData(h.database.url(), {
    seed: 5,
    tenants: 3,
    emails: 6000,
    days: 45,
    end: '2026-02-20',
  })
  await recomputeAll(h.database.connect(ROLES.writer).db)
  const su = h.database.connect().db
  const { rows } = await sql<typeof campaign>`
    select c.tenant_id, c.campaign_id, min(s.sequence_step_id) as step_id
      from campaign_analytics c
      join sequence_step_analytics s on s.tenant_id = c.tenant_id and s.campaign_id = c.campaign_id
     group by 1, 2 order by sum(c.sent) desc limit 1`.execute(su)
  campaign = rows[0] as typeof campaign
  const other = await sql<{ campaign_id: string }>`
    select campaign_id from campaign_analytics where tenant_id <> ${campaign.tenant_id} limit 1`.execute(
    su,
  )
  otherCampaign = other.rows[0]?.campaign_id as string
  member = await h.token({ tenant_id: campaign.tenant_id, role: 'member' })
})

afterAll(async () => {
  await h?.close()
})

const range = 'from=2026-01-01&to=2026-02-21'

describe('GET /v1/explain', () => {
  it('explains a campaign figure: formula, SQL, reconciliation and every source email', async () => {
    const ids: string[] = []
    let first: Explained | undefined
    let url = `/v1/explain/campaigns/${campaign.campaign_id}?metric=replied&${range}&limit=100`
    for (;;) {
      const response = await h.get(url, member)
      expect(response.status).toBe(200)
      const body = (await response.json()) as Explained
      first ??= body
      ids.push(...body.data.map((e) => e.id))
      for (const e of body.data) expect(e.campaign_id).toBe(campaign.campaign_id)
      if (body.next_cursor === null) break
      url = `/v1/explain/campaigns/${campaign.campaign_id}?metric=replied&${range}&limit=100&cursor=${body.next_cursor}`
    }
    const e = first?.explanation
    expect(e?.value).toBeGreaterThan(0)
    expect(ids).toHaveLength(e?.value ?? -1)
    expect(e?.source_count).toBe(e?.value)
    expect(e?.formula).toMatch(/replied_at IS NOT NULL/)
    expect(e?.sql.source.statement).toMatch(/^select e\.id/)
    expect(e?.sql.source.parameters).toContain(campaign.campaign_id)
    expect(e?.reconciliation.map((c) => [c.check, c.holds])).toEqual([
      ['source_matches_figure', true],
      ['days_sum_to_range', true],
      ['steps_sum_to_campaign', true],
    ])
  })

  it('explains a step figure and the tenant usage', async () => {
    const step = await h.get(
      `/v1/explain/campaigns/${campaign.campaign_id}?step=${campaign.step_id}&${range}`,
      member,
    )
    const stepBody = (await step.json()) as Explained
    expect(step.status).toBe(200)
    expect(stepBody.explanation.reconciliation.every((c) => c.holds)).toBe(true)
    expect(stepBody.explanation.reconciliation.map((c) => c.check)).toContain(
      'campaigns_sum_to_usage',
    )
    const usage = await h.get('/v1/explain/usage?period=2026-02&metric=leads_used', member)
    expect(usage.status).toBe(200)
    const usageBody = (await usage.json()) as Explained
    expect(usageBody.explanation.value).toBeGreaterThan(0)
    expect(usageBody.explanation.source_count).toBe(usageBody.explanation.value)
  })

  it('explains a mailbox figure and a warmup figure', async () => {
    const su = h.database.connect().db
    const { rows } = await sql<{ m: string; w: string }>`
      select (select email_account_id from mailbox_analytics where tenant_id = ${campaign.tenant_id}
                 and sent > 0 order by email_account_id limit 1) as m,
             (select email_account_id from warmup_analytics where tenant_id = ${campaign.tenant_id}
                 order by email_account_id limit 1) as w`.execute(su)
    const { m, w } = rows[0] as { m: string; w: string }
    for (const url of [
      `/v1/explain/mailboxes/${m}?metric=sent&${range}&limit=100`,
      `/v1/explain/mailboxes/${m}?metric=current_volume&${range}&limit=100`,
      `/v1/explain/mailboxes/${w}?warmup=true&metric=delivered&${range}&limit=100`,
    ]) {
      const response = await h.get(url, member)
      expect(response.status, url).toBe(200)
      const body = (await response.json()) as Explained
      expect(body.explanation.value, url).toBeGreaterThan(0)
      expect(body.explanation.source_count, url).toBe(body.explanation.value)
      expect(
        body.explanation.reconciliation.every((c) => c.holds),
        url,
      ).toBe(true)
    }
    const sent = (await (
      await h.get(`/v1/explain/mailboxes/${m}?metric=sent&${range}`, member)
    ).json()) as Explained
    expect(sent.explanation.reconciliation.map((c) => c.check)).toContain('mailboxes_sum_to_usage')
    const other = await h.get(
      `/v1/explain/mailboxes/${otherCampaign.replace(/-k\d+$/, '-m1')}?${range}`,
      member,
    )
    expect(other.status).toBe(404)
  })

  it('answers another tenant’s campaign or step like an unknown one: 404 problem+json', async () => {
    const theirs = await h.get(`/v1/explain/campaigns/${otherCampaign}?${range}`, member)
    const unknown = await h.get(`/v1/explain/campaigns/no-such-campaign?${range}`, member)
    expect(theirs.status).toBe(404)
    expect(theirs.headers.get('content-type')).toBe('application/problem+json')
    const [a, b] = [
      (await theirs.json()) as Record<string, unknown>,
      (await unknown.json()) as Record<string, unknown>,
    ]
    expect({ ...a, instance: null }).toEqual({ ...b, instance: null })
    const foreignStep = await h.get(
      `/v1/explain/campaigns/${campaign.campaign_id}?step=${otherCampaign}-s1&${range}`,
      member,
    )
    expect(foreignStep.status).toBe(404)
  })

  it('refuses bad parameters with 400 naming them', async () => {
    const cases: [string, string][] = [
      [`/v1/explain/campaigns/${campaign.campaign_id}?metric=open_rate&${range}`, 'metric'],
      [
        `/v1/explain/campaigns/${campaign.campaign_id}?metric=completed_leads&step=x&${range}`,
        'metric',
      ],
      [`/v1/explain/campaigns/${campaign.campaign_id}?from=2026-01-01`, 'to'],
      ['/v1/explain/usage?period=2026-13', 'period'],
      ['/v1/explain/usage?metric=sent', 'metric'],
    ]
    for (const [url, name] of cases) {
      const response = await h.get(url, member)
      expect(response.status, url).toBe(400)
      const body = (await response.json()) as { errors: { name: string }[] }
      expect(
        body.errors.map((e) => e.name),
        url,
      ).toContain(name)
    }
  })

  it('is documented in OpenAPI with its explanation schema', async () => {
    const doc = (await (await h.get('/openapi.json', null)).json()) as {
      paths: Record<string, unknown>
      components: { schemas: Record<string, unknown> }
    }
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/explain/campaigns/{campaignId}',
        '/v1/explain/usage',
        '/v1/explain/mailboxes/{mailboxId}',
        '/v1/admin/tenants/{tenantId}/explain/usage',
      ]),
    )
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['Explanation', 'SourceEmailRow']),
    )
  })
})
