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

// ---------------------------------------------------------------------------------------------
// rates, mailbox health, warmup figures and lead rows: every metric explain accepts, against the
// figure the corresponding route returns, recomputed from the listed source emails (all pages)

type Row = Record<string, unknown>
interface Listed<E> {
  explanation: E
  rows: Row[]
}
interface Check {
  check: string
  holds: boolean
  parts_total: number
  total: number
}
interface CountPart {
  value: number
  source_count: number
  reconciliation: Check[]
}
interface RateBody {
  value: number | null
  numerator: CountPart
  denominator: CountPart
  interval: { lower: number; upper: number } | null
  insufficient_sample: boolean
  minimum_sample: number
  formula: string
  sql: { source: { statement: string; parameters: unknown[] } }
}
interface FigureBody {
  value: number | string | null
  recomputed: number | string | null
  recomputed_matches: boolean
  inputs: Record<string, number | string | boolean | null>
  sample: { size: number; minimum: number; insufficient: boolean } | null
  source_count: number
  formula: string
  reconciliation: Check[]
}

/** A route's explanation, with the source emails of every page (100 a page). */
async function explainAll<E>(url: string, token = member): Promise<Listed<E>> {
  const rows: Row[] = []
  let explanation: E | undefined
  let cursor: string | null = null
  do {
    const sep = url.includes('?') ? '&' : '?'
    const response = await h.get(
      `${url}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      token,
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

/** Every row of a list route (100 a page). */
async function listAll(url: string): Promise<Row[]> {
  const rows: Row[] = []
  let cursor: string | null = null
  do {
    const sep = url.includes('?') ? '&' : '?'
    const response = await h.get(
      `${url}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      member,
    )
    expect(response.status, url).toBe(200)
    const body = (await response.json()) as { data: Row[]; next_cursor?: string | null }
    rows.push(...body.data)
    cursor = body.next_cursor ?? null
  } while (cursor !== null)
  return rows
}

const RATES = {
  delivery_rate: ['delivered', 'sent'],
  open_rate: ['opened_tracked', 'delivered'],
  click_rate: ['clicked_tracked', 'delivered'],
  reply_rate: ['replied', 'delivered'],
  bounce_rate: ['bounced', 'sent'],
} as const

/** Whether a listed email is counted by a count, from its own columns. */
const counts: Record<string, (e: Row) => boolean> = {
  sent: () => true,
  delivered: (e) => e.status === 'delivered',
  opened_tracked: (e) => e.opened_at !== null,
  clicked_tracked: (e) => e.clicked_at !== null,
  replied: (e) => e.replied_at !== null,
  bounced: (e) => e.bounce_type !== null,
  unsubscribed: (e) => e.unsubscribed_at !== null,
  spam_complaints: (e) => e.complaint_at !== null,
}

const near = (a: number, b: number) => Math.abs(a - b) <= 0.005 + 1e-9

function expectRate(
  label: string,
  e: RateBody,
  rows: Row[],
  figures: Row,
  rate: keyof typeof RATES,
) {
  const [num, den] = RATES[rate]
  expect(e.value, label).toBe(figures[rate])
  expect(e.interval?.lower ?? null, label).toBe(figures[`${rate}_lower`])
  expect(e.interval?.upper ?? null, label).toBe(figures[`${rate}_upper`])
  expect(e.insufficient_sample, label).toBe(figures[`${rate}_insufficient_sample`])
  expect(e.numerator.value, label).toBe(figures[num])
  expect(e.denominator.value, label).toBe(figures[den])
  expect(e.insufficient_sample, label).toBe(e.denominator.value < e.minimum_sample)
  // the listed emails recompute numerator, denominator and rate
  const n = rows.filter((r) => r.in_numerator).length
  const d = rows.filter((r) => r.in_denominator).length
  expect([n, d], label).toEqual([e.numerator.value, e.denominator.value])
  for (const r of rows) {
    expect(r.in_numerator, label).toBe((counts[num] as (e: Row) => boolean)(r))
    expect(r.in_denominator, label).toBe((counts[den] as (e: Row) => boolean)(r))
  }
  expect(new Set(rows.map((r) => r.id)).size, label).toBe(rows.length)
  if (d === 0) expect(e.value, label).toBeNull()
  else expect(near(e.value as number, (100 * n) / d), label).toBe(true)
  for (const part of [e.numerator, e.denominator]) {
    expect(part.source_count, label).toBe(part.value)
    for (const c of part.reconciliation)
      expect(c, `${label}: ${c.check}`).toMatchObject({ holds: true })
  }
}

