import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  campaignPerformance,
  explainActiveDays,
  explainUsageRatio,
  mailboxes,
  tenantUsage,
  USAGE_RATIOS,
} from '../src/index.js'
import { type GeneratedDatabase, openGeneratedDatabase } from './support/generated-database.js'

let g: GeneratedDatabase
let tenants: string[]
const FROM = '2026-01-01'
const TO = '2026-03-15'

beforeAll(async () => {
  g = await openGeneratedDatabase('explain_usage_ratio', {
    seed: 12,
    tenants: 2,
    emails: 3000,
    days: 50,
    end: '2026-03-14',
  })
  const { rows } = await sql<{ id: string }>`select id from tenants order by id`.execute(g.su)
  tenants = rows.map((r) => r.id)
})

afterAll(async () => {
  await g?.database.drop()
})

describe('explainUsageRatio and explainActiveDays', () => {
  it('give every usage ratio and every active_days as tenantUsage, campaignPerformance and mailboxes return them', async () => {
    expect(tenants).toHaveLength(2)
    for (const tenantId of tenants)
      await g.asTenant(tenantId, async (trx) => {
        const usage = await tenantUsage(trx, { tenantId, from: FROM, to: TO })
        expect(usage.length).toBeGreaterThan(1)
        for (const row of usage)
          for (const ratio of USAGE_RATIOS) {
            const e = await explainUsageRatio(trx, { tenantId, ratio, period: row.period })
            expect(
              [e?.value, e?.recomputed, e?.recomputed_matches],
              `${row.period} ${ratio}`,
            ).toEqual([row[ratio], row[ratio], true])
          }
        const campaigns = await campaignPerformance(trx, {
          tenantId,
          from: FROM,
          to: TO,
          limit: 500,
        })
        for (const c of campaigns.rows) {
          const e = await explainActiveDays(trx, {
            tenantId,
            table: 'campaign_analytics',
            key: c.campaign_id,
            from: FROM,
            to: TO,
          })
          expect([e?.value, e?.recomputed, e?.days.length], c.campaign_id).toEqual([
            c.active_days,
            c.active_days,
            c.active_days,
          ])
        }
        const boxes = await mailboxes(trx, { tenantId, from: FROM, to: TO, limit: 500 })
        for (const m of boxes.rows) {
          const e = await explainActiveDays(trx, {
            tenantId,
            table: 'mailbox_analytics',
            key: m.email_account_id,
            from: FROM,
            to: TO,
          })
          expect([e?.value, e?.recomputed, e?.source_count], m.email_account_id).toEqual([
            m.active_days,
            m.active_days,
            m.total_volume,
          ])
        }
      })
  })

  it('finds nothing of another tenant inside a tenant’s transaction (RLS), even named explicitly', async () => {
    const [a, b] = tenants as [string, string]
    const { rows } = await sql<{ campaign_id: string; email_account_id: string }>`
      select (select campaign_id from campaign_analytics where tenant_id = ${b} limit 1) as campaign_id,
             (select email_account_id from mailbox_analytics where tenant_id = ${b} limit 1) as email_account_id`.execute(
      g.su,
    )
    const theirs = rows[0] as { campaign_id: string; email_account_id: string }
    for (const tenantId of [a, b]) {
      const found = await g.asTenant(a, async (trx) => [
        await explainActiveDays(trx, {
          tenantId,
          table: 'campaign_analytics',
          key: theirs.campaign_id,
          from: FROM,
          to: TO,
        }),
        await explainActiveDays(trx, {
          tenantId,
          table: 'mailbox_analytics',
          key: theirs.email_account_id,
          from: FROM,
          to: TO,
        }),
      ])
      expect(found, tenantId).toEqual([null, null])
    }
    // b's usage read inside a's transaction: RLS hides tenant b itself, so there is nothing to explain
    const usage = await g.asTenant(a, (trx) =>
      explainUsageRatio(trx, { tenantId: b, ratio: 'emails_per_mailbox', period: '2026-02' }),
    )
    expect(usage).toBeNull()
  })

  it('names the parameter that is wrong', async () => {
    const t = tenants[0] as string
    const run = <T>(
      fn: (trx: Parameters<Parameters<GeneratedDatabase['asTenant']>[1]>[0]) => Promise<T>,
    ) => g.asTenant(t, fn)
    await expect(
      run((trx) => explainUsageRatio(trx, { tenantId: t, ratio: 'emails_sent' as never })),
    ).rejects.toMatchObject({ parameter: 'metric' })
    await expect(
      run((trx) =>
        explainUsageRatio(trx, { tenantId: t, ratio: 'mom_growth', input: 'mailboxes_used' }),
      ),
    ).rejects.toMatchObject({ parameter: 'input' })
    await expect(
      run((trx) => explainUsageRatio(trx, { tenantId: t, ratio: 'mom_growth', period: '2026-00' })),
    ).rejects.toMatchObject({ parameter: 'period' })
    await expect(
      run((trx) =>
        explainActiveDays(trx, {
          tenantId: t,
          table: 'warmup_analytics' as never,
          key: 'x',
          from: FROM,
          to: TO,
        }),
      ),
    ).rejects.toMatchObject({ parameter: 'table' })
    await expect(
      run((trx) =>
        explainActiveDays(trx, {
          tenantId: t,
          table: 'campaign_analytics',
          key: 'x',
          from: TO,
          to: FROM,
        }),
      ),
    ).rejects.toMatchObject({ parameter: 'to' })
  })
})
