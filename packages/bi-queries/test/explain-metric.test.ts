import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  EXPLAINABLE_METRICS,
  type ExplainableTable,
  type ExplainMetricParams,
  explainMetric,
  InvalidQueryError,
  type MetricExplanation,
  type SourceEmailRow,
} from '../src/index.js'
import { allPages } from './support/analytics-database.js'
import { type GeneratedDatabase, openGeneratedDatabase } from './support/generated-database.js'

let g: GeneratedDatabase
// generated window: 60 local days ending 2026-03-14, so January, February and March are touched
const FROM = '2026-01-01'
const TO = '2026-03-15'

beforeAll(async () => {
  g = await openGeneratedDatabase('explain', {
    seed: 8,
    tenants: 3,
    emails: 12_000,
    days: 60,
    end: '2026-03-14',
  })
})

afterAll(async () => {
  await g?.database.drop()
})

async function ids(query: string): Promise<{ tenant_id: string; id: string }[]> {
  const { rows } = await sql<{ tenant_id: string; id: string }>`${sql.raw(query)}`.execute(g.su)
  return rows
}

/** The explanation, with every page of its source emails. */
async function explainAll(
  tenantId: string,
  params: Omit<ExplainMetricParams, 'tenantId'>,
): Promise<{ first: MetricExplanation; emails: SourceEmailRow[] }> {
  let first: MetricExplanation | undefined
  const { rows } = await allPages(async (cursor) => {
    const e = await g.asTenant(tenantId, (trx) =>
      explainMetric(trx, { ...params, tenantId, limit: 1000, cursor }),
    )
    if (e === null) throw new Error(`nothing to explain for ${JSON.stringify(params)}`)
    first ??= e
    return e.emails
  })
  return { first: first as MetricExplanation, emails: rows }
}

function expectReconciled(e: MetricExplanation, emails: SourceEmailRow[], label: string) {
  for (const c of e.reconciliation)
    expect(c, `${label}: ${c.check}`).toMatchObject({ holds: true, parts_total: c.total })
  expect(e.source_count, label).toBe(e.value)
  expect(emails.length, `${label}: listed source emails`).toBe(e.value)
  expect(new Set(emails.map((m) => m.id)).size, `${label}: no email listed twice`).toBe(
    emails.length,
  )
}

