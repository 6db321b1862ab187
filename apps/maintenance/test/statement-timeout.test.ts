import { recomputeAll } from '@penguinmails/aggregator'
import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addDays, utcDay } from '../src/calendar.js'
import type { MaintenanceContext } from '../src/context.js'
import { runCli } from './support/cli.js'
import { scalar, superuser } from './support/superuser.js'
import { type FixtureTenant, insertTenant } from './support/tenant-fixture.js'
import { ERASURE_KEY, writerContext } from './support/writer-context.js'

// A maintenance command whose statement overruns the run's statement_timeout (set tiny through
// PM_MAINTENANCE_STATEMENT_TIMEOUT_MS) exits 1 with a message naming the timeout, leaves nothing
// half-written (its transaction rolled back), and is recorded as a failure. The slow statement is
// the fixture's: a statement trigger on emails that sleeps, as H6's pg_sleep-backed fixture view.

const LEAD = 'lead-alpha-1-xyz'
const TIMEOUT_MS = 200

let database: TestDatabase
let su: pg.Client
let alpha: FixtureTenant
let ctx: MaintenanceContext
let env: Record<string, string>

beforeAll(async () => {
  database = await createTestDatabase({ label: 'maint_statement_timeout' })
  su = await superuser(database)
  const today = utcDay(new Date())
  alpha = await insertTenant(su, {
    name: 'alpha',
    emailIdBase: 1_000_000,
    from: addDays(today, -20),
    to: today,
  })
  ctx = writerContext(database)
  await recomputeAll(ctx.database.db)
  env = {
    DATABASE_URL: database.url(ROLES.writer),
    PM_ERASURE_KEY: ERASURE_KEY,
    PM_MAINTENANCE_STATEMENT_TIMEOUT_MS: String(TIMEOUT_MS),
  }
})

afterAll(async () => {
  await ctx?.close()
  await su?.end()
  await database?.drop()
})

/** What the erasure of the lead would change: its rows, its emails, the ledger, the trail. */
async function state(): Promise<Record<string, string>> {
  const q = (text: string) => scalar<string>(su, text, [alpha.id, LEAD])
  return {
    lead: await q(`select count(*)::text from leads where tenant_id = $1 and id = $2`),
    erasedLeads: await q(
      `select count(*)::text from leads where tenant_id = $1 and id like 'erased-%' and $2 <> ''`,
    ),
    emails: await q(`select count(*)::text from emails where tenant_id = $1 and lead_id = $2`),
    leadAnalytics: await q(
      `select count(*)::text from lead_analytics where tenant_id = $1 and lead_id = $2`,
    ),
    dirtyKeys: await q(
      `select count(*)::text from analytics_dirty_keys where tenant_id = $1 and $2 <> ''`,
    ),
    ledger: await q(`select count(*)::text from erasure_ledger where $1 <> $2`),
    erasures: await q(
      `select count(*)::text from admin_audit_log where action in ('audit.erase_personal', 'lead.anonymize') and $1 <> $2`,
    ),
  }
}

describe('statement_timeout of a maintenance run', () => {
  it('a statement past it fails the command (exit 1, naming the timeout), rolls its transaction back whole and records the failure', async () => {
    await su.query(
      `create function pm_test_slow_statement() returns trigger language plpgsql as $$
         begin perform pg_sleep(2); return null; end $$`,
    )
    await su.query(
      `create trigger pm_test_slow_statement after update on emails
         for each statement execute function pm_test_slow_statement()`,
    )
    const before = await state()
    expect(before).toMatchObject({ lead: '1', ledger: '0', erasures: '0' })
    expect(Number(before.emails)).toBeGreaterThan(0)

    const started = Date.now()
    const result = await runCli(['anonymize', '--tenant', alpha.id, '--lead', LEAD], env)
    const tookMs = Date.now() - started
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(
      new RegExp(
        `anonymize failed: a statement ran longer than the statement_timeout of this run \\(PM_MAINTENANCE_STATEMENT_TIMEOUT_MS = ${TIMEOUT_MS} ms\\) and was cancelled: erasing emails failed: canceling statement due to statement timeout\\. Its transaction was rolled back`,
      ),
    )
    expect(result.stderr).not.toContain(LEAD)
    // the statement of the lead's own row ran before the cancelled one: rolled back with it
    expect(await state()).toEqual(before)
    // recorded: one failed maintenance event naming the timeout, one audit entry of the failure
    const { rows: events } = await su.query<{ severity: string; code: string; message: string }>(
      `select severity, metadata->'error'->>'code' as code, metadata->'error'->>'message' as message
         from admin_system_events where event_type = 'maintenance' and title = 'maintenance anonymize failed'`,
    )
    expect(events).toEqual([
      {
        severity: 'high',
        code: '57014',
        message: expect.stringMatching(/PM_MAINTENANCE_STATEMENT_TIMEOUT_MS = 200 ms/),
      },
    ])
    expect(
      await scalar(
        su,
        `select count(*)::text from admin_audit_log where action = 'maintenance.anonymize' and notes = 'failed'`,
      ),
    ).toBe('1')
    // nothing of the run is left on the server
    expect(
      await scalar(
        su,
        `select count(*)::text from pg_stat_activity where datname = current_database() and application_name = 'penguinmails-maintenance'`,
      ),
    ).toBe('0')
    console.info(`statement_timeout ${TIMEOUT_MS} ms: the command failed after ${tookMs} ms`)

    // the timeout was the cause: without the slow statement the same command succeeds
    await su.query('drop trigger pm_test_slow_statement on emails')
    const retry = await runCli(['anonymize', '--tenant', alpha.id, '--lead', LEAD], env)
    expect(retry.stderr).toBe('')
    expect(retry.code).toBe(0)
    expect(await state()).toMatchObject({ lead: '0', erasedLeads: '1', emails: '0', ledger: '1' })
  })
})
