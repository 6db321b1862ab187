import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addMonths, monthOf, monthRange, parseAge, partitionName, utcDay } from '../src/calendar.js'
import type { MaintenanceContext } from '../src/context.js'
import { runPartitions } from '../src/partitions.js'
import { scalar, superuser } from './support/superuser.js'
import { onOneConnection, writerContext } from './support/writer-context.js'

const PARTITIONED = [
  'admin_audit_log',
  'admin_system_events',
  'campaign_analytics',
  'mailbox_analytics',
  'sequence_step_analytics',
  'warmup_analytics',
]

let database: TestDatabase
let su: pg.Client
const contexts: MaintenanceContext[] = []

beforeAll(async () => {
  database = await createTestDatabase({ label: 'maint_partitions' })
  su = await superuser(database)
})

afterAll(async () => {
  for (const ctx of contexts) await ctx.close()
  await su?.end()
  await database?.drop()
})

function context(db: TestDatabase, now?: Date): MaintenanceContext {
  const ctx = writerContext(db, now ? { now } : {})
  contexts.push(ctx)
  return ctx
}

const partitions = (ctx: MaintenanceContext, ahead: number, retention: string) =>
  onOneConnection(ctx, (run) =>
    runPartitions(run, {
      ahead,
      retention: parseAge(retention) ?? { count: 0, unit: 'd', text: '0d' },
    }),
  )

async function partitionNames(client: pg.Client): Promise<Set<string>> {
  const { rows } = await client.query<{ name: string }>(
    `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where c.relnamespace = current_schema()::regnamespace`,
  )
  return new Set(rows.map((r) => r.name))
}

/** Every relation of the schema with the transaction that last wrote its catalog row. */
async function catalogSnapshot(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ r: string }>(
    `select relname || ' ' || xmin::text as r from pg_class
      where relnamespace in (current_schema()::regnamespace, 'analytics_archive'::regnamespace) order by 1`,
  )
  return rows.map((r) => r.r)
}