describe('GET /v1/explain: rates', () => {
  it('explains every rate of a campaign, a day of it and a step as performance, trend and funnel return them', async () => {
    const performance = (await listAll(`/v1/campaigns/performance?${range}`)).find(
      (r) => r.campaign_id === campaign.campaign_id,
    ) as Row
    const trend = (
      (await (
        await h.get(`/v1/campaigns/${campaign.campaign_id}/trend?${range}`, member)
      ).json()) as {
        data: Row[]
      }
    ).data
    const busiest = [...trend].sort((a, b) => (b.sent as number) - (a.sent as number))[0] as Row
    const day = busiest.day as string
    const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)
    const funnel = (
      (await (
        await h.get(`/v1/campaigns/${campaign.campaign_id}/funnel?${range}`, member)
      ).json()) as {
        data: Row[]
      }
    ).data.find((r) => r.sequence_step_id === campaign.step_id) as Row
    for (const rate of Object.keys(RATES) as (keyof typeof RATES)[]) {
      const base = `/v1/explain/campaigns/${campaign.campaign_id}/rates?rate=${rate}`
      const whole = await explainAll<RateBody>(`${base}&${range}`)
      expectRate(`campaign ${rate}`, whole.explanation, whole.rows, performance, rate)
      expect(whole.explanation.formula).toContain(rate)
      expect(whole.explanation.sql.source.parameters).toContain(campaign.tenant_id)
      const oneDay = await explainAll<RateBody>(`${base}&from=${day}&to=${next}`)
      expectRate(`${day} ${rate}`, oneDay.explanation, oneDay.rows, busiest, rate)
      for (const r of oneDay.rows) expect(r.day).toBe(day)
      const step = await explainAll<RateBody>(`${base}&step=${campaign.step_id}&${range}`)
      expectRate(`step ${rate}`, step.explanation, step.rows, funnel, rate)
    }
    expect(performance.open_rate_insufficient_sample).toBe(false)
  })

  it('explains the funnel shares of every step as the funnel returns them', async () => {
    const funnel = (
      (await (
        await h.get(`/v1/campaigns/${campaign.campaign_id}/funnel?${range}`, member)
      ).json()) as {
        data: Row[]
      }
    ).data
    expect(funnel.length).toBeGreaterThan(1)
    for (const [i, step] of funnel.entries())
      for (const share of ['share_of_first_step', 'conversion_from_previous'] as const) {
        const label = `${step.sequence_step_id} ${share}`
        const { explanation: e, rows } = await explainAll<
          Omit<RateBody, 'denominator'> & { denominator: CountPart | null }
        >(
          `/v1/explain/campaigns/${campaign.campaign_id}/rates?rate=${share}&step=${step.sequence_step_id}&${range}`,
        )
        const reference = share === 'share_of_first_step' ? funnel[0] : funnel[i - 1]
        expect(e.value, label).toBe(step[share])
        expect([e.interval, e.insufficient_sample], label).toEqual([null, null])
        expect(e.numerator.value, label).toBe(step.sent)
        expect(e.denominator?.value ?? null, label).toBe(reference?.sent ?? null)
        const n = rows.filter((r) => r.in_numerator).length
        const d = rows.filter((r) => r.in_denominator).length
        expect(n, label).toBe(step.sent)
        for (const r of rows) {
          expect(r.in_numerator, label).toBe(r.sequence_step_id === step.sequence_step_id)
          expect(r.in_denominator, label).toBe(r.sequence_step_id === reference?.sequence_step_id)
        }
        if (reference === undefined || d === 0) expect(e.value, label).toBeNull()
        else {
          expect(d, label).toBe(reference.sent)
          expect(near(e.value as number, (100 * n) / d), label).toBe(true)
        }
        for (const part of [e.numerator, ...(e.denominator ? [e.denominator] : [])])
          for (const c of part.reconciliation)
            expect(c, `${label}: ${c.check}`).toMatchObject({ holds: true })
      }
  })

  it('explains every rate of every mailbox of the tenant as /v1/mailboxes returns it', async () => {
    const rows = (await listAll(`/v1/mailboxes?${range}`)).filter((r) => (r.sent as number) > 0)
    expect(rows.length).toBeGreaterThan(1)
    for (const mailbox of rows.slice(0, 4))
      for (const rate of Object.keys(RATES) as (keyof typeof RATES)[]) {
        const { explanation, rows: emails } = await explainAll<RateBody>(
          `/v1/explain/mailboxes/${mailbox.email_account_id}/rates?rate=${rate}&${range}`,
        )
        expectRate(`${mailbox.email_account_id} ${rate}`, explanation, emails, mailbox, rate)
        for (const e of emails) expect(e.is_warmup).toBe(false)
      }
  })
})

