import { randomUUID } from 'node:crypto'
import type { DB } from '@penguinmails/schema'
import { type RawBuilder, sql, type Transaction } from 'kysely'
import type { RunContext } from './context.js'
import { eraseSubject } from './erase-subject.js'
import {
  ALL_TABLES,
  ANALYTICS_TABLES,
  DIRTY_KEYS,
  type ErasedTable,
  SOURCE_TABLES,
} from './erasure-plan.js'
import { createPseudonymizer, type Pseudonymizer } from './pseudonyms.js'
import { scrubRedis } from './redis-scrub.js'
import { type CommandReport, emptyReport, MaintenanceError } from './report.js'
import type { SubjectKind } from './subject-plan.js'
import { eraseAuditTrail } from './trail.js'

export interface AnonymizeOptions {
  tenantId: string | undefined
  /** erase this lead of the tenant only (not the tenant) */
  leadId?: string | undefined
  /** erase this mailbox (email account) of the tenant only (not the tenant) */
  mailboxId?: string | undefined
  /** apply every ledger entry again (after restoring a backup that predates them) */
  replay: boolean
}

export interface ErasureResult {
  /** what was erased: a whole tenant, or one lead or mailbox of a tenant */
  kind: 'tenant' | SubjectKind
  /** the erased subject's new id: the only name reports, logs and the audit trail give it */
  pseudonym: string
  /** false: nothing of the tenant was left (a second run) */
  changed: boolean
  /** rows changed per table */
  rowsChanged: Record<string, number>
  /** distinct ids of the tenant given a pseudonym */
  idsMapped: number
  ledgerId: string | undefined
  replayed: boolean
}

class DryRunRollback extends Error {
  constructor(readonly erasure: { result: ErasureResult; identifiers: string[] }) {
    super('dry run')
  }
}

/**
 * GDPR erasure of a tenant, in one transaction: every id of its rows, in every table (source,
 * analytics, archive, dirty keys), becomes a keyed hash, consistently, so the analytics totals stay
 * the same and a recompute from source gives the same rows; emails, mailbox addresses, domain and
 * other names are replaced; personal data in the audit trail is erased by the audit logger's own
 * function. It writes an erasure-ledger row and an audit entry in the same transaction. Nothing of
 * the original id is written anywhere, not even in the report: the tenant is named by its pseudonym.
 */
export async function runAnonymize(
  ctx: RunContext,
  options: AnonymizeOptions,
): Promise<CommandReport> {
  if (!ctx.env.erasureKey) {
    throw new MaintenanceError(
      'PM_ERASURE_KEY is not set: erasure replaces ids by keyed hashes and needs the key (32 bytes or more, from your secret store; the same key every time, or replays will not match)',
    )
  }
  const pseudonyms = createPseudonymizer(ctx.env.erasureKey)
  const report = emptyReport()
  const results: ErasureResult[] = []
  // the erased identifiers as they were, for Redis: never reported, never logged
  const identifiers: string[] = []
  const add = (erasure: { result: ErasureResult; identifiers: string[] }) => {
    results.push(erasure.result)
    identifiers.push(...erasure.identifiers)
  }
  if (options.replay) {
    const { subjects, otherKeys } = await ledgerSubjects(ctx, pseudonyms)
    if (otherKeys > 0) {
      report.problems.push(
        `${otherKeys} ledger entr${otherKeys === 1 ? 'y was' : 'ies were'} made with another PM_ERASURE_KEY: set the key they were made with (see erasure_ledger.key_fingerprint) and replay again`,
      )
    }
    // in the ledger's order: a lead erased before its tenant is found under its original id
    for (const subject of subjects) {
      if (subject.kind === 'tenant') {
        add(await eraseTenant(ctx, pseudonyms, subject.tenantId, { replay: true }))
      } else {
        add(
          await eraseSubject(
            ctx,
            pseudonyms,
            { kind: subject.kind, tenantId: subject.tenantId, id: subject.id },
            { replay: true },
          ),
        )
      }
    }
    if (subjects.length === 0)
      report.lines.push('no tenant, lead or mailbox of the ledger has data here: nothing to replay')
  } else {
    const tenantId = options.tenantId as string
    if (options.leadId !== undefined || options.mailboxId !== undefined) {
      const kind: SubjectKind = options.leadId !== undefined ? 'lead' : 'mailbox'
      const id = (options.leadId ?? options.mailboxId) as string
      add(await eraseSubject(ctx, pseudonyms, { kind, tenantId, id }, { replay: false }))
    } else {
      add(await eraseTenant(ctx, pseudonyms, tenantId, { replay: false }))
    }
  }
  for (const r of results) {
    const total = Object.values(r.rowsChanged).reduce((a, b) => a + b, 0)
    report.lines.push(
      r.changed
        ? `${ctx.dryRun ? 'would erase' : 'erased'} ${r.kind} ${r.pseudonym}${r.replayed ? ' (replayed from the ledger)' : ''}: ${total} row(s) in ${Object.keys(r.rowsChanged).length} table(s), ${r.idsMapped} id(s) replaced`
        : `${r.kind} ${r.pseudonym} was erased already: nothing left to change`,
    )
    for (const [table, n] of Object.entries(r.rowsChanged)) report.lines.push(`  ${table}: ${n}`)
  }
  report.details = {
    erasures: results.map((r) => ({ ...r })),
    keyFingerprint: pseudonyms.keyFingerprint,
    redis: await scrubWorkerRedis(ctx, identifiers, report),
  }
  report.auditedInTransaction = results.some((r) => r.changed) && !ctx.dryRun
  return report
}

