import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addMonths, partitionName, utcDay } from '../src/calendar.js'
import { runCli } from './support/cli.js'
import { scanForValues } from './support/personal-data-scan.js'
import { scalar, superuser } from './support/superuser.js'
import { insertTenant } from './support/tenant-fixture.js'
import { ERASURE_KEY } from './support/writer-context.js'

let database: TestDatabase
let su: pg.Client
let env: Record<string, string>

beforeAll(async () => {
  database = await createTestDatabase({ label: 'maint_runner' })
  su = await superuser(database)
  env = { DATABASE_URL: database.url(ROLES.writer), PM_ERASURE_KEY: ERASURE_KEY }
})

afterAll(async () => {
  await su?.end()
  await database?.drop()
})

interface MaintenanceEvent {
  title: string
  severity: string
  metadata: Record<string, unknown>
}

async function maintenanceEvents(): Promise<MaintenanceEvent[]> {
  const { rows } = await su.query<MaintenanceEvent>(
    `select title, severity, metadata from admin_system_events where event_type = 'maintenance' order by id`,
  )
  return rows
}

async function holdRunLock(): Promise<pg.Client> {
  const holder = await superuser(database, 'pm-test-lock-holder')
  await holder.query(`select pg_advisory_lock(hashtext('pm_maintenance'), 0)`)
  return holder
}

