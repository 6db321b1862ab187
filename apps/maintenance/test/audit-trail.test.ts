import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { recomputeAll } from '@penguinmails/aggregator'
import {
  computeDigest,
  computeRowHash,
  PERSONAL_FIELDS,
  parseChainHead,
  recordAuditEntry,
} from '@penguinmails/audit-logger'
import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import type pg from 'pg'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createContext, type MaintenanceContext } from '../src/context.js'
import { readEnv } from '../src/env.js'
import { createProgress } from '../src/progress.js'
import { type RunArgs, runCommand } from '../src/run-command.js'
import { runCli } from './support/cli.js'
import { scalar, superuser } from './support/superuser.js'
import { insertTenant } from './support/tenant-fixture.js'
import { ERASURE_KEY, writerContext } from './support/writer-context.js'

const ENTRIES = 30
let database: TestDatabase
let su: pg.Client
let dir: string
let heads: string
const contexts: MaintenanceContext[] = []

function context(): MaintenanceContext {
  const ctx = writerContext(database)
  contexts.push(ctx)
  return ctx
}

const common = { dryRun: false, wait: true, json: false, actor: 'auditor:test', now: undefined }
const verifyArgs = (extra: Partial<Extract<RunArgs, { command: 'verify' }>> = {}): RunArgs => ({
  ...common,
  command: 'verify',
  sample: 1,
  anchorFile: heads,
  exportHeadFile: undefined,
  ...extra,
})

beforeAll(async () => {
  database = await createTestDatabase({ label: 'maint_trail' })
  su = await superuser(database)
  dir = await mkdtemp(join(tmpdir(), 'pm-trail-'))
  heads = join(dir, 'heads.jsonl')
  const writer = database.connect(ROLES.writer).db
  for (let i = 1; i <= ENTRIES; i++) {
    await recordAuditEntry(writer, {
      adminId: `admin-${i % 3}`,
      action: 'campaign.update',
      resourceType: 'campaign',
      resourceId: `cmp-${i}`,
      tenantId: 't-1',
      oldValues: { status: 'active' },
      newValues: { status: 'paused', n: i },
      ipAddress: `10.0.0.${i}`,
    })
  }
})

afterAll(async () => {
  for (const ctx of contexts) await ctx.close()
  await su?.end()
  await database?.drop()
  await rm(dir, { recursive: true, force: true })
})

/** Saves the audit trail as it is, to put it back after each tampering. */
async function saveTrail(): Promise<void> {
  await su.query('drop table if exists trail_saved, head_saved')
  await su.query('create table trail_saved as select * from admin_audit_log')
  await su.query('create table head_saved as select * from admin_audit_chain_head')
}

const GUARDED = ['admin_audit_log', 'admin_audit_chain_head']
const MODES: Record<string, string> = {
  O: 'enable',
  A: 'enable always',
  R: 'enable replica',
  D: 'disable',
}

/**
 * Runs `fn` as a superuser with the audit tables' triggers disabled, committed; the triggers then
 * get their firing modes back (ENABLE ALWAYS), as found.
 */
async function asAttacker(fn: () => Promise<unknown>): Promise<void> {
  const { rows: triggers } = await su.query<{ rel: string; name: string; mode: string }>(
    `select tgrelid::regclass::text as rel, tgname as name, tgenabled as mode from pg_trigger
      where tgrelid = any($1::regclass[]) and not tgisinternal`,
    [GUARDED],
  )
  expect(triggers.filter((t) => t.mode === 'A').length).toBeGreaterThan(1)
  await su.query('begin')
  try {
    for (const table of GUARDED) await su.query(`alter table ${table} disable trigger all`)
    await fn()
    for (const t of triggers) {
      await su.query(`alter table ${t.rel} ${MODES[t.mode]} trigger ${t.name}`)
    }
    await su.query('commit')
  } catch (error) {
    await su.query('rollback')
    throw error
  }
}

async function restoreTrail(): Promise<void> {
  await asAttacker(async () => {
    await su.query('delete from admin_audit_log')
    await su.query('insert into admin_audit_log overriding system value select * from trail_saved')
    await su.query('delete from admin_audit_chain_head')
    await su.query('insert into admin_audit_chain_head select * from head_saved')
  })
}

