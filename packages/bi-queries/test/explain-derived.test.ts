import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  explainFunnelShare,
  explainLead,
  explainMailboxHealth,
  explainRate,
  explainWarmup,
  explainWarmupProgress,
  type FigureExplanation,
  FUNNEL_SHARES,
  LEAD_METRICS,
  RATE_COLUMNS,
  RATE_TABLES,
  type RateExplanation,
  type RateTable,
  stepFunnel,
  WARMUP_EXPLAINED,
} from '../src/index.js'
import { type GeneratedDatabase, openGeneratedDatabase } from './support/generated-database.js'

let g: GeneratedDatabase
const FROM = '2026-01-01'
const TO = '2026-03-15'

beforeAll(async () => {
  g = await openGeneratedDatabase('explain_derived', {
    seed: 11,
    tenants: 2,
    emails: 5000,
    days: 50,
    end: '2026-03-14',
  })
})

afterAll(async () => {
  await g?.database.drop()
})

async function firstOf(query: string): Promise<{ tenant_id: string; id: string }[]> {
  const { rows } = await sql<{ tenant_id: string; id: string }>`${sql.raw(query)}`.execute(g.su)
  return rows
}

const KEYS: Record<RateTable, string> = {
  campaign_analytics:
    'select distinct on (tenant_id) tenant_id, campaign_id as id from campaign_analytics order by tenant_id, campaign_id',
  sequence_step_analytics:
    'select distinct on (tenant_id) tenant_id, sequence_step_id as id from sequence_step_analytics order by tenant_id, sequence_step_id',
  mailbox_analytics:
    'select distinct on (tenant_id) tenant_id, email_account_id as id from mailbox_analytics where sent > 0 order by tenant_id, email_account_id',
}

function expectFigure(e: FigureExplanation | null, label: string): FigureExplanation {
  expect(e, label).not.toBeNull()
  const f = e as FigureExplanation
  expect([f.recomputed, f.recomputed_matches], label).toEqual([f.value, true])
  for (const c of f.reconciliation)
    expect(c, `${label}: ${c.check}`).toMatchObject({ holds: true, parts_total: c.total })
  return f
}