describe('the maintenance command line', () => {
  it('prints its usage, and refuses unknown commands and options with exit code 2', async () => {
    const help = await runCli(['--help'], env)
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('usage: pnpm maintenance <command>')
    const unknown = await runCli(['vacuum'], env)
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('unknown command "vacuum"')
    const option = await runCli(['archive', '--older-than', 'two years'], env)
    expect(option.code).toBe(2)
    expect(option.stderr).toContain('--older-than must be an age such as 2y')
    const both = await runCli(['anonymize'], env)
    expect(both.code).toBe(2)
    expect(both.stderr).toContain('anonymize needs exactly one of --tenant <id> or --replay')
  })

  it('refuses a role that is not the writer, naming the role and the fix', async () => {
    const result = await runCli(['refresh'], { ...env, DATABASE_URL: database.url(ROLES.reader) })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('the database role "pm_reader" cannot act as pm_writer')
  })

  it('records each run as one maintenance system event with its start, end, duration and what it did', async () => {
    const before = (await maintenanceEvents()).length
    const result = await runCli(['partitions', '--ahead', '4', '--retention', '1m'], env)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain('partitions done')
    const events = (await maintenanceEvents()).slice(before)
    expect(events).toHaveLength(1)
    const m = events[0]?.metadata as Record<string, unknown>
    expect(m).toMatchObject({ command: 'partitions', outcome: 'succeeded' })
    expect(Date.parse(m.endedAt as string)).toBeGreaterThanOrEqual(
      Date.parse(m.startedAt as string),
    )
    expect(m.durationMs).toEqual(expect.any(Number))
    expect(m.details).toMatchObject({ months: expect.any(Object), created: expect.any(Array) })
  })

  it('--dry-run shows what would change and changes nothing, not even the audit trail', async () => {
    const month = addMonths(utcDay(new Date()), 9)
    const name = partitionName('warmup_analytics', month)
    const events = (await maintenanceEvents()).length
    const result = await runCli(
      ['partitions', '--ahead', '9', '--retention', '0d', '--dry-run'],
      env,
    )
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain(`would create`)
    expect(result.stdout).toContain(name)
    expect(await scalar(su, 'select count(*) from pg_class where relname = $1', [name])).toBe('0')
    expect(await maintenanceEvents()).toHaveLength(events)
  })

  it('exits 1 naming the table when a default partition holds rows', async () => {
    await su.query(`insert into tenants (id, name) values ('dflt', 'D') on conflict do nothing`)
    await su.query(
      `insert into campaign_analytics (tenant_id, company_id, campaign_id, day, billing_id, status)
       values ('dflt', 'co', 'cmp', '2070-01-05', 'dflt:2070-01', 'active')`,
    )
    try {
      const result = await runCli(
        ['partitions', '--now', '2069-12-20', '--ahead', '2', '--retention', '0d'],
        env,
      )
      expect(result.code).toBe(1)
      expect(result.stderr).toContain('campaign_analytics_default holds 1 row(s) (months 2070-01)')
      const events = await maintenanceEvents()
      expect(events.at(-1)).toMatchObject({
        severity: 'high',
        metadata: expect.objectContaining({ outcome: 'failed' }),
      })
    } finally {
      await su.query(`delete from campaign_analytics where tenant_id = 'dflt'`)
    }
  })

  it('two runners at once: the second exits 3 without --wait, and waits for the first with --wait', async () => {
    const holder = await holdRunLock()
    try {
      const busy = await runCli(['analyze'], env)
      expect(busy.code).toBe(3)
      expect(busy.stderr).toContain(
        'not run: another maintenance command holds the maintenance lock',
      )
      expect(busy.stderr).toContain('pm-test-lock-holder')
      const waiting = runCli(['refresh', '--wait'], env)
      // it waits on the lock (the child needs a moment to start and connect)
      let queued = '0'
      for (let i = 0; i < 200 && queued === '0'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        queued = await scalar(
          su,
          `select count(*) from pg_locks where locktype = 'advisory' and not granted`,
        )
      }
      expect(queued).toBe('1')
      await holder.query(`select pg_advisory_unlock(hashtext('pm_maintenance'), 0)`)
      const waited = await waiting
      expect(waited.code, waited.stderr).toBe(0)
      expect(waited.stdout).toContain('refreshed campaign_performance_summary concurrently')
    } finally {
      await holder.end()
    }
    // started together for real, with --wait: both run, one after the other
    const before = (await maintenanceEvents()).length
    const [a, b] = await Promise.all([
      runCli(['analyze', '--wait'], env),
      runCli(['analyze', '--wait'], env),
    ])
    expect([a.code, b.code]).toEqual([0, 0])
    const runs = (await maintenanceEvents()).slice(before).map((e) => e.metadata)
    expect(runs).toHaveLength(2)
    const [first, second] = runs.sort((x, y) =>
      String(x.startedAt).localeCompare(String(y.startedAt)),
    )
    expect(Date.parse(String(second?.startedAt))).toBeGreaterThanOrEqual(
      Date.parse(String(first?.endedAt)),
    )
    // started together without --wait: one runs; the other exits 3 untouched, or (when the first
    // was already done) runs after it — never both at once
    const since = (await maintenanceEvents()).length
    const together = await Promise.all([runCli(['analyze'], env), runCli(['analyze'], env)])
    const codes = together.map((r) => r.code).sort()
    expect([
      [0, 0],
      [0, 3],
    ]).toContainEqual(codes)
    const busy = together.find((r) => r.code === 3)
    if (busy)
      expect(busy.stderr).toContain(
        'not run: another maintenance command holds the maintenance lock',
      )
    const recorded = (await maintenanceEvents()).slice(since).map((e) => e.metadata)
    expect(recorded).toHaveLength(codes.filter((c) => c === 0).length)
    if (recorded.length === 2) {
      const [x, y] = recorded.sort((a, b) => String(a.startedAt).localeCompare(String(b.startedAt)))
      expect(Date.parse(String(y?.startedAt))).toBeGreaterThanOrEqual(
        Date.parse(String(x?.endedAt)),
      )
    }
  })

  it('gives up on a table kept locked, within its lock timeout and retries, with a clear message', async () => {
    const blocker = await superuser(database, 'pm-test-blocker')
    try {
      await su.query(
        `select pm_ensure_monthly_partitions('mailbox_analytics', '2019-01-01', '2019-02-01')`,
      )
      await blocker.query('begin')
      await blocker.query('lock table mailbox_analytics in access share mode')
      const started = Date.now()
      const result = await runCli(['archive', '--older-than', '2y'], {
        ...env,
        PM_MAINTENANCE_LOCK_TIMEOUT_MS: '100',
      })
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(
        /archiving partition mailbox_analytics_y2019m01: gave up after 5 attempts/,
      )
      expect(result.stderr).toContain('PM_MAINTENANCE_LOCK_TIMEOUT_MS')
      expect(Date.now() - started).toBeLessThan(30_000)
    } finally {
      await blocker.query('rollback')
      await blocker.end()
    }
    const retry = await runCli(['archive', '--older-than', '2y', '--json'], env)
    expect(retry.code, retry.stderr).toBe(0)
    expect(JSON.parse(retry.stdout).details.months).toEqual([
      expect.objectContaining({
        table: 'mailbox_analytics',
        month: '2019-01',
        method: 'partition',
      }),
    ])
  })

  it('refresh brings the summary view up to date, concurrently', async () => {
    await su.query(`insert into tenants (id, name) values ('rf', 'RF') on conflict do nothing`)
    await su.query(
      `insert into companies (tenant_id, id, name) values ('rf', 'co', 'Co') on conflict do nothing`,
    )
    await su.query(
      `insert into campaigns (tenant_id, id, company_id, name, status) values ('rf', 'cmp', 'co', 'Spring', 'active')`,
    )
    await su.query(
      `insert into campaign_analytics (tenant_id, company_id, campaign_id, day, billing_id, sent, delivered, status)
       values ('rf', 'co', 'cmp', current_date, 'rf:x', 7, 5, 'active')`,
    )
    expect(
      await scalar(su, `select count(*) from campaign_performance_summary where tenant_id = 'rf'`),
    ).toBe('0')
    const result = await runCli(['refresh'], env)
    expect(result.code, result.stderr).toBe(0)
    expect(
      await scalar(
        su,
        `select sent || '/' || delivered from campaign_performance_summary where tenant_id = 'rf'`,
      ),
    ).toBe('7/5')
  })

  it('analyze updates the planner statistics of the analytics tables', async () => {
    await su.query(
      `insert into lead_analytics (tenant_id, company_id, lead_id, campaign_id, billing_id, status, last_sent_at)
       select 'rf', 'co', 'lead-' || g, 'cmp', 'rf:x', 'contacted', now() from generate_series(1, 500) g`,
    )
    const result = await runCli(['analyze', '--json'], env)
    expect(result.code, result.stderr).toBe(0)
    const analyzed = JSON.parse(result.stdout).details.analyzed as {
      table: string
      estimatedRows: number
    }[]
    expect(analyzed.map((a) => a.table)).toEqual(
      expect.arrayContaining([
        'campaign_analytics',
        'lead_analytics',
        'analytics_archive.warmup_analytics',
      ]),
    )
    expect(analyzed.find((a) => a.table === 'lead_analytics')?.estimatedRows).toBe(500)
    expect(
      await scalar(
        su,
        `select last_analyze is not null from pg_stat_user_tables where relname = 'lead_analytics'`,
      ),
    ).toBe(true)
  })

  it('anonymize: a dry run changes nothing, the run names the tenant only by its pseudonym, a rerun is a no-op', async () => {
    const gamma = await insertTenant(su, {
      name: 'gamma',
      emailIdBase: 3_000_000,
      from: '2025-01-01',
      to: '2025-02-01',
    })
    const dry = await runCli(['anonymize', '--tenant', gamma.id, '--dry-run'], env)
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toMatch(/would erase tenant erased-[0-9a-f]{32}: \d+ row\(s\)/)
    expect(await scalar(su, 'select count(*) from tenants where id = $1', [gamma.id])).toBe('1')
    const run = await runCli(['anonymize', '--tenant', gamma.id], env)
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(
      /^erased tenant erased-[0-9a-f]{32}: \d+ row\(s\) in \d+ table\(s\)/m,
    )
    expect(run.stdout + run.stderr).not.toContain(gamma.id)
    // the run's own system event and audit entry hold nothing of the tenant either
    expect(
      await scanForValues(su, [...gamma.ids, ...gamma.emails, ...gamma.ips, ...gamma.userAgents]),
    ).toEqual([])
    const again = await runCli(['anonymize', '--tenant', gamma.id], env)
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toMatch(
      /tenant erased-[0-9a-f]{32} was erased already: nothing left to change/,
    )
    const unknown = await runCli(['anonymize', '--tenant', 'no-such-tenant-xyz'], env)
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('no data of the given tenant')
    expect(unknown.stderr).not.toContain('no-such-tenant-xyz')
  })

  it('works on the embedded database when DATABASE_URL is unset', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pm-maintenance-'))
    try {
      const result = await runCli(['partitions', '--ahead', '1', '--retention', '0d'], {
        PM_DATA_DIR: join(dir, 'data'),
      })
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout).toContain('partitions done')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