/** Points the chain head at the last entry, as a careful attacker does. */
const FIX_HEAD = `
  update admin_audit_chain_head h set seq = l.seq, row_hash = l.row_hash
    from (select seq, row_hash from admin_audit_log order by seq desc limit 1) l`

interface Raw {
  id: string
  seq: string
  created: string
  action: string
  resource_type: string
  db_role: string
  row_hash: string
  digests: (string | null)[]
}

async function raw(): Promise<Raw[]> {
  const { rows } = await su.query<Raw>(
    `select id::text, seq::text, pm_audit_timestamp(created_at) as created, action, resource_type, db_role,
            encode(row_hash, 'hex') as row_hash,
            array(select encode(d, 'hex') from unnest(pii_digests) with ordinality u(d, o) order by o) as digests
       from admin_audit_log a order by a.seq`,
  )
  return rows
}

const hashOf = (e: Raw, seq: string, prevHash: string, digests = e.digests) =>
  computeRowHash({
    version: 1,
    seq,
    prevHash,
    createdAt: e.created,
    action: e.action,
    resourceType: e.resource_type,
    dbRole: e.db_role,
    digests,
  })

/** An entry consistent in itself, chained after `prev`: what an attacker who knows the algorithm forges. */
async function insertForged(prev: Raw, seq: number): Promise<void> {
  const salt = randomBytes(16).toString('hex')
  const digests = PERSONAL_FIELDS.map(() => null as string | null)
  digests[0] = computeDigest(salt, JSON.stringify('forger'))
  digests[8] = computeDigest(salt, '{}')
  const forged = { ...prev, action: 'campaign.read', digests }
  const rowHash = hashOf(forged, String(seq), prev.row_hash)
  await su.query(
    `insert into admin_audit_log (created_at, admin_id, action, resource_type, metadata, seq, prev_hash,
                                  row_hash, hash_version, db_role, pii_salts, pii_digests)
     values ($1::timestamptz, 'forger', 'campaign.read', $2, '{}', $3, decode($4, 'hex'), decode($5, 'hex'), 1, $6,
             array[decode($7, 'hex'), null, null, null, null, null, null, null, decode($7, 'hex')],
             array(select decode(d, 'hex') from unnest($8::text[]) with ordinality u(d, o) order by o))`,
    [prev.created, prev.resource_type, seq, prev.row_hash, rowHash, prev.db_role, salt, digests],
  )
}

/** Edits entry `from` and recomputes every hash after it, then the chain head. */
async function rewriteFrom(from: number): Promise<void> {
  await su.query(`update admin_audit_log set action = 'campaign.read' where seq = $1`, [from])
  const entries = await raw()
  let prev = (entries[from - 2] as Raw).row_hash
  for (const e of entries.slice(from - 1)) {
    const rowHash = hashOf(e, e.seq, prev)
    await su.query(
      `update admin_audit_log set prev_hash = decode($1, 'hex'), row_hash = decode($2, 'hex') where id = $3::bigint`,
      [prev, rowHash, e.id],
    )
    prev = rowHash
  }
  await su.query(FIX_HEAD)
}