/**
 * After the commit (Redis is not part of the transaction): the worker's BullMQ jobs that hold an
 * erased identifier, and the API's keys that name one (its rate limiter's, per tenant). Without
 * REDIS_URL the report says that Redis was not scrubbed.
 */
async function scrubWorkerRedis(
  ctx: RunContext,
  identifiers: string[],
  report: CommandReport,
): Promise<Record<string, unknown>> {
  const prefix = ctx.env.queuePrefix
  const apiPrefix = ctx.env.apiKeyPrefix
  const scanned = `${prefix}:* and ${apiPrefix}*`
  if (identifiers.length === 0) return { scrubbed: false, reason: 'nothing erased' }
  if (!ctx.env.redisUrl) {
    const warning = `warning: REDIS_URL is not set, so the worker's jobs and the API's rate-limit keys in Redis (keys ${scanned}) were not scrubbed of the erased identifiers: set REDIS_URL, WORKER_QUEUE_PREFIX and REDIS_KEY_PREFIX as the worker and the API have them and run the same command again`
    report.lines.push(warning)
    ctx.logger.warn(
      { prefix, apiPrefix },
      'REDIS_URL is not set: Redis not scrubbed after the erasure',
    )
    return { scrubbed: false, reason: 'REDIS_URL is not set', prefix, apiPrefix }
  }
  ctx.progress.update(`scrubbing Redis (${scanned})`)
  try {
    const scrub = await scrubRedis({
      url: ctx.env.redisUrl,
      prefix,
      apiPrefix,
      identifiers,
      dryRun: ctx.dryRun,
    })
    report.lines.push(
      `redis ${scanned}: ${scrub.keysScanned} key(s) scanned; ${ctx.dryRun ? 'would remove' : 'removed'} ${scrub.jobsRemoved} job(s), ${scrub.keysDeleted} key(s), ${scrub.valuesRemoved} value(s)`,
    )
    if (scrub.activeJobs > 0) {
      report.problems.push(
        `${scrub.activeJobs} job(s) holding an erased identifier are running in the worker now and were left alone: run the same anonymize command again once they have finished`,
      )
    }
    return { scrubbed: !ctx.dryRun, prefix, apiPrefix, ...scrub }
  } catch (error) {
    report.problems.push((error as Error).message)
    return { scrubbed: false, prefix, apiPrefix, error: (error as Error).message }
  }
}

