import { recomputeAll } from '@penguinmails/aggregator'
import { generateSourceData } from '@penguinmails/data-generator'
import { ROLES } from '@penguinmails/schema'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiHarness, openApiHarness } from './support/api-harness.js'

// the usage ratios of /v1/usage and the active_days of /v1/campaigns/performance and /v1/mailboxes,
// explained on generated data the aggregator aggregated, against the figures those routes return

let h: ApiHarness
let member: string
let tenantId: string
let other: { tenant_id: string; campaign_id: string; email_account_id: string }

type Row = Record<string, unknown>
interface Count {
  value: number
  source_count: number
  key: Record<string, string>
  formula: string
  reconciliation: { check: string; holds: boolean }[]
}
interface RatioBody {
  metric: string
  period: string
  value: number | null
  formula: string
  null_reason: string | null
  inputs: Record<string, Count>
  recomputed: number | null
  recomputed_from_source: number | null
  recomputed_matches: boolean
  sql: { figure: { statement: string; parameters: unknown[] } }
  emails_of: string
}
interface FigureBody {
  subject: string
  value: number
  recomputed: number
  recomputed_matches: boolean
  source_count: number
  days: Row[]
  inputs: Row
  reconciliation: { check: string; holds: boolean; parts: unknown[]; total: number }[]
}

const range = 'from=2025-11-01&to=2026-02-21'

beforeAll(async () => {
  h = await openApiHarness({ label: 'api_explain_ratios', tenants: [] })
  await generateSourceData(h.database.url(), {
    seed: 11,
    tenants: 2,
    emails: 4000,
    days: 45,
    end: '2026-02-20',
  })
  const su = h.database.connect().db
  const { rows } = await sql<{ tenant_id: string }>`
    select tenant_id from emails group by 1 order by count(*) desc limit 1`.execute(su)
  tenantId = rows[0]?.tenant_id as string
  // a month with warmup emails only (no campaign: emails_per_campaign has a zero denominator),
  // a month without any email after it, then the generated months
  await sql`insert into emails (tenant_id, id, company_id, email_account_id, is_warmup, status, sent_at)
    select tenant_id, id + 100000000, company_id, email_account_id, true, 'delivered',
           timestamptz '2025-11-10 12:00:00+00' + (row_number() over (order by id)) * interval '1 hour'
      from emails where tenant_id = ${tenantId} and is_warmup order by id limit 3`.execute(su)
  await recomputeAll(h.database.connect(ROLES.writer).db)
  const theirs = await sql<typeof other>`
    select c.tenant_id, c.campaign_id, m.email_account_id
      from campaign_analytics c
      join mailbox_analytics m on m.tenant_id = c.tenant_id
     where c.tenant_id <> ${tenantId} limit 1`.execute(su)
  other = theirs.rows[0] as typeof other
  member = await h.token({ tenant_id: tenantId, role: 'member' })
})

afterAll(async () => {
  await h?.close()
})

async function explainAll<E>(url: string): Promise<{ explanation: E; rows: Row[] }> {
  const rows: Row[] = []
  let explanation: E | undefined
  let cursor: string | null = null
  do {
    const response = await h.get(
      `${url}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      member,
    )
    expect(response.status, url).toBe(200)
    const body = (await response.json()) as { data: Row[]; next_cursor: string | null } & {
      explanation: E
    }
    explanation ??= body.explanation
    rows.push(...body.data)
    cursor = body.next_cursor
  } while (cursor !== null)
  return { explanation: explanation as E, rows }
}

async function listAll(url: string): Promise<Row[]> {
  const rows: Row[] = []
  let cursor: string | null = null
  do {
    const response = await h.get(
      `${url}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      member,
    )
    expect(response.status, url).toBe(200)
    const body = (await response.json()) as { data: Row[]; next_cursor?: string | null }
    rows.push(...body.data)
    cursor = body.next_cursor ?? null
  } while (cursor !== null)
  return rows
}

/** round(x, 2) half away from zero, on exact integers (no float drift): n / d in hundredths. */
function round2(n: number, d: number): number {
  const hundredths = (Math.abs(n) * 100 * 2 + Math.abs(d)) / (2 * Math.abs(d))
  return (Math.sign(n) * Math.sign(d) * Math.floor(hundredths)) / 100
}