describe('verify against an exported head', () => {
  it('--export-head appends the verified head to a file, which --anchor reads back', async () => {
    const result = await runCli(['verify', '--sample', '1', '--export-head', heads], {
      DATABASE_URL: database.url(ROLES.writer),
      PM_ERASURE_KEY: ERASURE_KEY,
    })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain(`chain head appended to ${heads}`)
    const lines = (await readFile(heads, 'utf8')).trim().split('\n')
    expect(lines).toHaveLength(1)
    const head = parseChainHead(lines[0] as string)
    expect(head.seq).toBe(String(ENTRIES))
    // the run itself is recorded after the head it exported; verifying against it passes
    const again = await runCommand(context(), verifyArgs())
    expect(again.exitCode, again.message).toBe(0)
    expect(again.report?.lines.join('\n')).toContain(
      `audit chain intact up to the exported head (entry ${ENTRIES})`,
    )
    await saveTrail()
  })

  const TAMPERINGS: [string, () => Promise<unknown>, RegExp][] = [
    [
      'a field edited',
      () =>
        su.query(`update admin_audit_log set new_values = '{"status":"active"}' where seq = 12`),
      /audit chain broken at entry 12: altered/,
    ],
    [
      'an entry deleted',
      () => su.query('delete from admin_audit_log where seq = 12'),
      /audit chain broken at entry 12: removed/,
    ],
    [
      'an entry inserted',
      async () => {
        const entries = await raw()
        await su.query('update admin_audit_log set seq = seq + 1 where seq >= 13')
        await insertForged(entries[11] as Raw, 13)
        await su.query(FIX_HEAD)
      },
      /audit chain broken at entry 13: inserted/,
    ],
    [
      'two entries swapped',
      () =>
        su.query(
          'update admin_audit_log set seq = case seq when 10 then 20 else 10 end where seq in (10, 20)',
        ),
      /audit chain broken at entry 10: reordered/,
    ],
    [
      'the tail truncated (and the chain head moved back)',
      async () => {
        await su.query(`delete from admin_audit_log where seq > ${ENTRIES - 3}`)
        await su.query(FIX_HEAD)
      },
      new RegExp(`audit chain broken at entry ${ENTRIES - 2}: truncated`),
    ],
    [
      'the whole chain rewritten from an edited entry on',
      () => rewriteFrom(12),
      new RegExp(`audit chain broken at entry ${ENTRIES}: rewritten`),
    ],
  ]

  for (const [what, tampering, expected] of TAMPERINGS) {
    it(`detects ${what} by a superuser with the triggers disabled, exits 1 naming the entry`, async () => {
      await asAttacker(tampering)
      try {
        const outcome = await runCommand(context(), verifyArgs())
        expect(outcome.exitCode).toBe(1)
        expect(outcome.message).toMatch(expected)
      } finally {
        await restoreTrail()
      }
      // the trail put back verifies again
      const restored = await runCommand(context(), verifyArgs({ dryRun: true }))
      expect(restored.exitCode, restored.message).toBe(0)
    })
  }

  it('without the head, a careful truncation and a rewrite go unnoticed: why heads are kept outside', async () => {
    for (const tampering of [TAMPERINGS[4]?.[1], TAMPERINGS[5]?.[1]]) {
      await asAttacker(tampering as () => Promise<unknown>)
      try {
        const outcome = await runCommand(context(), verifyArgs({ anchorFile: undefined }))
        expect(outcome.exitCode, outcome.message).toBe(0)
      } finally {
        await restoreTrail()
      }
    }
  })

  it('refuses a heads file that is not one, naming the file and the head', async () => {
    const bad = join(dir, 'bad.jsonl')
    await writeFile(bad, `${(await readFile(heads, 'utf8')).trim()}\n{"version":1,"seq":"x"}\n`)
    const outcome = await runCommand(context(), verifyArgs({ anchorFile: bad }))
    expect(outcome.exitCode).toBe(1)
    expect(outcome.message).toContain(`the chain head ${bad} is not one (head 2)`)
  })
})