/** H over the emails: 100 − min(50, ⌊600·b/n⌋) − min(50, ⌊10000·c/n⌋); 100 when n = 0. */
function health(emails: Row[]): number {
  const n = emails.length
  if (n === 0) return 100
  const b = emails.filter((e) => e.bounce_type !== null).length
  const c = emails.filter((e) => e.complaint_at !== null).length
  return 100 - Math.min(50, Math.floor((600 * b) / n)) - Math.min(50, Math.floor((10000 * c) / n))
}

const addDays = (day: string, n: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10)

describe('GET /v1/explain: mailbox health', () => {
  it('explains the health score /v1/mailboxes returns, recomputed from its 7 days of emails', async () => {
    const short = 'from=2026-02-10&to=2026-02-21'
    const rows = (await listAll(`/v1/mailboxes?${short}`)).filter((r) => r.last_active_day !== null)
    expect(rows.length).toBeGreaterThan(1)
    const idle = (await listAll(`/v1/mailboxes?${short}`)).find((r) => r.last_active_day === null)
    for (const mailbox of rows) {
      const label = String(mailbox.email_account_id)
      const { explanation: e, rows: emails } = await explainAll<FigureBody>(
        `/v1/explain/mailboxes/${mailbox.email_account_id}/health?${short}`,
      )
      expect(e.value, label).toBe(mailbox.health_score)
      expect(e.sample, label).toEqual({
        size: mailbox.health_sample_sent,
        minimum: 30,
        insufficient: mailbox.health_insufficient_sample,
      })
      const last = mailbox.last_active_day as string
      expect(e.inputs.last_active_day, label).toBe(last)
      for (const m of emails) {
        expect(m.email_account_id, label).toBe(mailbox.email_account_id)
        const day = m.day as string
        expect(day >= addDays(last, -6) && day <= last, label).toBe(true)
      }
      expect(emails.length, label).toBe(mailbox.health_sample_sent)
      expect(health(emails), label).toBe(e.value)
      expect([e.recomputed, e.recomputed_matches], label).toEqual([e.value, true])
      for (const c of e.reconciliation)
        expect(c, `${label}: ${c.check}`).toMatchObject({ holds: true })
    }
    if (idle) {
      const { explanation, rows: none } = await explainAll<FigureBody>(
        `/v1/explain/mailboxes/${idle.email_account_id}/health?${short}`,
      )
      expect([explanation.value, explanation.sample, none]).toEqual([null, null, []])
    }
  })
})

describe('GET /v1/explain: mailbox warmup progress', () => {
  it('explains the warmup_progress_percentage /v1/mailboxes returns, from the last warmup day', async () => {
    const su = h.database.connect().db
    const { rows: tz } = await sql<{ time_zone: string }>`
      select time_zone from tenants where id = ${campaign.tenant_id}`.execute(su)
    const zone = tz[0]?.time_zone as string
    const localDay = (iso: string) =>
      new Intl.DateTimeFormat('en-CA', {
        timeZone: zone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
      }).format(new Date(iso))
    const rows = await listAll(`/v1/mailboxes?${range}`)
    const warming = rows.filter((r) => r.warmup_progress_percentage !== null)
    expect(warming.length).toBeGreaterThan(0)
    const without = rows.find((r) => r.warmup_progress_percentage === null)
    for (const mailbox of [...warming.slice(0, 4), ...(without ? [without] : [])]) {
      const label = String(mailbox.email_account_id)
      const { explanation: e, rows: emails } = await explainAll<FigureBody>(
        `/v1/explain/mailboxes/${mailbox.email_account_id}/warmup-progress?${range}`,
      )
      expect(e.value, label).toBe(mailbox.warmup_progress_percentage)
      expect([e.recomputed, e.recomputed_matches, e.sample], label).toEqual([e.value, true, null])
      for (const c of e.reconciliation)
        expect(c, `${label}: ${c.check}`).toMatchObject({ holds: true })
      expect(emails.length, label).toBe(e.source_count)
      for (const m of emails) expect(m.is_warmup, label).toBe(true)
      if (e.value === null) {
        expect(emails, label).toEqual([])
        continue
      }
      const last = emails
        .map((m) => m.day as string)
        .sort()
        .at(-1) as string
      expect(e.inputs.last_warmup_day, label).toBe(last)
      const start = e.inputs.started_at === null ? null : localDay(e.inputs.started_at as string)
      const progress =
        start === null || last < start
          ? 0
          : Math.min(
              100,
              Math.floor(
                (100 * ((Date.parse(last) - Date.parse(start)) / 86_400_000 + 1)) /
                  (e.inputs.ramp_days as number),
              ),
            )
      expect(progress, label).toBe(e.value)
    }
  })
})

