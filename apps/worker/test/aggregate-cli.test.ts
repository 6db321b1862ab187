import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseAggregateArgs } from '../src/aggregate-args.js'
import {
  type AnalyticsDatabase,
  createAnalyticsDatabase,
  dirtyKeyCount,
  driftFromContract,
} from './support/analytics-database.js'
import { AGGREGATE_ENTRY, WorkerProcess } from './support/worker-process.js'

// `pnpm aggregate`: the one-shot recompute, without Redis, on a database whose analytics were
// never computed.

let database: AnalyticsDatabase

beforeAll(async () => {
  database = await createAnalyticsDatabase('worker_cli', { aggregated: false })
})

afterAll(async () => {
  await database?.test.drop()
})

async function aggregate(
  args: string[],
  url = database.writerUrl,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = new WorkerProcess({ DATABASE_URL: url }, AGGREGATE_ENTRY, args)
  const { code } = await run.exited
  return { code, stdout: run.logs.map((l) => l.msg).join('\n'), stderr: run.stderr }
}

async function tamperedDays(): Promise<string[]> {
  const { rows } = await sql<{ key: string }>`
    select distinct tenant_id || ' ' || day::text as key from campaign_analytics
     where sent >= 1000 order by 1`.execute(database.su)
  return rows.map((r) => r.key)
}

describe('pnpm aggregate', () => {
  it('recomputes everything with no arguments: exact tables, progress shown, no dirty key left', async () => {
    expect(await dirtyKeyCount(database.su)).toBeGreaterThan(0)
    expect(Object.keys(await driftFromContract(database.su)).length).toBeGreaterThan(0)
    const { code, stdout, stderr } = await aggregate([])
    expect(code, stderr).toBe(0)
    expect(stdout).toMatch(/recomputing all 4 tenants, all days/)
    expect(stdout).toMatch(/4\/4 tenants \(100 %\), [\d,]+ rows written/)
    expect(stdout).toMatch(/campaign_analytics\s+[\d,]+\s+0/)
    expect(await driftFromContract(database.su)).toEqual({})
    expect(await dirtyKeyCount(database.su)).toBe(0)
  })

  it('--tenant and --from/--to narrow it to those tenants and the half-open day range', async () => {
    await sql`update campaign_analytics set sent = sent + 1000
               where (tenant_id, day) in (('t-ny', '2024-03-10'), ('t-ny', '2024-03-12'), ('t-utc', '2024-03-10'))`.execute(
      database.su,
    )
    expect(await tamperedDays()).toEqual(['t-ny 2024-03-10', 't-ny 2024-03-12', 't-utc 2024-03-10'])
    const narrow = await aggregate([
      '--tenant',
      't-ny',
      '--from',
      '2024-03-10',
      '--to',
      '2024-03-11',
    ])
    expect(narrow.code, narrow.stderr).toBe(0)
    expect(narrow.stdout).toMatch(/recomputing 1 tenant\(s\), days \[2024-03-10, 2024-03-11\)/)
    expect(await tamperedDays()).toEqual(['t-ny 2024-03-12', 't-utc 2024-03-10'])
    const both = await aggregate(['--tenant', 't-ny', '--tenant=t-utc', '--work-mem', '256MB'])
    expect(both.code, both.stderr).toBe(0)
    expect(await tamperedDays()).toEqual([])
    expect(await driftFromContract(database.su)).toEqual({})
  })

  it('exits non-zero with a message on bad arguments, an unknown tenant or a superuser', async () => {
    const bad = await aggregate(['--from', '2024-02-30'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--from must be a calendar day as YYYY-MM-DD, got "2024-02-30"/)
    expect(bad.stderr).toMatch(/usage: pnpm aggregate/)
    const unknown = await aggregate(['--tenant', 't-nope'])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/no such tenant: t-nope/)
    const superuser = await aggregate([], database.test.url())
    expect(superuser.code).toBe(1)
    expect(superuser.stderr).toMatch(/role "postgres" is a superuser.*pm_writer/)
  })

  it.each([
    [['--from', '2024-03-02', '--to', '2024-03-01'], /--from \(2024-03-02\) must be before --to/],
    [['--from', '2024-03-01', '--to', '2024-03-01'], /must be before --to/],
    [['--to', '31/03/2024'], /--to must be a calendar day as YYYY-MM-DD/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['--tenant'], /--tenant/],
    [['--tenant', ''], /--tenant needs a tenant id/],
    [['t-ny'], /Unexpected argument 't-ny'/],
    [['--work-mem', '1 gigabyte'], /--work-mem: work memory must be a size .* got "1 gigabyte"/],
    [['--work-mem', '32kB'], /from 64kB to 2TB/],
    [['--work-mem', '4096GB'], /from 64kB to 2TB/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseAggregateArgs(argv)).toThrow(message)
  })

  it('accepts a leading "--", repeated tenants and one-sided ranges', () => {
    expect(
      parseAggregateArgs(['--', '--tenant', 'a', '--tenant', 'a', '--from', '2024-01-31']),
    ).toEqual({
      help: false,
      tenantIds: ['a'],
      fromDay: '2024-01-31',
      toDay: undefined,
      workMem: undefined,
    })
    expect(parseAggregateArgs(['--work-mem', ' 1GB ']).workMem).toBe('1GB')
    expect(parseAggregateArgs([])).toEqual({
      help: false,
      tenantIds: undefined,
      fromDay: undefined,
      toDay: undefined,
    })
  })
})
