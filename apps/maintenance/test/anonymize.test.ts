import { createHash, createHmac } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAnonymize } from '../src/anonymize.js'
import type { MaintenanceContext } from '../src/context.js'
import { ALL_TABLES, RENAMED_BY_FUNCTION } from '../src/erasure-plan.js'
import { createPseudonymizer } from '../src/pseudonyms.js'
import { runVerify, type TenantDrift } from '../src/verify.js'
import { describeKills, G4_RUNS, killInsideErasure } from './support/erasure-crash.js'
import {
  DAILY,
  dump,
  type Erasable,
  FROM,
  fillErasableDatabase,
  NOW,
  totals,
} from './support/erasure-fixture.js'
import { scanForValues } from './support/personal-data-scan.js'
import { scalar } from './support/superuser.js'
import { ERASURE_KEY, onOneConnection, writerContext } from './support/writer-context.js'

const pseudonyms = createPseudonymizer(ERASURE_KEY)

const opened: Erasable[] = []
const contexts: MaintenanceContext[] = []

function context(database: TestDatabase, applicationName?: string): MaintenanceContext {
  const ctx = writerContext(database, { now: NOW, ...(applicationName ? { applicationName } : {}) })
  contexts.push(ctx)
  return ctx
}

async function erasableDatabase(label: string): Promise<Erasable> {
  const database = await createTestDatabase({ label })
  const erasable = await fillErasableDatabase(database, context(database))
  opened.push(erasable)
  return erasable
}

const anonymize = (ctx: MaintenanceContext, tenantId: string) =>
  onOneConnection(ctx, (run) => runAnonymize(run, { tenantId, replay: false }))

let main: Erasable
let alphaTotals: Record<string, string>
let betaBefore: Record<string, string[]>
let firstRun: Awaited<ReturnType<typeof anonymize>>
/** how long the clean erasure took: kills are aimed inside that span */
let cleanRunMs = 0

beforeAll(async () => {
  main = await erasableDatabase('maint_erasure')
  alphaTotals = await totals(main.su, main.alpha.id)
  const all = await dump(main.su)
  betaBefore = Object.fromEntries(
    Object.entries(all).map(([t, rows]) => [t, rows.filter((r) => r.includes('beta'))]),
  )
  const started = Date.now()
  firstRun = await anonymize(context(main.database), main.alpha.id)
  cleanRunMs = Date.now() - started
})

afterAll(async () => {
  for (const ctx of contexts) await ctx.close()
  for (const e of opened) {
    await e.su.end()
    await e.database.drop()
  }
})