describe('GET /v1/explain: warmup figures', () => {
  it('explains every figure of /v1/warmup rows, recomputed from the warmup emails and status', async () => {
    const window = 'days=45&to=2026-02-21'
    const warmup = await listAll(`/v1/warmup?${window}`)
    expect(warmup.length).toBeGreaterThan(0)
    const su = h.database.connect().db
    const { rows: tz } = await sql<{ time_zone: string }>`
      select time_zone from tenants where id = ${campaign.tenant_id}`.execute(su)
    const zone = tz[0]?.time_zone as string
    const localDay = (iso: string) =>
      new Intl.DateTimeFormat('en-CA', {
        timeZone: zone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
      }).format(new Date(iso))
    const from = addDays('2026-02-21', -45)
    const metrics = [
      'avg_health_score',
      'category',
      'avg_progress_percentage',
      'avg_daily_progress_increase',
      'avg_delivery_rate',
      'warmup_sent',
      'tracking_days',
    ] as const
    for (const row of warmup.slice(0, 3)) {
      for (const metric of metrics) {
        const label = `${row.email_account_id} ${metric}`
        const { explanation: e, rows: emails } = await explainAll<FigureBody>(
          `/v1/explain/warmup/${row.email_account_id}?metric=${metric}&${window}`,
        )
        expect(e.value, label).toBe(row[metric])
        expect([e.recomputed, e.recomputed_matches], label).toEqual([e.value, true])
        expect(e.sample, label).toEqual({
          size: row.warmup_sent,
          minimum: 30,
          insufficient: row.insufficient_sample,
        })
        for (const c of e.reconciliation)
          expect(c, `${label}: ${c.check}`).toMatchObject({ holds: true })
        expect(emails.length, label).toBe(e.source_count)
        for (const m of emails)
          expect([m.is_warmup, m.email_account_id], label).toEqual([true, row.email_account_id])
        // recompute the figure from the listed emails and the warmup status inputs
        const byDay = new Map<string, Row[]>()
        for (const m of emails)
          byDay.set(m.day as string, [...(byDay.get(m.day as string) ?? []), m])
        const tracked = [...byDay.keys()].filter((d) => d >= from).sort()
        const start = e.inputs.started_at === null ? null : localDay(e.inputs.started_at as string)
        const ramp = e.inputs.ramp_days as number
        const progress = (d: string) =>
          start === null || d < start
            ? 0
            : Math.min(
                100,
                Math.floor((100 * ((Date.parse(d) - Date.parse(start)) / 86_400_000 + 1)) / ramp),
              )
        const dayHealth = (d: string) =>
          health(
            [...byDay.entries()]
              .filter(([k]) => k <= d && k >= addDays(d, -6))
              .flatMap(([, v]) => v),
          )
        const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length
        const inWindow = tracked.flatMap((d) => byDay.get(d) as Row[])
        const expected: Record<string, () => void> = {
          tracking_days: () => expect(tracked.length, label).toBe(e.value),
          warmup_sent: () => expect(inWindow.length, label).toBe(e.value),
          avg_health_score: () =>
            expect(near(mean(tracked.map(dayHealth)), e.value as number), label).toBe(true),
          category: () => {
            const sum = tracked.map(dayHealth).reduce((s, x) => s + x, 0)
            const k = tracked.length
            const category =
              sum >= 80 * k ? 'Excellent' : sum >= 60 * k ? 'Good' : sum >= 40 * k ? 'Fair' : 'Poor'
            expect(category, label).toBe(e.value)
          },
          avg_progress_percentage: () =>
            expect(near(mean(tracked.map(progress)), e.value as number), label).toBe(true),
          avg_delivery_rate: () =>
            expect(
              near(
                mean(
                  tracked.map((d) => {
                    const es = byDay.get(d) as Row[]
                    return (100 * es.filter((x) => x.status === 'delivered').length) / es.length
                  }),
                ),
                e.value as number,
              ),
              label,
            ).toBe(true),
          avg_daily_progress_increase: () => {
            const [first, last] = [tracked[0] as string, tracked[tracked.length - 1] as string]
            const span = (Date.parse(last) - Date.parse(first)) / 86_400_000
            expect(near((progress(last) - progress(first)) / span, e.value as number), label).toBe(
              true,
            )
          },
        }
        expected[metric]?.()
      }
    }
  })
})