async function eraseTenant(
  ctx: RunContext,
  pseudonyms: Pseudonymizer,
  tenantId: string,
  options: { replay: boolean },
): Promise<{ result: ErasureResult; identifiers: string[] }> {
  const pseudonym = pseudonyms.tenant(tenantId)
  const requestId = randomUUID()
  try {
    return await ctx.conn.transaction().execute(async (trx) => {
      // the aggregator's per-tenant lock: no recompute of either id runs meanwhile, so none can
      // write rows under the old ids after this transaction rewrote them
      await sql`select pg_advisory_xact_lock(hashtext('pm_aggregate'), hashtext(t))
                  from unnest(${[tenantId, pseudonym].sort()}::text[]) as u(t)`.execute(trx)
      const { rows: ledger } = await sql<{ id: string }>`
        select id::text from erasure_ledger
         where subject_kind = 'tenant' and subject_pseudonym = ${pseudonym}`.execute(trx)
      if (!(await hasData(trx, tenantId))) {
        if (ledger[0] || options.replay) {
          return {
            result: {
              kind: 'tenant' as const,
              pseudonym,
              changed: false,
              rowsChanged: {},
              idsMapped: 0,
              ledgerId: ledger[0]?.id,
              replayed: false,
            },
            identifiers: [tenantId],
          }
        }
        // the id is not repeated: it may itself be personal data, and this message is recorded
        throw new MaintenanceError(
          `no data of the given tenant (pseudonym ${pseudonym}) and no erasure of it in the ledger: check the tenant id`,
        )
      }
      ctx.progress.update(`erasing tenant ${pseudonym}: mapping ids`)
      const oldIds = await loadIdMap(trx, pseudonyms, tenantId)
      // the addresses, read before they are replaced (the Redis scrub looks for them too)
      const { rows: addresses } = await sql<{ v: string }>`
        select email as v from leads where tenant_id = ${tenantId}
        union select address from email_accounts where tenant_id = ${tenantId}
        union select name from domains where tenant_id = ${tenantId}`.execute(trx)
      const identifiers = [tenantId, ...oldIds, ...addresses.map((a) => a.v)]
      const rowsChanged: Record<string, number> = {}
      const count = (table: string, n: bigint | number | undefined) => {
        if (n && Number(n) > 0) rowsChanged[table] = (rowsChanged[table] ?? 0) + Number(n)
      }
      const steps = [...SOURCE_TABLES, ...ANALYTICS_TABLES]
      let step = 0
      for (const spec of steps) {
        ctx.progress.update(`erasing tenant ${pseudonym}: ${spec.table}`, ++step, steps.length + 3)
        const result = await sql
          .raw(spec.copied ? copyStatement(spec) : updateStatement(spec))
          .execute(trx)
          .catch((error) => {
            throw new MaintenanceError(
              `erasing ${spec.table} failed: ${(error as Error).message}`,
              {
                cause: error,
              },
            )
          })
        count(spec.table, result.numAffectedRows)
      }
      // old rows of copied tables, children first, once nothing references them any more
      for (const spec of [...SOURCE_TABLES].reverse().filter((s) => s.copied)) {
        await sql
          .raw(
            `delete from ${spec.table} x where x.${spec.tenantColumn ?? 'tenant_id'} = (select old from pm_erasure_tenant)`,
          )
          .execute(trx)
      }
      // last: the triggers of the statements above recorded dirty keys under the old ids too
      ctx.progress.update(
        `erasing tenant ${pseudonym}: dirty keys`,
        steps.length + 1,
        steps.length + 3,
      )
      const keys = await sql.raw(dirtyKeysStatement()).execute(trx)
      count(DIRTY_KEYS.table, keys.numAffectedRows)
      ctx.progress.update(
        `erasing tenant ${pseudonym}: summaries`,
        steps.length + 2,
        steps.length + 3,
      )
      // the summary view holds campaign names and ids: refreshed with the change, in its transaction
      await sql`select pm_refresh_campaign_performance_summary(true)`.execute(trx)
      // the statements above bumped the read API's data versions of the old id as well
      await sql`select pm_rename_tenant_versions(${tenantId}, ${pseudonym})`.execute(trx)
      let ledgerId = ledger[0]?.id
      if (!ledgerId) {
        const { rows } = await sql<{ id: string }>`
          insert into erasure_ledger (subject_kind, subject_pseudonym, key_fingerprint, request_id,
                                      requested_by, rows_changed)
          values ('tenant', ${pseudonym}, ${pseudonyms.keyFingerprint}, ${requestId}::uuid,
                  ${ctx.actor}, ${JSON.stringify(rowsChanged)}::jsonb)
          returning id::text`.execute(trx)
        ledgerId = rows[0]?.id
      }
      // last, so that its entry can name the rows changed: the audit trail's own erasure, which
      // appends the one audit entry of this erasure (or, when the trail held nothing of the tenant,
      // this command appends it)
      ctx.progress.update(
        `erasing tenant ${pseudonym}: audit trail`,
        steps.length + 3,
        steps.length + 3,
      )
      const audit = await eraseAuditTrail(trx, {
        tenantId,
        pseudonym,
        idMapTable: 'pm_erasure_ids',
        actor: ctx.actor,
        details: {
          command: 'maintenance anonymize',
          requestId,
          ledgerId,
          keyFingerprint: pseudonyms.keyFingerprint,
          replayed: ledger.length > 0,
          rowsChanged,
        },
      })
      count('admin_audit_log', audit.auditEntries)
      count('admin_system_events', audit.systemEvents)
      const result: ErasureResult = {
        kind: 'tenant',
        pseudonym,
        changed: true,
        rowsChanged,
        idsMapped: oldIds.length,
        ledgerId,
        replayed: ledger.length > 0,
      }
      if (ctx.dryRun) throw new DryRunRollback({ result, identifiers })
      return { result, identifiers }
    })
  } catch (error) {
    if (error instanceof DryRunRollback) return error.erasure
    throw error
  }
}