describe('partitions', () => {
  it('P4: premakes every month of [now − retention, now + N]; next month and 11 months ahead land in named partitions, the default stays empty', async () => {
    const today = utcDay(new Date())
    const report = await partitions(context(database), 12, '6m')
    expect(report.problems).toEqual([])
    const names = await partitionNames(su)
    const months = monthRange(monthOf(addMonths(today, -6)), addMonths(today, 12))
    expect(months).toHaveLength(19)
    for (const table of PARTITIONED) {
      for (const month of months)
        expect(names, partitionName(table, month)).toContain(partitionName(table, month))
    }
    const next = `${addMonths(today, 1).slice(0, 8)}15`
    const later = `${addMonths(today, 11).slice(0, 8)}28`
    await su.query(`insert into tenants (id, name) values ('p4', 'P4')`)
    for (const day of [next, later]) {
      await su.query(
        `insert into campaign_analytics (tenant_id, company_id, campaign_id, day, billing_id, status)
         values ('p4', 'co', 'cmp', $1, 'p4:x', 'active')`,
        [day],
      )
      await su.query(
        `insert into admin_system_events (event_type, title, created_at) values ('alert', 'p4', $1::date + time '23:30')`,
        [day],
      )
    }
    const { rows } = await su.query<{ p: string }>(
      `select tableoid::regclass::text as p from campaign_analytics where tenant_id = 'p4'
       union all select tableoid::regclass::text from admin_system_events where title = 'p4' order by 1`,
    )
    expect(rows.map((r) => r.p)).toEqual(
      [
        partitionName('admin_system_events', monthOf(next)),
        partitionName('admin_system_events', monthOf(later)),
        partitionName('campaign_analytics', monthOf(next)),
        partitionName('campaign_analytics', monthOf(later)),
      ].sort(),
    )
    for (const table of PARTITIONED) {
      expect(await scalar<string>(su, `select count(*) from ${table}_default`), table).toBe('0')
    }
  })

  it('P5: a second run makes no DDL; after three missed months it creates exactly the missing ones, losing no row', async () => {
    const first = new Date('2040-01-15T08:00:00Z')
    const created = await partitions(context(database, first), 3, '1m')
    expect(created.details.created).toHaveLength(6 * 5) // 2039-12 … 2040-04
    const before = await catalogSnapshot(su)
    const again = await partitions(context(database, first), 3, '1m')
    expect(again.details.created).toEqual([])
    expect(await catalogSnapshot(su)).toEqual(before)

    await su.query(`insert into tenants (id, name) values ('p5', 'P5') on conflict do nothing`)
    await su.query(
      `insert into warmup_analytics (tenant_id, company_id, email_account_id, day, billing_id, health_score, progress_percentage)
       select 'p5', 'co', 'mb-' || g, date '2040-04-01' + (g % 30), 'p5:2040-04', 100, 10 from generate_series(1, 300) g`,
    )
    const catchUp = await partitions(context(database, new Date('2040-04-20T23:59:00Z')), 3, '1m')
    expect([...(catchUp.details.created as string[])].sort()).toEqual(
      PARTITIONED.flatMap((t) =>
        ['2040-05-01', '2040-06-01', '2040-07-01'].map((m) => partitionName(t, m)),
      ).sort(),
    )
    expect(
      await scalar<string>(su, `select count(*) from warmup_analytics where tenant_id = 'p5'`),
    ).toBe('300')
    expect(await scalar<string>(su, 'select count(*) from warmup_analytics_default')).toBe('0')
  })

  it('reports a default partition holding rows, naming the table and months, and creates the other partitions', async () => {
    await su.query(`insert into tenants (id, name) values ('dflt', 'D') on conflict do nothing`)
    await su.query(
      `insert into mailbox_analytics (tenant_id, company_id, email_account_id, day, billing_id, campaign_status, health_score)
       values ('dflt', 'co', 'mb', '2050-06-10', 'dflt:2050-06', 'idle', 100)`,
    )
    try {
      const report = await partitions(context(database, new Date('2050-05-02T00:00:00Z')), 3, '0d')
      expect(report.problems).toHaveLength(1)
      expect(report.problems[0]).toMatch(
        /^mailbox_analytics_default holds 1 row\(s\) \(months 2050-06\)/,
      )
      const names = await partitionNames(su)
      expect(names).not.toContain('mailbox_analytics_y2050m06')
      expect(names).toContain('campaign_analytics_y2050m06')
      expect(names).toContain('mailbox_analytics_y2050m07')
    } finally {
      await su.query(`delete from mailbox_analytics where tenant_id = 'dflt'`)
    }
  })

  it('P6: partition bounds are the same whether the session time zone is UTC or Pacific/Kiritimati', async () => {
    const other = await createTestDatabase({ label: 'maint_partitions_tz' })
    try {
      const otherSu = await superuser(other)
      try {
        await otherSu.query(`alter database "${other.name}" set timezone = 'Pacific/Kiritimati'`)
        await su.query(`alter database "${database.name}" set timezone = 'UTC'`)
        // 11:30 UTC on the 31st is already the 1st of the next month in Kiritimati (UTC+14)
        const now = new Date('2061-01-31T11:30:00Z')
        const kiritimati = writerContext(other, { now })
        contexts.push(kiritimati)
        const zone = await onOneConnection(kiritimati, async (run) => {
          const { rows } = await sql<{
            tz: string
          }>`select current_setting('TimeZone') as tz`.execute(run.conn)
          return rows[0]?.tz
        })
        expect(zone).toBe('Pacific/Kiritimati')
        const a = await partitions(context(database, now), 2, '1m')
        const b = await partitions(kiritimati, 2, '1m')
        expect(b.details.months).toEqual(a.details.months)
        expect(b.details.months).toEqual({ first: '2060-12', last: '2061-03' })
        const bounds = async (client: pg.Client) => {
          await client.query(`set timezone = 'UTC'`)
          const { rows } = await client.query<{ b: string }>(
            `select c.relname || ' ' || pg_get_expr(c.relpartbound, c.oid) as b
               from pg_inherits i join pg_class c on c.oid = i.inhrelid
              where c.relname ~ '_y206(0m12|1m0[1-3])$' order by 1`,
          )
          return rows.map((r) => r.b)
        }
        const expected = await bounds(su)
        expect(expected).toHaveLength(6 * 4)
        expect(expected).toContain(
          "admin_audit_log_y2061m01 FOR VALUES FROM ('2061-01-01 00:00:00+00') TO ('2061-02-01 00:00:00+00')",
        )
        expect(await bounds(otherSu)).toEqual(expected)
      } finally {
        await otherSu.end()
      }
    } finally {
      await other.drop()
    }
  })

  it('P3: finishes a DETACH … CONCURRENTLY interrupted between its two transactions, 5 runs out of 5', async () => {
    await su.query(`insert into tenants (id, name) values ('p3', 'P3') on conflict do nothing`)
    await su.query(
      `select pm_ensure_monthly_partitions('campaign_analytics', '2045-01-01', '2045-06-01')`,
    )
    let finalized = 0
    for (let run = 1; run <= 5; run++) {
      const month = `2045-0${run}-01`
      const partition = partitionName('campaign_analytics', month)
      await su.query(
        `insert into campaign_analytics (tenant_id, company_id, campaign_id, day, billing_id, status)
         values ('p3', 'co', 'cmp', $1::date + 3, 'p3:x', 'active')`,
        [month],
      )
      // CONCURRENTLY is refused while a default partition exists: an operator took it off first
      await su.query('alter table campaign_analytics detach partition campaign_analytics_default')
      const snapshot = await superuser(database, 'p3-snapshot')
      const detacher = await superuser(database, 'p3-detacher')
      try {
        // an old snapshot makes the detach wait in its second transaction
        await snapshot.query('begin isolation level repeatable read')
        await snapshot.query('select count(*) from campaign_analytics')
        const detaching = detacher
          .query(`alter table campaign_analytics detach partition ${partition} concurrently`)
          .catch((error: Error) => error)
        for (let i = 0; i < 100; i++) {
          const pending = await scalar<boolean>(
            su,
            `select bool_or(inhdetachpending) from pg_inherits where inhrelid = $1::regclass`,
            [partition],
          )
          if (pending) break
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
        await su.query(
          `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'p3-detacher'`,
        )
        expect(await detaching).toBeInstanceOf(Error)
        await snapshot.query('rollback')
      } finally {
        await snapshot.end()
        await detacher.end().catch(() => undefined)
      }
      await su.query(
        'alter table campaign_analytics attach partition campaign_analytics_default default',
      )
      expect(
        await scalar<boolean>(
          su,
          'select inhdetachpending from pg_inherits where inhrelid = $1::regclass',
          [partition],
        ),
      ).toBe(true)

      const report = await partitions(context(database), 0, '0d')
      const done = report.details.finalizedDetaches as { parent: string; partition: string }[]
      expect(done).toEqual([{ parent: 'campaign_analytics', partition }])
      expect(
        await scalar<string>(su, `select count(*) from pg_inherits where inhdetachpending`),
      ).toBe('0')
      expect(
        await scalar<string>(
          su,
          'select inhparent::regclass::text from pg_inherits where inhrelid = $1::regclass',
          [partition],
        ),
      ).toBe('campaign_analytics')
      expect(
        await scalar<string>(
          su,
          `select count(*) from campaign_analytics where tenant_id = 'p3' and day >= $1::date and day < $1::date + interval '1 month'`,
          [month],
        ),
      ).toBe('1')
      finalized++
    }
    expect(finalized).toBe(5)
  })
})
