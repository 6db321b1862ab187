import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type MonthMove, runArchive } from '../src/archive.js'
import { addDays, addMonths, parseAge, subtractAge, utcDay } from '../src/calendar.js'
import type { MaintenanceContext } from '../src/context.js'
import { insertDailyRows, KEY_COLUMNS } from './support/analytics-fixture.js'
import { scalar, superuser } from './support/superuser.js'
import { onOneConnection, writerContext } from './support/writer-context.js'

let database: TestDatabase
let su: pg.Client
const contexts: MaintenanceContext[] = []
const TWO_YEARS = parseAge('2y') ?? { count: 2, unit: 'y', text: '2y' }
/** the spec's figures (reliability-tests.md P1 and P2) */
const P1_RUNS = 20
const P2_RUNS = 20
const DAY_MS = 86_400_000

beforeAll(async () => {
  database = await createTestDatabase({ label: 'maint_archive' })
  su = await superuser(database)
})

afterAll(async () => {
  for (const ctx of contexts) await ctx.close()
  await su?.end()
  await database?.drop()
})

function context(db: TestDatabase, now?: Date, applicationName?: string): MaintenanceContext {
  const ctx = writerContext(db, {
    ...(now ? { now } : {}),
    ...(applicationName ? { applicationName } : {}),
  })
  contexts.push(ctx)
  return ctx
}

const archive = (ctx: MaintenanceContext, options: { dryRun?: boolean } = {}) =>
  onOneConnection(ctx, (run) => runArchive(run, { olderThan: TWO_YEARS }), options)

/** live ∪ archive keys of every daily table, each with the schema it is in */
const ACTUAL_KEYS = Object.entries(KEY_COLUMNS)
  .flatMap(([table, key]) => [
    `select '${table}' as tbl, concat_ws('|', ${key}) as k, 'live' as place from ${table}`,
    `select '${table}', concat_ws('|', ${key}), 'archive' from analytics_archive.${table}`,
  ])
  .join(' union all ')

async function snapshotKeys(client: pg.Client, into: string): Promise<void> {
  await client.query(`drop table if exists ${into}`)
  await client.query(`create table ${into} as select tbl, k from (${ACTUAL_KEYS}) a`)
}

/** rows of (live ∪ archive) not expected, expected rows missing, keys present twice */
async function compareKeys(client: pg.Client, expected: string) {
  const { rows } = await client.query<{
    extra: string
    missing: string
    duplicates: string
    archived: string
  }>(
    `with actual as (${ACTUAL_KEYS})
     select (select count(*) from (select tbl, k from actual except select tbl, k from ${expected}) e) as extra,
            (select count(*) from (select tbl, k from ${expected} except select tbl, k from actual) m) as missing,
            (select count(*) - count(distinct (tbl, k)) from actual) as duplicates,
            (select count(*) from actual where place = 'archive') as archived`,
  )
  const r = rows[0]
  return {
    extra: Number(r?.extra),
    missing: Number(r?.missing),
    duplicates: Number(r?.duplicates),
    archived: Number(r?.archived),
  }
}

function expectConsistentMonths(months: MonthMove[]): void {
  for (const m of months) {
    expect(m.liveBefore, `${m.table} ${m.month}`).toBe(m.liveAfter + m.archived)
    expect(m.liveAfter, `${m.table} ${m.month}`).toBe(0)
    expect(m.checksumArchive, `${m.table} ${m.month}`).toBe(m.checksumLive)
  }
}

