import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROLES } from '../src/index.js'
import { createTestDatabase, type TestDatabase } from '../src/testing/index.js'
import { pgConnection, type Queryable } from './support/queryable.js'
import { insertTenantFixture, TENANT_A, TENANT_B } from './support/tenant-fixture.js'

// migration 0010: every write to what the API's cached reads depend on bumps the version of each
// tenant it touched, whoever writes, in the writing transaction
let database: TestDatabase
let superuser: Queryable
let writer: Queryable

const versions = async (): Promise<Record<string, number>> => {
  const { rows } = await superuser.query<{ tenant_id: string; version: string }>(
    'select tenant_id, sum(bumps) as version from analytics_tenant_versions group by tenant_id',
  )
  return Object.fromEntries(rows.map((r) => [r.tenant_id, Number(r.version)]))
}

/** The versions' change made by `write`, per tenant (0: untouched). */
async function bumpsOf(write: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await versions()
  await write()
  const after = await versions()
  return Object.fromEntries(
    [TENANT_A, TENANT_B].map((t) => [t, (after[t] ?? 0) - (before[t] ?? 0)]),
  )
}

const ANALYTICS_TABLES = [
  'campaign_analytics',
  'sequence_step_analytics',
  'mailbox_analytics',
  'warmup_analytics',
  'lead_analytics',
  'billing_analytics',
] as const

beforeAll(async () => {
  database = await createTestDatabase({ label: 'versions' })
  superuser = await pgConnection(database.url())
  await insertTenantFixture(superuser)
  writer = await pgConnection(database.url(ROLES.writer))
})

afterAll(async () => {
  await writer?.close()
  await superuser?.close()
  await database?.drop()
})

describe('tenant data versions (migration 0010)', () => {
  it('the fixture’s inserts gave both tenants a version', async () => {
    const now = await versions()
    expect(now[TENANT_A]).toBeGreaterThan(0)
    expect(now[TENANT_B]).toBeGreaterThan(0)
  })

  for (const table of ANALYTICS_TABLES) {
    it(`an update, a delete and an insert of ${table} bump exactly the tenants written`, async () => {
      const count = table === 'billing_analytics' ? 'emails_sent' : 'sent'
      // as the aggregator writes: pm_writer, which has no grant on the versions table
      expect(
        await bumpsOf(() =>
          writer.query(`update ${table} set ${count} = ${count} + 1 where tenant_id = $1`, [
            TENANT_A,
          ]),
        ),
      ).toEqual({ [TENANT_A]: 1, [TENANT_B]: 0 })
      const { rows } = await superuser.query(`select * from ${table} where tenant_id = $1`, [
        TENANT_B,
      ])
      const row = rows[0] as Record<string, unknown>
      expect(
        await bumpsOf(() => writer.query(`delete from ${table} where tenant_id = $1`, [TENANT_B])),
      ).toEqual({ [TENANT_A]: 0, [TENANT_B]: 1 })
      const columns = Object.keys(row)
      expect(
        await bumpsOf(() =>
          writer.query(
            `insert into ${table} (${columns.join(', ')}) select ${columns.join(', ')} from json_populate_record(null::${table}, $1)`,
            [JSON.stringify(row)],
          ),
        ),
      ).toEqual({ [TENANT_A]: 0, [TENANT_B]: 1 })
    })
  }

  it('a statement that writes no row bumps nothing; one touching both tenants bumps each once', async () => {
    expect(
      await bumpsOf(() =>
        writer.query(`update campaign_analytics set sent = sent where tenant_id = 'nobody'`),
      ),
    ).toEqual({ [TENANT_A]: 0, [TENANT_B]: 0 })
    expect(
      await bumpsOf(() => writer.query('update mailbox_analytics set sent = sent + 1')),
    ).toEqual({ [TENANT_A]: 1, [TENANT_B]: 1 })
  })

  it('renaming a campaign (a source row the reads join live) and changing a time zone bump', async () => {
    expect(
      await bumpsOf(() =>
        writer.query(`update campaigns set name = 'Renamed' where tenant_id = $1`, [TENANT_B]),
      ),
    ).toEqual({ [TENANT_A]: 0, [TENANT_B]: 1 })
    expect(
      await bumpsOf(() =>
        writer.query(`update tenants set time_zone = 'Europe/Paris' where id = $1`, [TENANT_A]),
      ),
    ).toEqual({ [TENANT_A]: 1, [TENANT_B]: 0 })
  })

  it('a rolled back write leaves the version as it was; a reader sees its own tenant’s only', async () => {
    expect(
      await bumpsOf(async () => {
        await writer.query('begin')
        await writer.query(`update lead_analytics set sent = sent + 1 where tenant_id = $1`, [
          TENANT_A,
        ])
        await writer.query('rollback')
      }),
    ).toEqual({ [TENANT_A]: 0, [TENANT_B]: 0 })
    const reader = await pgConnection(database.url(ROLES.reader))
    try {
      await reader.query('begin')
      await reader.query(`select set_config('app.current_tenant_id', $1, true)`, [TENANT_B])
      const { rows } = await reader.query(
        'select distinct tenant_id from analytics_tenant_versions',
      )
      expect(rows).toEqual([{ tenant_id: TENANT_B }])
      await expect(reader.query('update analytics_tenant_versions set bumps = 1')).rejects.toThrow(
        /permission denied/,
      )
      await reader.query('rollback')
    } finally {
      await reader.close()
    }
  })

  it('a REPEATABLE READ writer is never failed by another bump, and folding keeps the sums', async () => {
    const other = await pgConnection(database.url(ROLES.writer))
    try {
      expect(
        await bumpsOf(async () => {
          await writer.query('begin isolation level repeatable read')
          await writer.query('select count(*) from lead_analytics')
          // committed after the snapshot above: a counter row updated here would fail the
          // writer below with a serialization error; an inserted bump cannot
          // (another table of the same tenant: only the bump is shared)
          await other.query(`update lead_analytics set sent = sent + 1 where tenant_id = $1`, [
            TENANT_A,
          ])
          await writer.query(`update campaign_analytics set sent = sent + 1 where tenant_id = $1`, [
            TENANT_A,
          ])
          await writer.query('commit')
        }).finally(() => writer.query('rollback')),
      ).toEqual({ [TENANT_A]: 2, [TENANT_B]: 0 })
    } finally {
      await other.close()
    }
    const before = await versions()
    await writer.query('select pm_fold_tenant_versions($1::text[])', [[TENANT_A, TENANT_B]])
    expect(await versions()).toEqual(before)
    const { rows } = await superuser.query<{ n: number }>(
      'select count(*)::int as n from analytics_tenant_versions where tenant_id = any($1::text[]) group by tenant_id',
      [[TENANT_A, TENANT_B]],
    )
    expect(rows.map((r) => r.n)).toEqual([1, 1])
  })

  it('archiving a partition (its rows leave without a row trigger) bumps its tenants', async () => {
    const { rows } = await superuser.query<{ part: string }>(
      `select distinct tableoid::regclass::text as part from warmup_analytics where day = '2024-03-10'`,
    )
    expect(rows).toHaveLength(1)
    expect(
      await bumpsOf(() =>
        writer.query('select * from pm_archive_partition($1::regclass)', [rows[0]?.part]),
      ),
    ).toEqual({ [TENANT_A]: 1, [TENANT_B]: 1 })
  })

  it('TRUNCATE bumps every tenant', async () => {
    expect(await bumpsOf(() => superuser.query('truncate sequence_step_analytics'))).toEqual({
      [TENANT_A]: 1,
      [TENANT_B]: 1,
    })
  })
})