describe('A7: every command is one audit entry with its actor, action, target, time and outcome', () => {
  it('for each command, succeeded or failed; a dry run and a busy exit leave none', async () => {
    await insertTenant(su, {
      name: 'a7',
      emailIdBase: 5_000_000,
      from: '2025-01-01',
      to: '2025-01-08',
    })
    await recomputeAll(database.connect(ROLES.writer).db)
    const entries = async () => Number(await scalar(su, 'select count(*) from admin_audit_log'))
    const last = async () =>
      (
        await su.query<{
          admin_id: string
          action: string
          resource_type: string
          resource_id: string | null
          notes: string | null
          created_at: Date
          metadata: Record<string, unknown>
        }>(
          'select admin_id, action, resource_type, resource_id, notes, created_at, metadata from admin_audit_log order by seq desc limit 1',
        )
      ).rows[0]
    const runs: [RunArgs, number][] = [
      [
        {
          ...common,
          command: 'partitions',
          ahead: 1,
          retention: { count: 0, unit: 'd', text: '0d' },
        },
        0,
      ],
      [{ ...common, command: 'archive', olderThan: { count: 2, unit: 'y', text: '2y' } }, 0],
      [{ ...common, command: 'refresh' }, 0],
      [{ ...common, command: 'analyze' }, 0],
      [verifyArgs({ anchorFile: undefined }), 0],
      // a failure: the heads file is missing
      [verifyArgs({ anchorFile: join(dir, 'missing.jsonl') }), 1],
    ]
    for (const [args, code] of runs) {
      const before = await entries()
      const outcome = await runCommand(context(), args)
      expect(outcome.exitCode, `${args.command}: ${outcome.message}`).toBe(code)
      expect(await entries(), args.command).toBe(before + 1)
      const outcomeText = code === 0 ? 'succeeded' : 'failed'
      expect(await last(), args.command).toMatchObject({
        admin_id: 'auditor:test',
        action: `maintenance.${args.command}`,
        resource_type: 'maintenance',
        resource_id: args.command,
        notes: outcomeText,
        created_at: expect.any(Date),
        metadata: expect.objectContaining({ outcome: outcomeText }),
      })
    }
    // anonymize writes its one entry inside the erasure's transaction
    const tenant = 'tenant-a7-xyz'
    const before = await entries()
    const erased = await runCommand(context(), {
      ...common,
      command: 'anonymize',
      tenantId: tenant,
      replay: false,
    })
    expect(erased.exitCode, erased.message).toBe(0)
    expect(await entries()).toBe(before + 1)
    expect(await last()).toMatchObject({
      admin_id: 'auditor:test',
      action: expect.stringMatching(/^(audit\.erase_personal|tenant\.anonymize)$/),
      resource_type: expect.any(String),
    })
    // a dry run records nothing, and neither does a run that found the lock taken
    const dry = await entries()
    expect(
      (await runCommand(context(), { ...common, command: 'analyze', dryRun: true })).exitCode,
    ).toBe(0)
    const holder = await superuser(database, 'pm-test-a7-holder')
    try {
      await holder.query(`select pg_advisory_lock(hashtext('pm_maintenance'), 0)`)
      const busy = await runCommand(context(), { ...common, command: 'analyze', wait: false })
      expect(busy.exitCode).toBe(3)
    } finally {
      await holder.end()
    }
    expect(await entries()).toBe(dry)
  })
})

describe('progress', () => {
  /** A stream that records what is written to it, a terminal or not. */
  function stream(isTTY: boolean) {
    const written: string[] = []
    const fake = {
      isTTY,
      columns: 60,
      write: (chunk: string) => {
        written.push(chunk)
        return true
      },
    } as unknown as NodeJS.WriteStream
    return { fake, written }
  }

  it('shows what a command is doing on one line of a terminal, cleared at the end; nothing elsewhere', async () => {
    const env = readEnv({ DATABASE_URL: database.url(ROLES.writer), LOG_LEVEL: 'silent' })
    for (const isTTY of [true, false]) {
      const { fake, written } = stream(isTTY)
      const ctx = createContext(env, {
        progress: createProgress(fake),
        logger: pino({ level: 'silent' }),
      })
      contexts.push(ctx)
      const outcome = await runCommand(ctx, verifyArgs({ anchorFile: undefined }))
      expect(outcome.exitCode, outcome.message).toBe(0)
      if (!isTTY) {
        expect(written).toEqual([])
        continue
      }
      const CLEAR = '\r\u001b[K'
      expect(
        written.some(
          (w) =>
            w.startsWith(CLEAR) &&
            /^\[\d+s\] verifying the audit chain$/.test(w.slice(CLEAR.length)),
        ),
      ).toBe(true)
      // every line fits the terminal's width, and the last write clears the line
      expect(written.every((w) => w.length <= CLEAR.length + 59)).toBe(true)
      expect(written.at(-1)).toBe(CLEAR)
    }
  })
})