describe('GET /v1/explain: lead rows', () => {
  it('explains every column of lead rows as /v1/campaigns/{id}/leads returns them', async () => {
    const leads = await listAll(`/v1/campaigns/${campaign.campaign_id}/leads`)
    const su = h.database.connect().db
    const { rows: steps } = await sql<{ id: string }>`
      select id from campaign_sequence_steps where tenant_id = ${campaign.tenant_id}
         and campaign_id = ${campaign.campaign_id} order by step_number desc limit 1`.execute(su)
    const finalStep = steps[0]?.id
    // one lead of every status present, and a few more
    const picked = new Map<string, Row>()
    for (const lead of leads)
      if (!picked.has(lead.status as string)) picked.set(lead.status as string, lead)
    const sample = [...picked.values(), ...leads.slice(0, 3)]
    expect(picked.size).toBeGreaterThan(1)
    for (const lead of sample)
      for (const metric of [...Object.keys(counts), 'status', 'last_sent_at']) {
        const label = `${lead.lead_id} ${metric}`
        const { explanation: e, rows: emails } = await explainAll<FigureBody>(
          `/v1/explain/campaigns/${campaign.campaign_id}/leads/${lead.lead_id}?metric=${metric}`,
        )
        expect(e.value, label).toBe(lead[metric])
        expect([e.recomputed, e.recomputed_matches], label).toEqual([e.value, true])
        for (const c of e.reconciliation)
          expect(c, `${label}: ${c.check}`).toMatchObject({ holds: true })
        for (const m of emails)
          expect([m.campaign_id, m.lead_id, m.is_warmup], label).toEqual([
            campaign.campaign_id,
            lead.lead_id,
            false,
          ])
        expect(emails.length, label).toBe(e.source_count)
        if (metric in counts) {
          expect(emails.length, label).toBe(e.value)
          expect(emails.every(counts[metric] as (e: Row) => boolean), label).toBe(true)
          expect(
            e.reconciliation.map((c) => c.check),
            label,
          ).toEqual(['source_matches_figure', 'leads_sum_to_campaign'])
        } else if (metric === 'status') {
          const n = (k: string) => emails.filter(counts[k] as (e: Row) => boolean).length
          const status =
            n('spam_complaints') > 0
              ? 'complained'
              : n('unsubscribed') > 0
                ? 'unsubscribed'
                : n('bounced') > 0
                  ? 'bounced'
                  : n('replied') > 0
                    ? 'replied'
                    : emails.some((m) => m.sequence_step_id === finalStep)
                      ? 'completed'
                      : 'contacted'
          expect(status, label).toBe(e.value)
        } else {
          const latest = emails
            .map((m) => m.sent_at as string)
            .sort()
            .at(-1) as string
          expect(latest.slice(0, 23), label).toBe((e.value as string).slice(0, 23))
        }
      }
  })
})

