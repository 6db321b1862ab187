import { createHash, createHmac } from 'node:crypto'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAnonymize } from '../src/anonymize.js'
import { parseArgs, UsageError } from '../src/args.js'
import type { MaintenanceContext } from '../src/context.js'
import { createPseudonymizer } from '../src/pseudonyms.js'
import type { CommandReport } from '../src/report.js'
import { SUBJECT_PLANS } from '../src/subject-plan.js'
import { runVerify, type TenantDrift } from '../src/verify.js'
import {
  comparableState,
  describeKills,
  erasureState,
  G4_RUNS,
  killInsideErasure,
} from './support/erasure-crash.js'
import {
  DAILY,
  dump,
  type Erasable,
  fillErasableDatabase,
  NOW,
  totals,
} from './support/erasure-fixture.js'
import { scanForValues } from './support/personal-data-scan.js'
import { scalar } from './support/superuser.js'
import { ERASURE_KEY, onOneConnection, writerContext } from './support/writer-context.js'

// Erasure of one lead and of one mailbox (reliability-tests.md G1, G2, G3, G5, G6 per erasure
// type), on the fixture of the tenant erasure: two years of sources, analytics, archives, dirty keys.

const pseudonyms = createPseudonymizer(ERASURE_KEY)
const opened: Erasable[] = []
const contexts: MaintenanceContext[] = []

function context(
  database: TestDatabase,
  options: { env?: Record<string, string>; applicationName?: string } = {},
): MaintenanceContext {
  const ctx = writerContext(database, { now: NOW, ...options })
  contexts.push(ctx)
  return ctx
}

// the subjects: lead 1 and mailbox 1 of alpha (ids none of which is a substring of another's)
const LEAD = 'lead-alpha-1-xyz'
const LEAD_EMAIL = 'person1@customer-alpha-xyz.example'
const OTHER_LEAD = 'lead-alpha-2-xyz'
const MAILBOX = 'mb-alpha-1-xyz'
const MAILBOX_ADDRESS = 'sender1@alpha-mail-xyz.example'
const LEAD_P = pseudonyms.id('tenant-alpha-xyz', LEAD)
const MAILBOX_P = pseudonyms.id('tenant-alpha-xyz', MAILBOX)

/** The fixture plus audit entries and events about the mailbox and another lead. */
async function subjectDatabase(label: string): Promise<Erasable> {
  const database = await createTestDatabase({ label })
  const erasable = await fillErasableDatabase(database, context(database))
  opened.push(erasable)
  const t = erasable.alpha.id
  await erasable.su.query(
    `insert into admin_audit_log (admin_id, action, resource_type, resource_id, tenant_id, new_values, ip_address, user_agent)
     values ('admin-1', 'mailbox.update', 'mailbox', $2, $1, jsonb_build_object('address', $3::text), '203.0.113.8', 'MailboxAgent/1.0'),
            ('admin-1', 'lead.update', 'lead', $4, $1, jsonb_build_object('status', 'kept'), '203.0.113.9', 'KeptAgent/1.0')`,
    [t, MAILBOX, MAILBOX_ADDRESS, OTHER_LEAD],
  )
  await erasable.su.query(
    `insert into admin_system_events (event_type, severity, tenant_id, title, description)
     values ('alert', 'medium', $1, $2, 'bounced twice'),
            ('alert', 'low', $1, 'kept alert', 'about the tenant')`,
    [t, `lead ${LEAD_EMAIL} bounced`],
  )
  return erasable
}

const erase = (
  ctx: MaintenanceContext,
  subject: { tenantId: string; leadId?: string; mailboxId?: string },
  options: { dryRun?: boolean } = {},
) => onOneConnection(ctx, (run) => runAnonymize(run, { ...subject, replay: false }), options)

/** What the database held before, with the subjects' ids and addresses replaced as erasure does. */
function expectedAfter(before: Record<string, string[]>): Record<string, string[]> {
  const swap = (row: string) =>
    row
      .replaceAll(`"${LEAD_EMAIL}"`, `"${LEAD_P}@erased.invalid"`)
      .replaceAll(`"${MAILBOX_ADDRESS}"`, `"${MAILBOX_P}@erased.invalid"`)
      .replaceAll(`"${LEAD}"`, `"${LEAD_P}"`)
      .replaceAll(`"${MAILBOX}"`, `"${MAILBOX_P}"`)
  return Object.fromEntries(
    Object.entries(before)
      .filter(([table]) => table !== 'analytics_dirty_keys')
      .map(([table, rows]) => [table, rows.map(swap).sort()]),
  )
}