describe('anonymize --tenant', () => {
  it('the fixture is what the erasure is tested on: archived rows, dirty keys, admin rows of the tenant', async () => {
    expect(
      Number(await scalar(main.su, `select count(*) from analytics_archive.campaign_analytics`)),
    ).toBeGreaterThan(0)
    expect(JSON.parse(alphaTotals['analytics_archive.campaign_analytics'] ?? '{}').rows).not.toBe(
      '0',
    )
    expect(firstRun.problems).toEqual([])
    const erasures = firstRun.details.erasures as {
      changed: boolean
      rowsChanged: Record<string, number>
    }[]
    expect(erasures[0]?.changed).toBe(true)
    for (const table of [
      'emails',
      'leads',
      'analytics_archive.campaign_analytics',
      'analytics_dirty_keys',
      'tenants',
    ]) {
      expect(erasures[0]?.rowsChanged[table], table).toBeGreaterThan(0)
    }
  })

  it('covers every table that holds tenant data, in every schema (the audit trail erases its own)', async () => {
    const { rows } = await main.su.query<{ t: string }>(
      `select case when n.nspname = 'public' then c.relname else n.nspname || '.' || c.relname end as t
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
         join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
        where c.relkind in ('r', 'p') and not c.relispartition
          and n.nspname not in ('pg_catalog', 'information_schema') order by 1`,
    )
    const covered = new Set<string>([
      ...ALL_TABLES.map((t) => t.table),
      ...RENAMED_BY_FUNCTION,
      'admin_audit_log',
      'admin_system_events',
    ])
    expect(rows.map((r) => r.t).filter((t) => !covered.has(t))).toEqual([])
    expect(rows.length).toBeGreaterThan(20)
  })

  it('G1: no id, email, IP address or user agent of the tenant is left in any table of any schema', async () => {
    const { alpha } = main
    const hits = await scanForValues(main.su, [
      ...alpha.ids,
      ...alpha.emails,
      ...alpha.ips,
      ...alpha.userAgents,
    ])
    expect(hits).toEqual([])
    // the control: the scan finds what is there
    const beta = await scanForValues(main.su, main.beta.ids.slice(0, 1))
    expect(beta.map((h) => h.table)).toEqual(
      expect.arrayContaining(['public.tenants', 'public.emails']),
    )
    // the reports name the tenant only by its pseudonym
    expect(JSON.stringify(firstRun)).not.toContain(alpha.id)
  })

  it('leaves the other tenant untouched and the erased tenant’s analytics totals unchanged', async () => {
    const all = await dump(main.su)
    const betaAfter = Object.fromEntries(
      Object.entries(all).map(([t, rows]) => [t, rows.filter((r) => r.includes('beta'))]),
    )
    expect(betaAfter).toEqual(betaBefore)
    const pseudonym = pseudonyms.tenant(main.alpha.id)
    expect(await totals(main.su, pseudonym)).toEqual(alphaTotals)
    expect(await scalar(main.su, 'select count(*) from tenants where id = $1', [pseudonym])).toBe(
      '1',
    )
  })

  it('G3: a recompute from the erased source gives the same analytics (archived days are the only rows it adds back)', async () => {
    const pseudonym = pseudonyms.tenant(main.alpha.id)
    const report = await onOneConnection(context(main.database), (run) =>
      runVerify(run, { sample: 'all', tenantIds: [pseudonym], anchorFile: undefined }),
    )
    expect(report.problems).toEqual([])
    const drift = report.details.drift as TenantDrift[]
    const archived: Record<string, number> = {}
    for (const table of DAILY) {
      archived[table] = Number(
        await scalar(
          main.su,
          `select count(*) from analytics_archive.${table} where tenant_id = $1`,
          [pseudonym],
        ),
      )
    }
    expect(
      drift
        .map((d) => ({ table: d.table, missing: d.missing, unexpected: d.unexpected }))
        .sort((a, b) => a.table.localeCompare(b.table)),
    ).toEqual(
      DAILY.filter((t) => (archived[t] ?? 0) > 0)
        .map((table) => ({ table, missing: archived[table], unexpected: 0 }))
        .sort((a, b) => a.table.localeCompare(b.table)),
    )
    // the partitions the recompute needed were dropped again
    expect(
      await scalar(main.su, `select count(*) from pg_class where relname = $1`, [
        `campaign_analytics_y${FROM.slice(0, 4)}m${FROM.slice(5, 7)}`,
      ]),
    ).toBe('1')
  })

  it('G2: the pseudonyms resist a dictionary attack with every original id and email and every key the database holds', async () => {
    const { alpha } = main
    const stored = new Set<string>()
    const { rows } = await main.su.query<{ v: string }>(
      `select distinct v from (select id as v from tenants union select id from leads union select id from campaigns
        union select email from leads union select address from email_accounts union select lead_id from emails
        union select campaign_id from lead_analytics union select entity_id from analytics_dirty_keys) s where v like 'erased-%' or v like '%@erased.invalid'`,
    )
    for (const r of rows) stored.add(r.v.replace('@erased.invalid', ''))
    expect(stored.size).toBeGreaterThan(15)
    const { rows: ledger } = await main.su.query<{ k: string }>(
      `select distinct k from erasure_ledger, lateral (values (key_fingerprint), (subject_pseudonym), (requested_by), (request_id::text)) v(k)`,
    )
    const keys = ['', ...ledger.map((l) => l.k)]
    const candidates = (value: string): string[] => [
      createHash('sha256').update(value).digest('hex'),
      createHash('md5').update(value).digest('hex'),
      createHash('sha1').update(value).digest('hex'),
      ...keys.flatMap((k) => [
        createHmac('sha256', k).update(value).digest('hex'),
        createHmac('sha256', k).update(`id\u0000${alpha.id}\u0000${value}`).digest('hex'),
        createHmac('sha256', k).update(`tenant\u0000${value}`).digest('hex'),
      ]),
    ]
    const matches = (key?: string) =>
      [...alpha.ids, ...alpha.emails].filter((v) => {
        const guesses = key
          ? [createPseudonymizer(key).id(alpha.id, v), createPseudonymizer(key).tenant(v)]
          : candidates(v).map((h) => `erased-${h.slice(0, 32)}`)
        return guesses.some((g) => stored.has(g))
      }).length
    expect(matches()).toBe(0)
    // the key is nowhere in the database
    expect(await scanForValues(main.su, [ERASURE_KEY])).toEqual([])
    // whoever holds the key can recognise pseudonyms: that is what makes replay possible, and why
    // the key belongs in a secret store (this also shows the attack above could have found them)
    expect(matches(ERASURE_KEY)).toBeGreaterThan(15)
  })

  it('G5: the erasure is one audit entry naming the pseudonym, the request, the rows per table and the actor', async () => {
    const pseudonym = pseudonyms.tenant(main.alpha.id)
    const { rows } = await main.su.query<{
      admin_id: string
      tenant_id: string
      metadata: Record<string, unknown>
    }>(
      `select admin_id, tenant_id, metadata from admin_audit_log
        where action in ('audit.erase_personal', 'tenant.anonymize')`,
    )
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ admin_id: 'test:maintenance', tenant_id: pseudonym })
    const ledger = await main.su.query(`select id::text, request_id::text from erasure_ledger`)
    expect(ledger.rows).toHaveLength(1)
    expect(rows[0]?.metadata).toMatchObject({
      requestId: ledger.rows[0].request_id,
      ledgerId: ledger.rows[0].id,
      rowsChanged: expect.objectContaining({ emails: expect.any(Number), leads: 12 }),
    })
    // the audit trail's own record of what it erased
    expect(rows[0]?.metadata).toMatchObject({
      erasure: expect.objectContaining({ entries: 1, system_events: 1 }),
    })
  })

  it(`G4: killed at ${G4_RUNS} random points of its transaction, each leaves nothing behind; the rerun ends as a clean run does; a second run changes nothing`, async () => {
    const crashed = await erasableDatabase('maint_erasure_crash')
    const kills = await killInsideErasure({
      erasable: crashed,
      runs: G4_RUNS,
      cleanRunMs,
      label: 'tenant',
      erase: (name) => anonymize(context(crashed.database, name), crashed.alpha.id),
    })
    console.info(describeKills('tenant', kills, G4_RUNS, cleanRunMs))
    expect(kills.killed).toBe(G4_RUNS)
    await anonymize(context(crashed.database), crashed.alpha.id)
    const clean = await dump(main.su)
    expect(await dump(crashed.su)).toEqual(clean)

    const second = await anonymize(context(main.database), main.alpha.id)
    expect(second.details.erasures).toEqual([
      expect.objectContaining({ changed: false, rowsChanged: {} }),
    ])
    expect(await dump(main.su)).toEqual(clean)
    expect(await scalar(main.su, 'select count(*) from erasure_ledger')).toBe('1')
  })

  it('G6: replaying the ledger on a restored backup taken before the erasure erases the tenant as the first run did', async () => {
    // the backup: the same data as the live database before its erasure
    const restored = await erasableDatabase('maint_erasure_restore')
    // the ledger is carried over from the live database by the restore procedure
    const { rows } = await main.su.query(
      `select coalesce(jsonb_agg(l), '[]') as l from erasure_ledger l`,
    )
    await restored.su.query(
      `insert into erasure_ledger (subject_kind, subject_pseudonym, key_fingerprint, request_id, requested_by, erased_at, rows_changed)
       select subject_kind, subject_pseudonym, key_fingerprint, request_id, requested_by, erased_at, rows_changed
         from jsonb_populate_recordset(null::erasure_ledger, $1::jsonb)`,
      [JSON.stringify(rows[0].l)],
    )
    const replay = (ctx: MaintenanceContext) =>
      onOneConnection(ctx, (run) => runAnonymize(run, { tenantId: undefined, replay: true }))
    const report = await replay(context(restored.database))
    expect(report.problems).toEqual([])
    expect(report.details.erasures).toEqual([
      expect.objectContaining({
        pseudonym: pseudonyms.tenant(restored.alpha.id),
        changed: true,
        replayed: true,
      }),
    ])
    const { alpha } = restored
    expect(
      await scanForValues(restored.su, [
        ...alpha.ids,
        ...alpha.emails,
        ...alpha.ips,
        ...alpha.userAgents,
      ]),
    ).toEqual([])
    expect(await dump(restored.su)).toEqual(await dump(main.su))
    expect(await scalar(restored.su, 'select count(*) from erasure_ledger')).toBe('1')
    const again = await replay(context(restored.database))
    expect(again.details.erasures).toEqual([])
    expect(again.lines).toContain(
      'no tenant, lead or mailbox of the ledger has data here: nothing to replay',
    )
  })

  it('refuses to run without PM_ERASURE_KEY, and says so', async () => {
    const ctx = writerContext(main.database, { env: { PM_ERASURE_KEY: '' } })
    contexts.push(ctx)
    await expect(anonymize(ctx, main.beta.id)).rejects.toThrow(/PM_ERASURE_KEY is not set/)
  })
})

describe('G7: no code path writes a reversible "anonymized" id', () => {
  it("finds no 'anonymized_' || (nor any concatenation keeping the original id) in the sources", () => {
    const root = fileURLToPath(new URL('../../..', import.meta.url))
    const files: string[] = []
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir)) {
        if (['node_modules', 'dist', '.git', 'test-output', '.turbo', 'coverage'].includes(entry))
          continue
        const path = join(dir, entry)
        if (statSync(path).isDirectory()) walk(path)
        else if (/\.(ts|js|mjs|sql)$/.test(entry)) files.push(path)
      }
    }
    for (const dir of ['apps', 'packages', 'sql']) walk(join(root, dir))
    expect(files.length).toBeGreaterThan(50)
    const pattern = /'anonymi[sz]ed_?'\s*\|\|/i
    const offenders = files.filter(
      (f) => !f.endsWith('anonymize.test.ts') && pattern.test(readFileSync(f, 'utf8')),
    )
    expect(offenders).toEqual([])
  })
})