async function hasData(trx: Transaction<DB>, tenantId: string): Promise<boolean> {
  const probes = ALL_TABLES.map(
    (t) =>
      sql`(select 1 from ${sql.table(t.table)} where ${sql.ref(t.tenantColumn ?? 'tenant_id')} = ${tenantId} limit 1)`,
  )
  const { rows } = await sql<{ found: boolean }>`
    select exists (${sql.join(probes, sql` union all `)}) as found`.execute(trx)
  return rows[0]?.found === true
}

/**
 * Collects every id of the tenant's rows, computes its pseudonym here (the key never reaches the
 * database) and loads the pairs into a temporary table dropped at commit. Returns the ids mapped.
 */
async function loadIdMap(
  trx: Transaction<DB>,
  pseudonyms: Pseudonymizer,
  tenantId: string,
): Promise<string[]> {
  await sql`create temp table pm_erasure_ids (old text primary key, new text not null) on commit drop`.execute(
    trx,
  )
  await sql`create temp table pm_erasure_tenant on commit drop as
              select ${tenantId}::text as old, ${pseudonyms.tenant(tenantId)}::text as new`.execute(
    trx,
  )
  const parts = ALL_TABLES.flatMap((spec) => {
    const table = sql.table(spec.table)
    const owner = sql.ref(spec.tenantColumn ?? 'tenant_id')
    return [
      ...spec.ids.map(
        (c) => sql`select ${sql.ref(c)} as v from ${table} where ${owner} = ${tenantId}`,
      ),
      // a billing id not of the form '<tenant>:<month>' is mapped like any other id
      ...(spec.billingIds ?? []).map(
        (c) =>
          sql`select ${sql.ref(c)} from ${table} where ${owner} = ${tenantId}
                and left(${sql.ref(c)}, length(${tenantId}) + 1) <> ${tenantId} || ':'`,
      ),
    ]
  })
  const { rows } = await sql<{ v: string }>`
    select distinct v from (${sql.join(parts, sql` union `)}) ids where v is not null and v <> ''`.execute(
    trx,
  )
  const BATCH = 5000
  for (let i = 0; i < rows.length; i += BATCH) {
    const olds = rows.slice(i, i + BATCH).map((r) => r.v)
    const news = olds.map((v) => pseudonyms.id(tenantId, v))
    await sql`insert into pm_erasure_ids select * from unnest(${olds}::text[], ${news}::text[])`.execute(
      trx,
    )
  }
  await sql`analyze pm_erasure_ids`.execute(trx)
  return rows.map((r) => r.v)
}

const m = (column: string) => `(select e.new from pm_erasure_ids e where e.old = x.${column})`
const tenantNew = '(select new from pm_erasure_tenant)'
const tenantOld = '(select old from pm_erasure_tenant)'
const billing = (column: string) =>
  `case when left(x.${column}, length(${tenantOld}) + 1) = ${tenantOld} || ':' then ${tenantNew} || substr(x.${column}, length(${tenantOld}) + 1) else ${m(column)} end`

