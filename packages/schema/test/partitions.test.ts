import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROLES } from '../src/index.js'
import { createTestDatabase, type TestDatabase } from '../src/testing/index.js'
import { pgConnection } from './support/queryable.js'

let database: TestDatabase

beforeAll(async () => {
  database = await createTestDatabase({ label: 'partitions' })
})

afterAll(async () => {
  await database?.drop()
})

async function bounds(url: string, table: string): Promise<string[]> {
  const q = await pgConnection(url)
  try {
    const { rows } = await q.query<{ b: string }>(
      `select c.relname || ' ' || pg_get_expr(c.relpartbound, c.oid) as b
         from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = $1::regclass order by 1`,
      [table],
    )
    return rows.map((r) => r.b)
  } finally {
    await q.close()
  }
}

describe('pm_ensure_monthly_partitions', () => {
  it('lets the writer add the months it needs, once, with time-zone-free bounds', async () => {
    const writer = await pgConnection(database.url(ROLES.writer))
    try {
      await writer.query(`set timezone = 'Pacific/Kiritimati'`)
      const first = await writer.query<{ n: number }>(
        `select pm_ensure_monthly_partitions('admin_audit_log', '2023-11-15', '2024-02-01') as n`,
      )
      expect(first.rows[0]?.n).toBe(3)
      const again = await writer.query<{ n: number }>(
        `select pm_ensure_monthly_partitions('admin_audit_log', '2023-11-01', '2024-02-01') as n`,
      )
      expect(again.rows[0]?.n).toBe(0)
      await writer.query(
        `select pm_ensure_monthly_partitions('warmup_analytics', '2023-12-31', '2024-01-02')`,
      )
    } finally {
      await writer.close()
    }
    const audit = await bounds(database.url(), 'admin_audit_log')
    expect(audit).toContain(
      "admin_audit_log_y2023m12 FOR VALUES FROM ('2023-12-01 00:00:00+00') TO ('2024-01-01 00:00:00+00')",
    )
    const warmup = await bounds(database.url(), 'warmup_analytics')
    expect(warmup).toContain(
      "warmup_analytics_y2023m12 FOR VALUES FROM ('2023-12-01') TO ('2024-01-01')",
    )
    expect(warmup).toContain(
      "warmup_analytics_y2024m01 FOR VALUES FROM ('2024-01-01') TO ('2024-02-01')",
    )
    expect(warmup).toContain('warmup_analytics_default DEFAULT')
  })

  it('routes rows to their month, leaving the default partition empty', async () => {
    const { db } = database.connect()
    await sql`insert into tenants (id, name) values ('t', 'T')`.execute(db)
    await sql`
      insert into warmup_analytics (tenant_id, company_id, email_account_id, day, billing_id, health_score, progress_percentage)
      values ('t', 'c', 'm', '2024-01-31', 't:2024-01', 100, 10)`.execute(db)
    const { rows } = await sql<{ p: string }>`
      select tableoid::regclass::text as p from warmup_analytics`.execute(db)
    expect(rows).toEqual([{ p: 'warmup_analytics_y2024m01' }])
  })

  it('may not be called by the tenant role', async () => {
    const reader = await pgConnection(database.url(ROLES.reader))
    try {
      await expect(
        reader.query(
          `select pm_ensure_monthly_partitions('campaign_analytics', '2020-01-01', '2020-02-01')`,
        ),
      ).rejects.toMatchObject({ code: '42501' })
    } finally {
      await reader.close()
    }
  })

  it('rejects a table that is not range-partitioned', async () => {
    const { db } = database.connect(ROLES.writer)
    await expect(
      sql`select pm_ensure_monthly_partitions('emails', '2020-01-01', '2020-02-01')`.execute(db),
    ).rejects.toThrow('emails is not a range-partitioned table')
  })
})