const withoutKeys = (d: Record<string, string[]>) =>
  Object.fromEntries(
    Object.entries(d)
      .filter(([t]) => t !== 'analytics_dirty_keys')
      .map(([t, rows]) => [t, [...rows].sort()]),
  )

let main: Erasable
let before: Record<string, string[]>
let alphaTotals: Record<string, string>
let leadRun: CommandReport
let mailboxRun: CommandReport
/** every row, ledger and audit entry before the clean runs, after the lead's, after the mailbox's */
let beforeClean: Record<string, string[]>
let afterLead: Record<string, string[]>
let afterBoth: Record<string, string[]>
/** how long each clean erasure took: G4's kills are aimed inside that span */
const cleanRunMs = { lead: 0, mailbox: 0 }

beforeAll(async () => {
  main = await subjectDatabase('maint_erasure_subject')
  before = await dump(main.su)
  alphaTotals = await totals(main.su, main.alpha.id)
  beforeClean = await comparableState(main.su)
  let started = Date.now()
  leadRun = await erase(context(main.database), { tenantId: main.alpha.id, leadId: LEAD })
  cleanRunMs.lead = Date.now() - started
  afterLead = await comparableState(main.su)
  started = Date.now()
  mailboxRun = await erase(context(main.database), {
    tenantId: main.alpha.id,
    mailboxId: MAILBOX,
  })
  cleanRunMs.mailbox = Date.now() - started
  afterBoth = await comparableState(main.su)
})

afterAll(async () => {
  for (const ctx of contexts) await ctx.close()
  for (const e of opened) {
    await e.su.end()
    await e.database.drop()
  }
})