const RATIOS = {
  emails_per_mailbox: (i: Record<string, number>) =>
    i.mailboxes_used === 0 ? null : round2(i.emails_sent as number, i.mailboxes_used as number),
  emails_per_campaign: (i: Record<string, number>) =>
    i.campaigns_used === 0 ? null : round2(i.emails_sent as number, i.campaigns_used as number),
  previous_period_emails: (i: Record<string, number>) => i.previous_period_emails as number,
  mom_growth: (i: Record<string, number>) =>
    i.previous_period_emails === 0
      ? null
      : round2(
          100 * ((i.emails_sent as number) - (i.previous_period_emails as number)),
          i.previous_period_emails as number,
        ),
} as const

describe('GET /v1/explain/usage/ratios', () => {
  it('explains every ratio of every /v1/usage row: the route’s value, recomputed from its explained inputs', async () => {
    const usage = (await (await h.get(`/v1/usage?${range}`, member)).json()) as { data: Row[] }
    expect(usage.data.map((r) => r.period)).toEqual(['2025-11', '2026-01', '2026-02'])
    let nulls = 0
    for (const row of usage.data)
      for (const ratio of Object.keys(RATIOS) as (keyof typeof RATIOS)[]) {
        const where = `${row.period} ${ratio}`
        const { explanation: e, rows: emails } = await explainAll<RatioBody>(
          `/v1/explain/usage/ratios?metric=${ratio}&period=${row.period}`,
        )
        expect(e.value, where).toBe(row[ratio])
        expect(e.recomputed, where).toBe(row[ratio])
        expect(e.recomputed_from_source, where).toBe(row[ratio])
        expect(e.recomputed_matches, where).toBe(true)
        expect(e.sql.figure.statement, where).toMatch(/from "billing_analytics" as "b"/)
        const values = Object.fromEntries(Object.entries(e.inputs).map(([k, v]) => [k, v.value]))
        expect(RATIOS[ratio](values), where).toBe(row[ratio])
        for (const [name, input] of Object.entries(e.inputs)) {
          expect(input.source_count, `${where} ${name}`).toBe(input.value)
          expect(
            input.reconciliation.every((c) => c.holds),
            `${where} ${name}`,
          ).toBe(true)
          // each input is the measure of /v1/usage's row (previous: the month before's emails_sent)
          expect(input.value, `${where} ${name}`).toBe(row[name])
        }
        if (ratio === 'previous_period_emails' || ratio === 'mom_growth') {
          const [y, m] = String(row.period).split('-').map(Number) as [number, number]
          const before = m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`
          expect(e.inputs.previous_period_emails?.key, where).toEqual({ period: before })
        }
        // the listed emails are the first input's source emails, all of them over the pages
        expect(emails, where).toHaveLength(e.inputs[e.emails_of]?.value ?? -1)
        if (e.value === null) {
          nulls++
          expect(e.null_reason, where).toMatch(/is 0/)
        } else expect(e.null_reason, where).toBeNull()
      }
    // 2025-11 has no campaign email (emails_per_campaign 0/0) and no month before; 2026-01 has none
    // before it either
    expect(nulls).toBe(3)
    const november = usage.data[0] as Row
    expect([november.emails_sent, november.campaigns_used, november.emails_per_campaign]).toEqual([
      0,
      0,
      null,
    ])
  })

  it('lists another input’s source emails with input=…, and explains a month without a row as such', async () => {
    const { explanation, rows } = await explainAll<RatioBody>(
      '/v1/explain/usage/ratios?metric=emails_per_mailbox&period=2026-02&input=mailboxes_used',
    )
    expect(explanation.emails_of).toBe('mailboxes_used')
    expect(rows).toHaveLength(explanation.inputs.mailboxes_used?.value ?? -1)
    expect(new Set(rows.map((r) => r.email_account_id)).size).toBe(rows.length)
    const growth = await explainAll<RatioBody>(
      '/v1/explain/usage/ratios?metric=mom_growth&period=2026-02&input=previous_period_emails',
    )
    expect(growth.rows).toHaveLength(growth.explanation.inputs.previous_period_emails?.value ?? -1)
    for (const r of growth.rows) expect(String(r.day).slice(0, 7)).toBe('2026-01')
    // metric defaults to emails_per_mailbox
    const gap = await explainAll<RatioBody>('/v1/explain/usage/ratios?period=2025-12')
    expect(gap.explanation.metric).toBe('emails_per_mailbox')
    expect(gap.explanation.value).toBeNull()
    expect(gap.explanation.null_reason).toMatch(/no billing row for 2025-12/)
  })
})

describe('GET /v1/explain/{campaigns,mailboxes}/{id}/active-days', () => {
  const days = 'from=2026-01-15&to=2026-02-21'
  it('explains the active_days of every campaign as /v1/campaigns/performance returns it', async () => {
    const rows = await listAll(`/v1/campaigns/performance?${days}`)
    expect(rows.length).toBeGreaterThan(1)
    for (const row of rows) {
      const id = row.campaign_id as string
      const { explanation: e, rows: emails } = await explainAll<FigureBody>(
        `/v1/explain/campaigns/${id}/active-days?${days}`,
      )
      expect(e.subject).toBe('active_days')
      expect(e.value, id).toBe(row.active_days)
      expect(e.days, id).toHaveLength(row.active_days as number)
      expect(e.inputs.first_day, id).toBe(row.first_day)
      expect(e.inputs.last_day, id).toBe(row.last_day)
      expect(e.recomputed, id).toBe(row.active_days)
      expect(e.recomputed_matches, id).toBe(true)
      expect(e.reconciliation.map((c) => [c.check, c.holds])).toEqual([
        ['day_rows_count_active_days', true],
        ['days_sum_to_range', true],
      ])
      // the listed emails are the campaign's emails of the range; their days are the rows counted
      expect(emails, id).toHaveLength(row.sent as number)
      expect(new Set(emails.map((r) => r.day)).size, id).toBe(row.active_days)
      for (const r of emails) expect(r.campaign_id, id).toBe(id)
    }
  })

  it('explains the active_days of every mailbox as /v1/mailboxes returns it, 0 included', async () => {
    const rows = await listAll(`/v1/mailboxes?${days}`)
    expect(rows.some((r) => (r.active_days as number) > 0)).toBe(true)
    for (const row of rows) {
      const id = row.email_account_id as string
      const { explanation: e, rows: emails } = await explainAll<FigureBody>(
        `/v1/explain/mailboxes/${id}/active-days?${days}`,
      )
      expect(e.value, id).toBe(row.active_days)
      expect(e.recomputed, id).toBe(row.active_days)
      expect(e.days.map((d) => d.day)).toEqual([...new Set(emails.map((r) => r.day))].sort())
      expect(emails, id).toHaveLength(row.total_volume as number)
      expect(
        e.reconciliation.every((c) => c.holds),
        id,
      ).toBe(true)
    }
    // a month without any email: /v1/mailboxes says 0 days, and so does the explanation
    const empty = 'from=2025-12-01&to=2026-01-01'
    const idle = (await listAll(`/v1/mailboxes?${empty}`))[0] as Row
    expect(idle.active_days).toBe(0)
    const { explanation, rows: none } = await explainAll<FigureBody>(
      `/v1/explain/mailboxes/${idle.email_account_id}/active-days?${empty}`,
    )
    expect([explanation.value, explanation.recomputed, explanation.days, none]).toEqual([
      0,
      0,
      [],
      [],
    ])
  })
})

describe('GET /v1/explain: usage ratios and active_days, isolation and bad input', () => {
  it('answers another tenant’s campaign or mailbox with 404 and never lists its emails', async () => {
    for (const url of [
      `/v1/explain/campaigns/${other.campaign_id}/active-days?${range}`,
      `/v1/explain/mailboxes/${other.email_account_id}/active-days?${range}`,
    ]) {
      const response = await h.get(url, member)
      expect(response.status, url).toBe(404)
      expect(response.headers.get('content-type'), url).toBe('application/problem+json')
      expect(await response.text(), url).not.toContain(other.email_account_id)
    }
    // usage is the caller's own: every listed email and every input is the token's tenant's
    const { rows, explanation } = await explainAll<RatioBody>(
      '/v1/explain/usage/ratios?metric=emails_per_mailbox&period=2026-02',
    )
    expect(rows.length).toBeGreaterThan(0)
    const su = h.database.connect().db
    const accountsOf = async (tenant: string) =>
      new Set(
        (
          await sql<{
            id: string
          }>`select id from email_accounts where tenant_id = ${tenant}`.execute(su)
        ).rows.map((r) => r.id),
      )
    const ours = await accountsOf(tenantId)
    const theirsAccounts = await accountsOf(other.tenant_id)
    for (const r of rows) expect(ours.has(r.email_account_id as string)).toBe(true)
    expect(explanation.sql.figure.parameters).toContain(tenantId)
    expect(explanation.sql.figure.parameters).not.toContain(other.tenant_id)
    // the other tenant's token gets its own figure and emails, none of ours
    const theirs = await h.token({ tenant_id: other.tenant_id, role: 'member' })
    const response = await h.get(
      '/v1/explain/usage/ratios?metric=emails_per_mailbox&period=2026-02&limit=100',
      theirs,
    )
    expect(response.status).toBe(200)
    const body = (await response.json()) as { data: Row[]; explanation: RatioBody }
    expect(body.explanation.sql.figure.parameters).toContain(other.tenant_id)
    expect(body.data.length).toBeGreaterThan(0)
    for (const r of body.data) {
      expect(theirsAccounts.has(r.email_account_id as string)).toBe(true)
      expect(ours.has(r.email_account_id as string)).toBe(false)
    }
  })

  it('refuses bad parameters with 400 problem+json naming them', async () => {
    const cases: [string, string][] = [
      ['/v1/explain/usage/ratios?metric=', 'metric'],
      ['/v1/explain/usage/ratios?metric=emails_sent', 'metric'],
      ['/v1/explain/usage/ratios?metric=mom_growth&period=2026-13', 'period'],
      ['/v1/explain/usage/ratios?metric=mom_growth&input=mailboxes_used', 'input'],
      ['/v1/explain/usage/ratios?metric=mom_growth&input=nothing', 'input'],
      ['/v1/explain/usage/ratios?metric=mom_growth&limit=0', 'limit'],
      ['/v1/explain/campaigns/x/active-days?to=2026-02-01', 'from'],
      ['/v1/explain/campaigns/x/active-days?from=2026-02-01&to=2026-01-01', 'to'],
      ['/v1/explain/mailboxes/x/active-days?from=2026-01-01&to=2026-02-30', 'to'],
      ['/v1/explain/mailboxes/x/active-days?from=2026-01-01&to=2026-02-01&metric=sent', 'metric'],
    ]
    for (const [url, name] of cases) {
      const response = await h.get(url, member)
      expect(response.status, url).toBe(400)
      expect(response.headers.get('content-type'), url).toBe('application/problem+json')
      const body = (await response.json()) as { errors: { name: string }[] }
      expect(
        body.errors.map((e) => e.name),
        url,
      ).toContain(name)
    }
  })

  it('describes the routes, their admin variants and the schema in OpenAPI', async () => {
    const doc = (await (await h.get('/openapi.json', null)).json()) as {
      paths: Record<string, { get: { parameters: { name: string }[] } }>
      components: { schemas: Record<string, unknown> }
    }
    const expected: Record<string, string[]> = {
      '/v1/explain/usage/ratios': ['metric', 'period', 'input', 'limit', 'cursor'],
      '/v1/explain/campaigns/{campaignId}/active-days': ['from', 'to', 'campaignId'],
      '/v1/explain/mailboxes/{mailboxId}/active-days': ['from', 'to', 'mailboxId'],
    }
    for (const [path, names] of Object.entries(expected)) {
      const parameters = doc.paths[path]?.get.parameters.map((p) => p.name) ?? []
      expect(parameters, path).toEqual(expect.arrayContaining(names))
    }
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/admin/tenants/{tenantId}/explain/usage/ratios',
        '/v1/admin/tenants/{tenantId}/explain/campaigns/{campaignId}/active-days',
      ]),
    )
    expect(Object.keys(doc.components.schemas)).toContain('UsageRatioExplanation')
  })
})