/** column → new value (SQL over the old row `x`) */
function replacements(spec: ErasedTable): [string, string][] {
  const out: [string, string][] = [[spec.tenantColumn ?? 'tenant_id', tenantNew]]
  for (const column of spec.ids) out.push([column, m(column)])
  for (const column of spec.billingIds ?? []) out.push([column, billing(column)])
  for (const [column, value] of Object.entries(spec.texts ?? {})) out.push([column, value(m)])
  return out
}

function updateStatement(spec: ErasedTable): string {
  const set = replacements(spec)
    .map(([column, value]) => `${column} = ${value}`)
    .join(', ')
  return `update ${spec.table} x set ${set} where x.${spec.tenantColumn ?? 'tenant_id'} = ${tenantOld}`
}

// through jsonb, so that columns this code does not know (the platform may add some) are kept
function copyStatement(spec: ErasedTable): string {
  const changes = replacements(spec)
    .map(([column, value]) => `'${column}', ${value}`)
    .join(', ')
  return `insert into ${spec.table}
          select (jsonb_populate_record(null::${spec.table}, to_jsonb(x) || jsonb_build_object(${changes}))).*
            from ${spec.table} x where x.${spec.tenantColumn ?? 'tenant_id'} = ${tenantOld}`
}

// Key rows are only inserted and deleted, never updated (the drain relies on it): moved as such.
function dirtyKeysStatement(): string {
  const mapOrEmpty = (column: string) => `case when x.${column} = '' then '' else ${m(column)} end`
  return `with x as (delete from analytics_dirty_keys d where d.tenant_id = ${tenantOld} returning d.*)
          insert into analytics_dirty_keys (tenant_id, kind, entity_id, campaign_id, day, created_at)
          select ${tenantNew}, x.kind, ${mapOrEmpty('entity_id')}, ${mapOrEmpty('campaign_id')}, x.day, x.created_at
            from x`
}

type LedgerSubject =
  | { kind: 'tenant'; tenantId: string }
  | { kind: SubjectKind; tenantId: string; id: string }

/**
 * The subjects present here whose pseudonym is in the ledger (made with the current key), in the
 * ledger's order. A lead is looked for among the leads and the lead analytics, a mailbox among the
 * email accounts: each candidate's pseudonym is computed here, with the key.
 */
async function ledgerSubjects(
  ctx: RunContext,
  pseudonyms: Pseudonymizer,
): Promise<{ subjects: LedgerSubject[]; otherKeys: number }> {
  const { rows: ledger } = await sql<{
    subject_kind: 'tenant' | SubjectKind
    subject_pseudonym: string
    key_fingerprint: string
  }>`select subject_kind, subject_pseudonym, key_fingerprint from erasure_ledger order by id`.execute(
    ctx.conn,
  )
  const mine = ledger.filter((l) => l.key_fingerprint === pseudonyms.keyFingerprint)
  const kinds = new Set(mine.map((l) => l.subject_kind))
  const found = new Map<string, LedgerSubject>()
  if (kinds.has('tenant')) {
    const { rows } = await sql<{ id: string }>`select id from tenants`.execute(ctx.conn)
    for (const { id } of rows)
      found.set(`tenant:${pseudonyms.tenant(id)}`, { kind: 'tenant', tenantId: id })
  }
  const candidates = async (kind: SubjectKind, query: RawBuilder<CandidateRow>) => {
    if (!kinds.has(kind)) return
    const { rows } = await query.execute(ctx.conn)
    for (const r of rows) {
      found.set(`${kind}:${pseudonyms.id(r.tenant_id, r.id)}`, {
        kind,
        tenantId: r.tenant_id,
        id: r.id,
      })
    }
  }
  await candidates(
    'lead',
    sql<CandidateRow>`select tenant_id, id from leads
                      union select tenant_id, lead_id from lead_analytics`,
  )
  await candidates('mailbox', sql<CandidateRow>`select tenant_id, id from email_accounts`)
  return {
    subjects: mine.flatMap((l) => {
      const subject = found.get(`${l.subject_kind}:${l.subject_pseudonym}`)
      return subject ? [subject] : []
    }),
    otherKeys: ledger.length - mine.length,
  }
}

interface CandidateRow {
  tenant_id: string
  id: string
}