describe('explainMetric on generated, aggregated data', () => {
  it('reconciles every metric of every daily table, and lists exactly the figure’s emails', async () => {
    const keys: Record<Exclude<ExplainableTable, 'billing_analytics'>, string> = {
      campaign_analytics:
        'select distinct on (tenant_id) tenant_id, campaign_id as id from campaign_analytics order by tenant_id, campaign_id',
      sequence_step_analytics:
        'select distinct on (tenant_id) tenant_id, sequence_step_id as id from sequence_step_analytics order by tenant_id, sequence_step_id desc',
      mailbox_analytics:
        'select distinct on (tenant_id) tenant_id, email_account_id as id from mailbox_analytics where sent > 0 order by tenant_id, email_account_id',
      warmup_analytics:
        'select distinct on (tenant_id) tenant_id, email_account_id as id from warmup_analytics order by tenant_id, email_account_id desc',
    }
    const checksSeen = new Set<string>()
    let nonZero = 0
    let explained = 0
    for (const [table, query] of Object.entries(keys) as [keyof typeof keys, string][]) {
      const cells = await ids(query)
      expect(cells.length, table).toBe(3)
      for (const { tenant_id, id } of cells)
        for (const metric of EXPLAINABLE_METRICS[table]) {
          const { first, emails } = await explainAll(tenant_id, {
            table,
            metric,
            key: id,
            from: FROM,
            to: TO,
          })
          const label = `${table}.${metric} of ${id}`
          expectReconciled(first, emails, label)
          for (const c of first.reconciliation) checksSeen.add(c.check)
          expect(first.formula, label).toContain(metric)
          expect(first.sql.source.statement, label).toMatch(/from emails e/)
          expect(first.sql.source.parameters, label).toContain(tenant_id)
          explained++
          if (first.value > 0) nonZero++
          if (first.value > 0 && metric === 'sent' && table !== 'warmup_analytics')
            expect(
              first.reconciliation.map((c) => c.check),
              label,
            ).toContain(
              table === 'mailbox_analytics' ? 'mailboxes_sum_to_usage' : 'campaigns_sum_to_usage',
            )
        }
    }
    expect(explained).toBe(3 * (9 + 8 + 9 + 8))
    // the data is not all zeros: most figures are real counts
    expect(nonZero).toBeGreaterThan(explained / 2)
    expect([...checksSeen].sort()).toEqual([
      'campaigns_sum_to_usage',
      'days_sum_to_range',
      'mailboxes_sum_to_usage',
      'source_matches_figure',
      'steps_sum_to_campaign',
    ])
  })

  it('reconciles every billing measure of every month with the campaign rows', async () => {
    const months = await ids(
      "select tenant_id, to_char(period_start at time zone t.time_zone, 'YYYY-MM') as id from billing_analytics b join tenants t on t.id = b.tenant_id order by 1, 2",
    )
    expect(months.length).toBeGreaterThanOrEqual(6)
    for (const { tenant_id, id } of months)
      for (const metric of EXPLAINABLE_METRICS.billing_analytics) {
        const { first, emails } = await explainAll(tenant_id, {
          table: 'billing_analytics',
          metric,
          period: id,
        })
        expectReconciled(first, emails, `${tenant_id} ${id} ${metric}`)
        // a month may have no warmups; every generated month has sends
        if (metric === 'emails_sent' || metric === 'mailboxes_used')
          expect(first.value, `${tenant_id} ${id} ${metric}`).toBeGreaterThan(0)
        if (metric === 'emails_sent')
          expect(first.reconciliation.map((c) => c.check)).toEqual([
            'source_matches_figure',
            'campaigns_sum_to_usage',
          ])
      }
  })

  it('explains one day’s cell: its day row, its steps and its emails', async () => {
    const [cell] = await ids(
      "select tenant_id, campaign_id || '|' || day as id from campaign_analytics where opened_tracked > 0 order by opened_tracked desc, campaign_id limit 1",
    )
    const [campaignId, day] = (cell?.id ?? '').split('|') as [string, string]
    const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)
    const { first, emails } = await explainAll(cell?.tenant_id ?? '', {
      table: 'campaign_analytics',
      metric: 'opened_tracked',
      key: campaignId,
      from: day,
      to: next,
    })
    expectReconciled(first, emails, 'one day')
    const days = first.reconciliation.find((c) => c.check === 'days_sum_to_range')
    expect(days?.parts).toEqual([{ label: day, value: first.value }])
    for (const email of emails) {
      expect(email).toMatchObject({ day, campaign_id: campaignId, is_warmup: false })
      expect(email.opened_at).not.toBeNull()
    }
  })

  it('pages the source emails by keyset without repeats or gaps', async () => {
    const [cell] = await ids(
      'select tenant_id, campaign_id as id from campaign_analytics group by 1, 2 order by sum(sent) desc limit 1',
    )
    const params = {
      tenantId: cell?.tenant_id ?? '',
      table: 'campaign_analytics' as const,
      metric: 'sent' as const,
      key: cell?.id ?? '',
      from: FROM,
      to: TO,
    }
    const { rows, pages } = await allPages(async (cursor) => {
      const e = await g.asTenant(params.tenantId, (trx) =>
        explainMetric(trx, { ...params, limit: 97, cursor }),
      )
      return (e as MetricExplanation).emails
    })
    const whole = await explainAll(params.tenantId, params)
    expect(pages).toBeGreaterThan(2)
    expect(rows.map((r) => r.id)).toEqual(whole.emails.map((r) => r.id))
    const numeric = rows.map((r) => BigInt(r.id))
    expect(numeric.every((id, i) => i === 0 || id > (numeric[i - 1] as bigint))).toBe(true)
  })

  it('does not explain another tenant’s cell, and shows only the tenant’s emails', async () => {
    const campaigns = await ids(
      'select distinct on (tenant_id) tenant_id, campaign_id as id from campaign_analytics order by tenant_id, campaign_id',
    )
    const [a, b] = campaigns as [
      { tenant_id: string; id: string },
      { tenant_id: string; id: string },
    ]
    const theirs = await g.asTenant(a.tenant_id, (trx) =>
      explainMetric(trx, {
        tenantId: a.tenant_id,
        table: 'campaign_analytics',
        metric: 'sent',
        key: b.id,
        from: FROM,
        to: TO,
      }),
    )
    expect(theirs).toBeNull()
    // naming the other tenant in the parameters does not help: row level security scopes the reader
    const named = await g.asTenant(a.tenant_id, (trx) =>
      explainMetric(trx, {
        tenantId: b.tenant_id,
        table: 'campaign_analytics',
        metric: 'sent',
        key: b.id,
        from: FROM,
        to: TO,
      }),
    )
    expect(named).toBeNull()
    const billing = await g.asTenant(a.tenant_id, (trx) =>
      explainMetric(trx, {
        tenantId: b.tenant_id,
        table: 'billing_analytics',
        metric: 'emails_sent',
        period: '2026-02',
      }),
    )
    expect(billing).toBeNull()
    const own = await explainAll(a.tenant_id, {
      table: 'billing_analytics',
      metric: 'emails_sent',
      period: '2026-02',
    })
    const tenants = await sql<{ tenant_id: string }>`
      select distinct tenant_id from emails where id = any(${own.emails.map((e) => e.id)}::bigint[])`.execute(
      g.su,
    )
    expect(tenants.rows).toEqual([{ tenant_id: a.tenant_id }])
  })

  it('names the parameter that is wrong', async () => {
    const attempt = (params: Partial<ExplainMetricParams>) =>
      g.asTenant('t01', (trx) =>
        explainMetric(trx, {
          tenantId: 't01',
          table: 'campaign_analytics',
          metric: 'sent',
          ...params,
        } as ExplainMetricParams),
      )
    await expect(attempt({ key: 'x', from: FROM, to: FROM })).rejects.toMatchObject({
      parameter: 'to',
    })
    await expect(attempt({ from: FROM, to: TO })).rejects.toMatchObject({
      parameter: 'campaign_id',
    })
    await expect(
      attempt({
        table: 'sequence_step_analytics',
        metric: 'completed_leads',
        key: 'x',
        from: FROM,
        to: TO,
      }),
    ).rejects.toBeInstanceOf(InvalidQueryError)
    await expect(
      attempt({ table: 'billing_analytics', metric: 'emails_sent', period: '2026-13' }),
    ).rejects.toMatchObject({ parameter: 'period' })
  })
})