describe('GET /v1/explain: isolation and bad input of the new routes', () => {
  it('answers another tenant’s mailbox, campaign or lead with 404, never its rows', async () => {
    const su = h.database.connect().db
    const { rows } = await sql<{ mailbox: string; campaign_id: string; lead_id: string }>`
      select (select email_account_id from mailbox_analytics where tenant_id <> ${campaign.tenant_id}
                 order by email_account_id limit 1) as mailbox,
             la.campaign_id, la.lead_id
        from lead_analytics la where la.tenant_id <> ${campaign.tenant_id} limit 1`.execute(su)
    const theirs = rows[0] as { mailbox: string; campaign_id: string; lead_id: string }
    for (const url of [
      `/v1/explain/campaigns/${theirs.campaign_id}/rates?rate=open_rate&${range}`,
      `/v1/explain/campaigns/${campaign.campaign_id}/rates?rate=open_rate&step=${theirs.campaign_id}-s1&${range}`,
      `/v1/explain/mailboxes/${theirs.mailbox}/rates?rate=bounce_rate&${range}`,
      `/v1/explain/mailboxes/${theirs.mailbox}/health?${range}`,
      `/v1/explain/mailboxes/${theirs.mailbox}/warmup-progress?${range}`,
      `/v1/explain/warmup/${theirs.mailbox}?days=45&to=2026-02-21`,
      `/v1/explain/campaigns/${theirs.campaign_id}/leads/${theirs.lead_id}`,
      `/v1/explain/campaigns/${campaign.campaign_id}/leads/${theirs.lead_id}`,
    ]) {
      const response = await h.get(url, member)
      expect(response.status, url).toBe(404)
      expect(response.headers.get('content-type'), url).toBe('application/problem+json')
      const text = await response.text()
      expect(text, url).not.toContain(theirs.mailbox)
      expect(text, url).not.toContain(theirs.lead_id)
    }
  })

  it('refuses bad parameters with 400 problem+json naming them', async () => {
    const c = campaign.campaign_id
    const cases: [string, string][] = [
      [`/v1/explain/campaigns/${c}/rates?${range}`, 'rate'],
      [`/v1/explain/campaigns/${c}/rates?rate=sent&${range}`, 'rate'],
      [`/v1/explain/campaigns/${c}/rates?rate=share_of_first_step&${range}`, 'step'],
      [`/v1/explain/mailboxes/x/rates?rate=share_of_first_step&${range}`, 'rate'],
      [`/v1/explain/campaigns/${c}/rates?rate=open_rate&from=2026-02-01&to=2026-01-01`, 'to'],
      [`/v1/explain/mailboxes/x/rates?rate=open_rate&from=2026-02-01`, 'to'],
      [`/v1/explain/mailboxes/x/health?to=2026-02-01`, 'from'],
      [`/v1/explain/mailboxes/x/health?${range}&metric=health_score`, 'metric'],
      ['/v1/explain/mailboxes/x/warmup-progress?from=2026-01-01&to=2026-13-01', 'to'],
      ['/v1/explain/warmup/x?metric=open_rate', 'metric'],
      ['/v1/explain/warmup/x?days=0', 'days'],
      ['/v1/explain/warmup/x?to=2026-02-30', 'to'],
      [`/v1/explain/campaigns/${c}/leads/x?metric=open_rate`, 'metric'],
      [`/v1/explain/campaigns/${c}/leads/x?limit=0`, 'limit'],
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

  it('describes the new routes and their parameters in OpenAPI', async () => {
    const doc = (await (await h.get('/openapi.json', null)).json()) as {
      paths: Record<string, { get: { parameters: { name: string; in: string }[] } }>
      components: { schemas: Record<string, unknown> }
    }
    const expected: Record<string, string[]> = {
      '/v1/explain/campaigns/{campaignId}/rates': ['rate', 'step', 'from', 'to', 'campaignId'],
      '/v1/explain/mailboxes/{mailboxId}/rates': ['rate', 'from', 'to', 'mailboxId'],
      '/v1/explain/mailboxes/{mailboxId}/health': ['from', 'to', 'mailboxId'],
      '/v1/explain/mailboxes/{mailboxId}/warmup-progress': ['from', 'to', 'mailboxId'],
      '/v1/explain/warmup/{mailboxId}': ['metric', 'days', 'to', 'mailboxId'],
      '/v1/explain/campaigns/{campaignId}/leads/{leadId}': ['metric', 'campaignId', 'leadId'],
    }
    for (const [path, names] of Object.entries(expected)) {
      expect(doc.paths[path], path).toBeDefined()
      const parameters = doc.paths[path]?.get.parameters.map((p) => p.name) ?? []
      expect(parameters, path).toEqual(expect.arrayContaining(names))
    }
    expect(Object.keys(doc.paths)).toContain(
      '/v1/admin/tenants/{tenantId}/explain/warmup/{mailboxId}',
    )
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['RateExplanation', 'RateSourceEmailRow', 'FigureExplanation']),
    )
  })
})