describe('anonymize --tenant T --lead / --mailbox', () => {
  it('parses the subject flags and refuses what makes no sense', () => {
    expect(parseArgs(['anonymize', '--tenant', 't', '--lead', 'l'])).toMatchObject({
      command: 'anonymize',
      tenantId: 't',
      leadId: 'l',
      mailboxId: undefined,
      replay: false,
    })
    expect(parseArgs(['anonymize', '--tenant=t', '--mailbox=m'])).toMatchObject({
      tenantId: 't',
      mailboxId: 'm',
    })
    expect(() => parseArgs(['anonymize', '--lead', 'l'])).toThrow(/--tenant <id> or --replay/)
    expect(() =>
      parseArgs(['anonymize', '--tenant', 't', '--lead', 'l', '--mailbox', 'm']),
    ).toThrow(UsageError)
    expect(() => parseArgs(['anonymize', '--replay', '--lead', 'l'])).toThrow(/takes no --lead/)
  })

  it('covers every column that holds a lead or mailbox id, in every schema', async () => {
    const { rows } = await main.su.query<{ t: string; c: string }>(
      `select case when n.nspname = 'public' then c.relname else n.nspname || '.' || c.relname end as t,
              a.attname as c
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
         join pg_attribute a on a.attrelid = c.oid and not a.attisdropped
        where c.relkind in ('r', 'p') and not c.relispartition
          and a.attname in ('lead_id', 'email_account_id')
          and n.nspname not in ('pg_catalog', 'information_schema') order by 1, 2`,
    )
    const covered = new Set(
      Object.values(SUBJECT_PLANS).flatMap((p) =>
        p.references.map((r) => `${r.table}.${r.column}`),
      ),
    )
    expect(rows.map((r) => `${r.t}.${r.c}`).filter((c) => !covered.has(c))).toEqual([])
    expect(rows.length).toBe(8)
  })

  it('G1: no id, email or address of the lead or the mailbox is left in any table of any schema', async () => {
    for (const report of [leadRun, mailboxRun]) {
      expect(report.problems).toEqual([])
      expect(report.details.erasures).toEqual([expect.objectContaining({ changed: true })])
    }
    expect(
      (leadRun.details.erasures as { rowsChanged: Record<string, number> }[])[0]?.rowsChanged,
    ).toMatchObject({
      leads: 1,
      emails: expect.any(Number),
      lead_analytics: 1,
      analytics_dirty_keys: expect.any(Number),
      admin_audit_log: 1,
      admin_system_events: 1,
    })
    expect(
      (mailboxRun.details.erasures as { rowsChanged: Record<string, number> }[])[0]?.rowsChanged,
    ).toMatchObject({
      email_accounts: 1,
      emails: expect.any(Number),
      mailbox_analytics: expect.any(Number),
      'analytics_archive.mailbox_analytics': expect.any(Number),
      admin_audit_log: 1,
    })
    expect(await scanForValues(main.su, [LEAD, LEAD_EMAIL, MAILBOX, MAILBOX_ADDRESS])).toEqual([])
    // the control: the tenant's other lead and mailbox are all still there, audit entry included
    const kept = await scanForValues(main.su, [OTHER_LEAD, 'mb-alpha-2-xyz'])
    expect(kept.map((h) => `${h.table}.${h.column}`)).toEqual(
      expect.arrayContaining([
        'public.leads.id',
        'public.emails.lead_id',
        'public.lead_analytics.lead_id',
        'public.email_accounts.id',
        'public.warmup_status.email_account_id',
      ]),
    )
    expect(kept.some((h) => h.table.startsWith('public.admin_audit_log'))).toBe(true)
    expect(
      await scalar(
        main.su,
        `select count(*) from admin_audit_log where resource_id = $1 and ip_address is not null and new_values is not null`,
        [OTHER_LEAD],
      ),
    ).toBe('1')
    expect(
      await scalar(
        main.su,
        `select count(*) from admin_system_events where title = 'kept alert' and description is not null`,
      ),
    ).toBe('1')
    // the reports name the subjects only by their pseudonyms
    for (const report of [leadRun, mailboxRun]) {
      for (const value of [LEAD, LEAD_EMAIL, MAILBOX, MAILBOX_ADDRESS])
        expect(JSON.stringify(report)).not.toContain(value)
    }
    // Redis is not configured here: the report says it was not scrubbed
    expect(leadRun.lines.join('\n')).toMatch(/warning: REDIS_URL is not set/)
    expect(leadRun.details.redis).toMatchObject({ scrubbed: false })
  })

  it('changes nothing else: every row as before, with the subjects’ ids and addresses replaced; totals unchanged', async () => {
    expect(withoutKeys(await dump(main.su))).toEqual(expectedAfter(before))
    expect(await totals(main.su, main.alpha.id)).toEqual(alphaTotals)
    // the pending changes still name the subjects, under their new ids
    expect(
      await scalar(
        main.su,
        `select count(*) from analytics_dirty_keys where entity_id in ($1, $2)`,
        [LEAD_P, MAILBOX_P],
      ),
    ).not.toBe('0')
  })

  it('G3: the analytics equal a recompute from the erased source (archived days are the only rows it adds back); the chain verifies', async () => {
    const report = await onOneConnection(context(main.database), (run) =>
      runVerify(run, { sample: 'all', tenantIds: [main.alpha.id], anchorFile: undefined }),
    )
    expect(report.problems).toEqual([])
    expect(report.lines.join('\n')).toMatch(/audit chain intact/)
    const drift = report.details.drift as TenantDrift[]
    const archived: Record<string, number> = {}
    for (const table of DAILY) {
      archived[table] = Number(
        await scalar(
          main.su,
          `select count(*) from analytics_archive.${table} where tenant_id = $1`,
          [main.alpha.id],
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
  })

  it('G2: the pseudonyms resist a dictionary attack with every lead and mailbox id and address and every key the database or the configuration holds', async () => {
    const { rows } = await main.su.query<{ v: string }>(
      `select distinct v from (select id as v from leads union select id from email_accounts
        union select email from leads union select address from email_accounts
        union select lead_id from emails union select email_account_id from emails
        union select lead_id from lead_analytics union select email_account_id from analytics_archive.mailbox_analytics
        union select entity_id from analytics_dirty_keys union select resource_id from admin_audit_log
        union select subject_pseudonym from erasure_ledger) s
        where v like 'erased-%'`,
    )
    const stored = new Set(rows.map((r) => r.v.replace('@erased.invalid', '')))
    expect([...stored].sort()).toEqual([LEAD_P, MAILBOX_P].sort())
    const { rows: ledger } = await main.su.query<{ k: string }>(
      `select distinct k from erasure_ledger, lateral (values (key_fingerprint), (subject_pseudonym), (requested_by), (request_id::text)) v(k)`,
    )
    const config = [
      main.database.url('pm_writer'),
      'test:maintenance',
      'system:maintenance',
      '{pm}',
      main.alpha.id,
      main.beta.id,
    ]
    const keys = ['', ...ledger.map((l) => l.k), ...config]
    // every lead and mailbox id and address ever present in the source (both tenants)
    const dictionary = [
      ...main.alpha.ids,
      ...main.alpha.emails,
      ...main.beta.ids,
      ...main.beta.emails,
    ]
    const tenants = [main.alpha.id, main.beta.id]
    const guesses = (value: string): string[] => [
      createHash('sha256').update(value).digest('hex'),
      createHash('md5').update(value).digest('hex'),
      createHash('sha1').update(value).digest('hex'),
      ...keys.flatMap((k) => [
        createHmac('sha256', k).update(value).digest('hex'),
        ...tenants.map((t) =>
          createHmac('sha256', k).update(`id\u0000${t}\u0000${value}`).digest('hex'),
        ),
        createHmac('sha256', k).update(`tenant\u0000${value}`).digest('hex'),
      ]),
    ]
    const matches = (key?: string) =>
      dictionary.filter((v) => {
        const candidates = key
          ? tenants.map((t) => createPseudonymizer(key).id(t, v))
          : guesses(v).map((h) => `erased-${h.slice(0, 32)}`)
        return candidates.some((g) => stored.has(g))
      }).length
    expect(matches()).toBe(0)
    expect(await scanForValues(main.su, [ERASURE_KEY])).toEqual([])
    // the control: with the erasure key, the two pseudonyms are found (why the key stays secret)
    expect(matches(ERASURE_KEY)).toBe(2)
  })

  it('G5: each erasure is one audit entry naming the subject’s pseudonym, the request, the rows per table and the actor, with no personal data', async () => {
    const { rows } = await main.su.query<{
      admin_id: string
      resource_type: string
      resource_id: string
      tenant_id: string
      metadata: Record<string, unknown>
    }>(
      `select admin_id, resource_type, resource_id, tenant_id, metadata from admin_audit_log
        where action in ('audit.erase_personal', 'lead.anonymize', 'mailbox.anonymize') order by seq`,
    )
    const { rows: ledger } = await main.su.query<{
      id: string
      request_id: string
      subject_kind: string
      subject_pseudonym: string
    }>(
      `select id::text, request_id::text, subject_kind, subject_pseudonym from erasure_ledger order by id`,
    )
    expect(ledger.map((l) => [l.subject_kind, l.subject_pseudonym])).toEqual([
      ['lead', LEAD_P],
      ['mailbox', MAILBOX_P],
    ])
    expect(rows).toHaveLength(2)
    for (const [i, kind] of (['lead', 'mailbox'] as const).entries()) {
      const pseudonym = kind === 'lead' ? LEAD_P : MAILBOX_P
      expect(rows[i]).toMatchObject({
        admin_id: 'test:maintenance',
        resource_type: kind,
        resource_id: pseudonym,
        tenant_id: main.alpha.id,
      })
      expect(rows[i]?.metadata).toMatchObject({
        subjectKind: kind,
        subjectPseudonym: pseudonym,
        requestId: ledger[i]?.request_id,
        ledgerId: ledger[i]?.id,
        rowsChanged: expect.objectContaining({ emails: expect.any(Number) }),
        erasure: expect.objectContaining({ entries: 1 }),
      })
    }
    const audit = JSON.stringify(
      (await main.su.query('select * from admin_audit_log')).rows.concat(
        (await main.su.query('select * from admin_system_events')).rows,
      ),
    )
    for (const value of [LEAD, LEAD_EMAIL, MAILBOX, MAILBOX_ADDRESS, '203.0.113.8'])
      expect(audit).not.toContain(value)
  })

  it('a second run changes nothing; a dry run changes nothing; an unknown lead is an error that does not repeat its id', async () => {
    const settled = await dump(main.su)
    const entries = await scalar(main.su, 'select count(*) from admin_audit_log')
    for (const subject of [{ leadId: LEAD }, { mailboxId: MAILBOX }]) {
      const again = await erase(context(main.database), { tenantId: main.alpha.id, ...subject })
      expect(again.details.erasures).toEqual([
        expect.objectContaining({ changed: false, rowsChanged: {} }),
      ])
      expect(again.lines.join('\n')).toMatch(/was erased already/)
    }
    const dry = await erase(
      context(main.database),
      { tenantId: main.alpha.id, mailboxId: 'mb-alpha-2-xyz' },
      { dryRun: true },
    )
    expect(dry.lines[0]).toMatch(/^would erase mailbox erased-/)
    expect(await dump(main.su)).toEqual(settled)
    expect(await scalar(main.su, 'select count(*) from admin_audit_log')).toBe(entries)
    expect(await scalar(main.su, 'select count(*) from erasure_ledger')).toBe('2')
    const unknown = await erase(context(main.database), {
      tenantId: main.alpha.id,
      leadId: 'lead-nobody-xyz',
    }).then(
      () => new Error('erased an unknown lead'),
      (error: Error) => error,
    )
    expect(unknown.message).toMatch(/no data of the given lead \(pseudonym erased-[0-9a-f]{32}\)/)
    expect(unknown.message).not.toContain('lead-nobody-xyz')
  })

  it('G6: replaying the ledger on a restored backup taken before the erasures erases the lead and the mailbox as the first runs did', async () => {
    const restored = await subjectDatabase('maint_erasure_subject_restore')
    const { rows } = await main.su.query(
      `select coalesce(jsonb_agg(l order by l.id), '[]') as l from erasure_ledger l`,
    )
    await restored.su.query(
      `insert into erasure_ledger (subject_kind, subject_pseudonym, key_fingerprint, request_id, requested_by, erased_at, rows_changed)
       select subject_kind, subject_pseudonym, key_fingerprint, request_id, requested_by, erased_at, rows_changed
         from jsonb_populate_recordset(null::erasure_ledger, $1::jsonb) order by id`,
      [JSON.stringify(rows[0].l)],
    )
    const replay = () =>
      onOneConnection(context(restored.database), (run) =>
        runAnonymize(run, { tenantId: undefined, replay: true }),
      )
    const report = await replay()
    expect(report.problems).toEqual([])
    expect(report.details.erasures).toEqual([
      expect.objectContaining({ kind: 'lead', pseudonym: LEAD_P, changed: true, replayed: true }),
      expect.objectContaining({
        kind: 'mailbox',
        pseudonym: MAILBOX_P,
        changed: true,
        replayed: true,
      }),
    ])
    expect(await scanForValues(restored.su, [LEAD, LEAD_EMAIL, MAILBOX, MAILBOX_ADDRESS])).toEqual(
      [],
    )
    expect(withoutKeys(await dump(restored.su))).toEqual(withoutKeys(await dump(main.su)))
    expect(await scalar(restored.su, 'select count(*) from erasure_ledger')).toBe('2')
    const again = await replay()
    expect(again.details.erasures).toEqual([])
    expect(again.lines).toContain(
      'no tenant, lead or mailbox of the ledger has data here: nothing to replay',
    )
  })
})

describe(`G4: anonymize --lead / --mailbox killed at ${G4_RUNS} random points of its transaction`, () => {
  // a copy of the fixture identical to the clean runs' database before them: the lead is erased
  // on it as it was there, then the mailbox, each through its kills and a rerun
  let crashed: Erasable
  let beforeRuns: Record<string, string[]>

  beforeAll(async () => {
    crashed = await subjectDatabase('maint_erasure_subject_crash')
    beforeRuns = await comparableState(crashed.su)
  })

  const g4 = async (kind: 'lead' | 'mailbox', cleanRun: Record<string, string[]>) => {
    const subject = {
      tenantId: crashed.alpha.id,
      ...(kind === 'lead' ? { leadId: LEAD } : { mailboxId: MAILBOX }),
    }
    const kills = await killInsideErasure({
      erasable: crashed,
      runs: G4_RUNS,
      cleanRunMs: cleanRunMs[kind],
      label: kind,
      erase: (name) => erase(context(crashed.database, { applicationName: name }), subject),
    })
    console.info(describeKills(kind, kills, G4_RUNS, cleanRunMs[kind]))
    expect(kills.killed).toBe(G4_RUNS)
    const rerun = await erase(context(crashed.database), subject)
    expect(rerun.details.erasures).toEqual([expect.objectContaining({ changed: true })])
    expect(await comparableState(crashed.su)).toEqual(cleanRun)
    // a second run changes nothing: no row, no ledger row, no audit entry
    const settled = await erasureState(crashed.su)
    const second = await erase(context(crashed.database), subject)
    expect(second.details.erasures).toEqual([
      expect.objectContaining({ changed: false, rowsChanged: {} }),
    ])
    expect(await erasureState(crashed.su)).toEqual(settled)
  }

  it('lead: each kill leaves nothing behind (its rows intact, no ledger row, no audit entry); the rerun ends as the clean run did; a second run changes nothing', async () => {
    // the copy is what the clean runs started from, ledger and audit trail included
    expect(beforeRuns).toEqual(beforeClean)
    await g4('lead', afterLead)
  })

  it('mailbox: the same, on the copy whose lead was erased through kills', async () => {
    expect(await comparableState(crashed.su), 'the lead test ran first and passed').toEqual(
      afterLead,
    )
    await g4('mailbox', afterBoth)
  })
})