describe('archive', () => {
  const today = utcDay(new Date())
  const cutoff = subtractAge(today, TWO_YEARS)
  const start = addMonths(cutoff, -4)

  beforeAll(async () => {
    await su.query(`insert into tenants (id, name) values ('arc', 'Archive')`)
    await insertDailyRows(su, { tenant: 'arc', from: start, to: addDays(today, 1), perDay: 3 })
    await snapshotKeys(su, 'expected_keys')
  })

  it('moves whole old months as partitions and the rest row by row; before = after + archived, checked', async () => {
    const oldRows = Number(
      await scalar(su, `select count(*) from campaign_analytics where day < $1`, [cutoff]),
    )
    const dry = await archive(context(database), { dryRun: true })
    expect((dry.details.totals as { archived: number }).archived).toBe(4 * oldRows)
    expect(await scalar(su, 'select count(*) from analytics_archive.campaign_analytics')).toBe('0')

    const report = await archive(context(database))
    const months = report.details.months as MonthMove[]
    expectConsistentMonths(months)
    const byTable = months.filter((m) => m.table === 'campaign_analytics')
    // the four months wholly before the cutoff move as partitions, the cutoff's month row by row
    expect(byTable.map((m) => [m.month, m.method])).toEqual([
      ...[0, 1, 2, 3].map((i) => [addMonths(start, i).slice(0, 7), 'partition']),
      ...(cutoff.endsWith('-01') ? [] : [[cutoff.slice(0, 7), 'rows']]),
    ])
    expect(report.details.totals).toEqual({
      liveBefore: 4 * oldRows,
      archived: 4 * oldRows,
      liveAfter: 0,
    })
    expect(
      await scalar(su, `select count(*) from campaign_analytics where day < $1`, [cutoff]),
    ).toBe('0')
    expect(await scalar(su, `select count(*) from analytics_archive.campaign_analytics`)).toBe(
      String(oldRows),
    )
    expect(await scalar(su, `select max(day)::text from analytics_archive.warmup_analytics`)).toBe(
      addDays(cutoff, -1),
    )
    expect(await compareKeys(su, 'expected_keys')).toEqual({
      extra: 0,
      missing: 0,
      duplicates: 0,
      archived: 4 * oldRows,
    })
    const { rows: parts } = await su.query<{ p: string }>(
      `select c.relname as p from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'analytics_archive.campaign_analytics'::regclass order by 1`,
    )
    expect(parts.map((p) => p.p)).toContain(
      `campaign_analytics_y${start.slice(0, 4)}m${start.slice(5, 7)}`,
    )
    expect(
      await scalar(
        su,
        `select count(*) from pg_class where relname = $1 and relnamespace = 'public'::regnamespace`,
        [`campaign_analytics_y${start.slice(0, 4)}m${start.slice(5, 7)}`],
      ),
    ).toBe('0')

    const again = await archive(context(database))
    expect(again.details.months).toEqual([])
  })

  it('replaces an archived row by the live row recomputed after its month was archived', async () => {
    const day = addDays(cutoff, -40)
    await su.query(
      `select pm_ensure_monthly_partitions('campaign_analytics', $1::date, $1::date + 1)`,
      [day],
    )
    await su.query(
      `insert into campaign_analytics (tenant_id, company_id, campaign_id, day, billing_id, sent, delivered, status)
       values ('arc', 'arc-co', 'arc-cmp-1', $1, 'arc:' || to_char($1::date, 'YYYY-MM'), 99, 99, 'paused')`,
      [day],
    )
    const report = await archive(context(database))
    const months = report.details.months as MonthMove[]
    expect(months).toEqual([
      expect.objectContaining({
        table: 'campaign_analytics',
        method: 'rows',
        archived: 1,
        replaced: 1,
        liveAfter: 0,
      }),
    ])
    expect(
      await scalar(
        su,
        `select sent || ' ' || status from analytics_archive.campaign_analytics where campaign_id = 'arc-cmp-1' and day = $1`,
        [day],
      ),
    ).toBe('99 paused')
    // the month's partition, emptied row by row, is dropped
    expect(
      await scalar(
        su,
        `select count(*) from pg_inherits i join pg_class c on c.oid = i.inhrelid
                             where i.inhparent = 'campaign_analytics'::regclass and c.relname = $1`,
        [`campaign_analytics_y${day.slice(0, 4)}m${day.slice(5, 7)}`],
      ),
    ).toBe('0')
    expect(await compareKeys(su, 'expected_keys')).toMatchObject({
      extra: 0,
      missing: 0,
      duplicates: 0,
    })
  })

  it(`P1: while 4 writers insert and update the hot partition, (live ∪ archive) = before ∪ inserted, ${P1_RUNS} runs out of ${P1_RUNS}`, async () => {
    await snapshotKeys(su, 'p1_expected')
    const hotDay = today
    let stop = false
    let round = 0
    let inserted = 0
    let updated = 0
    let passed = 0
    let archiveRows = 0
    const writers = await Promise.all(
      [1, 2, 3, 4].map((w) => superuser(database, `p1-writer-${w}`)),
    )
    let running: Promise<void>[] = []
    const write = async (client: pg.Client, w: number) => {
      for (let i = 0; !stop; i++) {
        const campaign = `p1-r${round}-w${w}-${i}`
        try {
          await client.query('begin')
          await client.query(
            `insert into campaign_analytics (tenant_id, company_id, campaign_id, day, billing_id, sent, status)
             values ('arc', 'arc-co', $1, $2, 'arc:x', 1, 'active')`,
            [campaign, hotDay],
          )
          await client.query(
            `insert into p1_expected values ('campaign_analytics', concat_ws('|', 'arc', $1::text, $2::date))`,
            [campaign, hotDay],
          )
          const u = await client.query(
            `update mailbox_analytics set sent = sent + 1 where tenant_id = 'arc' and email_account_id = $1 and day = $2`,
            [`arc-mb-${(i % 3) + 1}`, hotDay],
          )
          await client.query('commit')
          inserted++
          updated += u.rowCount ?? 0
        } catch (error) {
          await client.query('rollback')
          if ((error as { code?: string }).code !== '40P01') throw error
        }
      }
    }
    try {
      for (let run = 1; run <= P1_RUNS; run++) {
        stop = false
        round = run
        running = writers.map((c, i) => write(c, i + 1))
        await new Promise((resolve) => setTimeout(resolve, 50))
        // each run a month later: a month wholly old now, archived row by row before, and a new cutoff month
        const report = await archive(context(database, new Date(Date.now() + run * 31 * DAY_MS)))
        stop = true
        await Promise.all(running)
        expectConsistentMonths(report.details.months as MonthMove[])
        expect((report.details.months as MonthMove[]).length).toBeGreaterThan(0)
        const result = await compareKeys(su, 'p1_expected')
        expect(result, `run ${run}`).toMatchObject({ extra: 0, missing: 0, duplicates: 0 })
        archiveRows = result.archived
        passed++
      }
    } finally {
      stop = true
      await Promise.allSettled(running)
      for (const c of writers) await c.end()
    }
    console.info(
      `P1: ${passed}/${P1_RUNS} runs consistent, ${inserted} rows inserted and ${updated} updated by the writers meanwhile, ${archiveRows} rows in the archive after the last run`,
    )
    expect(passed).toBe(P1_RUNS)
    expect(inserted).toBeGreaterThan(20)
    expect(updated).toBeGreaterThan(20)
  })

  it(`P2: killing the archiving session at a random point loses and duplicates nothing; the next run finishes, ${P2_RUNS} runs out of ${P2_RUNS}`, async () => {
    let killedMidRun = 0
    let passed = 0
    let moved = 0
    // after P1's clock: every run ten days later, with old rows to move inserted before it
    const base = Date.now() + (P1_RUNS + 1) * 31 * DAY_MS
    for (let run = 1; run <= P2_RUNS; run++) {
      const now = new Date(base + run * 10 * DAY_MS)
      const cut = subtractAge(utcDay(now), TWO_YEARS)
      await su.query(`insert into tenants (id, name) values ($1, 'P2')`, [`p2-${run}`])
      // rows of the 40 days before this run's cutoff (some already moved months get new ones too)
      await insertDailyRows(su, {
        tenant: `p2-${run}`,
        from: addDays(cut, -40),
        to: cut,
        perDay: 2,
      })
      await snapshotKeys(su, 'p2_expected')
      const name = `p2-archiver-${run}`
      const ctx = context(database, now, name)
      const running = archive(ctx).then(
        () => 'finished',
        (error: Error) => error.message,
      )
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 250))
      await su.query(
        `select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1`,
        [name],
      )
      const outcome = await running
      if (outcome !== 'finished') killedMidRun++
      expect(await compareKeys(su, 'p2_expected'), `run ${run} after the kill`).toMatchObject({
        extra: 0,
        missing: 0,
        duplicates: 0,
      })
      const rerun = await archive(context(database, now))
      expectConsistentMonths(rerun.details.months as MonthMove[])
      moved += (rerun.details.totals as { archived: number }).archived
      expect(await compareKeys(su, 'p2_expected'), `run ${run}`).toMatchObject({
        extra: 0,
        missing: 0,
        duplicates: 0,
      })
      // the rerun finished the job: no live row older than the cutoff is left
      const left = Object.keys(KEY_COLUMNS)
        .map((t) => `(select count(*) from ${t} where day < $1)`)
        .join(' + ')
      expect(await scalar(su, `select ${left} as n`, [cut]), `run ${run}`).toBe('0')
      passed++
    }
    console.info(
      `P2: ${passed}/${P2_RUNS} runs with 0 rows lost or duplicated; ${killedMidRun} killed before they finished; the reruns moved ${moved} rows`,
    )
    expect(passed).toBe(P2_RUNS)
    expect(killedMidRun).toBeGreaterThan(P2_RUNS / 2)
  })

  it('P6: the same rows are archived whether the session time zone is UTC or Pacific/Kiritimati', async () => {
    const other = await createTestDatabase({ label: 'maint_archive_tz' })
    const local = await createTestDatabase({ label: 'maint_archive_utc' })
    try {
      // 11:30 UTC on March 31st is already April 1st in Kiritimati (UTC+14)
      const now = new Date('2030-03-31T11:30:00Z')
      const selections: string[][] = []
      for (const [db, zone] of [
        [local, 'UTC'],
        [other, 'Pacific/Kiritimati'],
      ] as const) {
        const client = await superuser(db)
        try {
          await client.query(`alter database "${db.name}" set timezone = '${zone}'`)
          await client.query(`insert into tenants (id, name) values ('tz', 'TZ')`)
          await insertDailyRows(client, {
            tenant: 'tz',
            from: '2028-02-01',
            to: '2028-05-01',
            perDay: 1,
          })
          const report = await archive(context(db, now))
          expect(report.details.cutoff).toBe('2028-03-31')
          const { rows } = await client.query<{ k: string }>(
            `select concat_ws('|', tenant_id, campaign_id, day) as k from analytics_archive.campaign_analytics order by 1`,
          )
          selections.push(rows.map((r) => r.k))
        } finally {
          await client.end()
        }
      }
      expect(selections[0]).toHaveLength(29 + 30)
      expect(selections[1]).toEqual(selections[0])
      expect(selections[0]?.at(-1)).toBe('tz|tz-cmp-1|2028-03-30')
    } finally {
      await other.drop()
      await local.drop()
    }
  })
})