describe('explaining derived figures on generated, aggregated data', () => {
  it('reconciles both counts of every rate of a campaign, a step and a mailbox per tenant', async () => {
    let explained = 0
    for (const table of RATE_TABLES)
      for (const { tenant_id, id } of await firstOf(KEYS[table]))
        for (const rate of RATE_COLUMNS) {
          const e = (await g.asTenant(tenant_id, (trx) =>
            explainRate(trx, { tenantId: tenant_id, table, rate, key: id, from: FROM, to: TO }),
          )) as RateExplanation
          const label = `${table} ${id} ${rate}`
          const den = e.denominator as RateExplanation['numerator']
          for (const part of [e.numerator, den]) {
            expect(part.source_count, label).toBe(part.value)
            for (const c of part.reconciliation) expect(c.holds, `${label}: ${c.check}`).toBe(true)
          }
          expect(den.value, label).toBeGreaterThan(0)
          expect(e.value, label).toBeCloseTo((100 * e.numerator.value) / den.value, 2)
          expect(e.interval?.lower ?? -1, label).toBeLessThanOrEqual(e.value as number)
          expect(e.interval?.upper ?? -1, label).toBeGreaterThanOrEqual(e.value as number)
          expect(e.insufficient_sample, label).toBe(den.value < e.minimum_sample)
          explained++
        }
    expect(explained).toBe(2 * 3 * 5)
  })

  it('explains both funnel shares of every step of a campaign per tenant as stepFunnel returns them', async () => {
    let explained = 0
    for (const { tenant_id, id } of await firstOf(KEYS.campaign_analytics)) {
      const funnel = await g.asTenant(tenant_id, (trx) =>
        stepFunnel(trx, { tenantId: tenant_id, campaignId: id, from: FROM, to: TO }),
      )
      for (const row of funnel ?? [])
        for (const share of FUNNEL_SHARES) {
          const e = (await g.asTenant(tenant_id, (trx) =>
            explainFunnelShare(trx, {
              tenantId: tenant_id,
              campaignId: id,
              step: row.sequence_step_id,
              share,
              from: FROM,
              to: TO,
            }),
          )) as RateExplanation
          const label = `${row.sequence_step_id} ${share}`
          expect(e.value, label).toBe(row[share])
          expect(e.numerator.value, label).toBe(row.sent)
          for (const part of [e.numerator, ...(e.denominator ? [e.denominator] : [])])
            for (const c of part.reconciliation) expect(c.holds, `${label}: ${c.check}`).toBe(true)
          explained++
        }
    }
    expect(explained).toBeGreaterThan(4)
  })

  it('recomputes the health score of every mailbox and every warmup figure from the source', async () => {
    const mailboxes = await firstOf(
      'select tenant_id, id from email_accounts order by tenant_id, id',
    )
    let scored = 0
    let progressed = 0
    for (const { tenant_id, id } of mailboxes) {
      const health = expectFigure(
        await g.asTenant(tenant_id, (trx) =>
          explainMailboxHealth(trx, { tenantId: tenant_id, mailboxId: id, from: FROM, to: TO }),
        ),
        `${id} health`,
      )
      const progress = expectFigure(
        await g.asTenant(tenant_id, (trx) =>
          explainWarmupProgress(trx, { tenantId: tenant_id, mailboxId: id, from: FROM, to: TO }),
        ),
        `${id} warmup progress`,
      )
      if (progress.value !== null) progressed++
      if (health.value !== null) {
        scored++
        expect(health.source_count).toBe(health.sample?.size)
        expect(health.sample?.insufficient).toBe((health.sample?.size ?? 0) < 30)
      }
    }
    expect(scored).toBeGreaterThan(0)
    expect(progressed).toBeGreaterThan(0)
    const warmups = await firstOf(
      "select tenant_id, email_account_id as id from warmup_analytics where day >= '2026-02-01' group by 1, 2 having count(*) >= 3 order by 1, 2 limit 4",
    )
    expect(warmups.length).toBeGreaterThan(0)
    for (const { tenant_id, id } of warmups)
      for (const metric of WARMUP_EXPLAINED) {
        const e = expectFigure(
          await g.asTenant(tenant_id, (trx) =>
            explainWarmup(trx, {
              tenantId: tenant_id,
              mailboxId: id,
              metric,
              days: 42,
              to: TO,
            }),
          ),
          `${id} ${metric}`,
        )
        expect(e.value, `${id} ${metric}`).not.toBeNull()
      }
  })

  it('recomputes every column of a lead row and reconciles its counts with the campaign', async () => {
    const leads = await firstOf(
      "select distinct on (tenant_id, status) tenant_id, campaign_id || '|' || lead_id as id from lead_analytics order by tenant_id, status, lead_id",
    )
    expect(new Set(leads.map((l) => l.tenant_id)).size).toBe(2)
    for (const { tenant_id, id } of leads) {
      const [campaignId, leadId] = id.split('|') as [string, string]
      for (const metric of LEAD_METRICS) {
        const e = expectFigure(
          await g.asTenant(tenant_id, (trx) =>
            explainLead(trx, { tenantId: tenant_id, campaignId, leadId, metric }),
          ),
          `${id} ${metric}`,
        )
        if (metric === 'sent') expect(e.value).toBeGreaterThan(0)
      }
    }
  })

  it('finds nothing of another tenant, even when its id is named inside a tenant’s transaction', async () => {
    const [a, b] = (await firstOf(KEYS.mailbox_analytics)) as [
      { tenant_id: string; id: string },
      { tenant_id: string; id: string },
    ]
    const [lead] = await firstOf(
      `select tenant_id, campaign_id || '|' || lead_id as id from lead_analytics where tenant_id = '${b.tenant_id}' limit 1`,
    )
    const [campaignId, leadId] = (lead?.id ?? '').split('|') as [string, string]
    for (const tenantId of [a.tenant_id, b.tenant_id]) {
      const found = await g.asTenant(a.tenant_id, async (trx) => [
        await explainRate(trx, {
          tenantId,
          table: 'mailbox_analytics',
          rate: 'open_rate',
          key: b.id,
          from: FROM,
          to: TO,
        }),
        await explainMailboxHealth(trx, { tenantId, mailboxId: b.id, from: FROM, to: TO }),
        await explainWarmupProgress(trx, { tenantId, mailboxId: b.id, from: FROM, to: TO }),
        await explainWarmup(trx, {
          tenantId,
          mailboxId: b.id,
          metric: 'category',
          days: 30,
          to: TO,
        }),
        await explainLead(trx, { tenantId, campaignId, leadId, metric: 'sent' }),
      ])
      expect(found, tenantId).toEqual([null, null, null, null, null])
    }
  })

  it('names the parameter that is wrong', async () => {
    const t = 't01'
    const run = <T>(
      fn: (trx: Parameters<Parameters<GeneratedDatabase['asTenant']>[1]>[0]) => Promise<T>,
    ) => g.asTenant(t, fn)
    await expect(
      run((trx) =>
        explainRate(trx, {
          tenantId: t,
          table: 'campaign_analytics',
          rate: 'sent' as never,
          key: 'x',
          from: FROM,
          to: TO,
        }),
      ),
    ).rejects.toMatchObject({ parameter: 'metric' })
    await expect(
      run((trx) => explainMailboxHealth(trx, { tenantId: t, mailboxId: 'x', from: TO, to: FROM })),
    ).rejects.toMatchObject({ parameter: 'to' })
    await expect(
      run((trx) =>
        explainWarmup(trx, { tenantId: t, mailboxId: 'x', metric: 'category', days: 0 }),
      ),
    ).rejects.toMatchObject({ parameter: 'days' })
    await expect(
      run((trx) =>
        explainLead(trx, {
          tenantId: t,
          campaignId: 'x',
          leadId: 'y',
          metric: 'open_rate' as never,
        }),
      ),
    ).rejects.toMatchObject({ parameter: 'metric' })
  })
})
