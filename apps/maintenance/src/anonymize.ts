import { randomUUID } from 'node:crypto'
import type { DB } from '@penguinmails/schema'
import { sql, type Transaction } from 'kysely'
import type { RunContext } from './context.js'
import {
  ALL_TABLES,
  ANALYTICS_TABLES,
  DIRTY_KEYS,
  type ErasedTable,
  SOURCE_TABLES,
} from './erasure-plan.js'
import { createPseudonymizer, type Pseudonymizer } from './pseudonyms.js'
import { type CommandReport, emptyReport, MaintenanceError } from './report.js'
import { eraseAuditTrail } from './trail.js'

export interface AnonymizeOptions {
  tenantId: string | undefined
  /** apply every ledger entry again (after restoring a backup that predates them) */
  replay: boolean
}

export interface ErasureResult {
  /** the erased tenant's new id: the only name reports, logs and the audit trail give it */
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
  constructor(readonly result: ErasureResult) {
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
  if (options.replay) {
    const { subjects, otherKeys } = await ledgerSubjects(ctx, pseudonyms)
    if (otherKeys > 0) {
      report.problems.push(
        `${otherKeys} ledger entr${otherKeys === 1 ? 'y was' : 'ies were'} made with another PM_ERASURE_KEY: set the key they were made with (see erasure_ledger.key_fingerprint) and replay again`,
      )
    }
    for (const tenantId of subjects) {
      results.push(await eraseTenant(ctx, pseudonyms, tenantId, { replay: true }))
    }
    if (subjects.length === 0)
      report.lines.push('no tenant of the ledger has data here: nothing to replay')
  } else {
    results.push(await eraseTenant(ctx, pseudonyms, options.tenantId as string, { replay: false }))
  }
  for (const r of results) {
    const total = Object.values(r.rowsChanged).reduce((a, b) => a + b, 0)
    report.lines.push(
      r.changed
        ? `${ctx.dryRun ? 'would erase' : 'erased'} tenant ${r.pseudonym}${r.replayed ? ' (replayed from the ledger)' : ''}: ${total} row(s) in ${Object.keys(r.rowsChanged).length} table(s), ${r.idsMapped} id(s) replaced`
        : `tenant ${r.pseudonym} was erased already: nothing left to change`,
    )
    for (const [table, n] of Object.entries(r.rowsChanged)) report.lines.push(`  ${table}: ${n}`)
  }
  report.details = {
    erasures: results.map((r) => ({ ...r })),
    keyFingerprint: pseudonyms.keyFingerprint,
  }
  report.auditedInTransaction = results.some((r) => r.changed) && !ctx.dryRun
  return report
}

async function eraseTenant(
  ctx: RunContext,
  pseudonyms: Pseudonymizer,
  tenantId: string,
  options: { replay: boolean },
): Promise<ErasureResult> {
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
            pseudonym,
            changed: false,
            rowsChanged: {},
            idsMapped: 0,
            ledgerId: ledger[0]?.id,
            replayed: false,
          }
        }
        // the id is not repeated: it may itself be personal data, and this message is recorded
        throw new MaintenanceError(
          `no data of the given tenant (pseudonym ${pseudonym}) and no erasure of it in the ledger: check the tenant id`,
        )
      }
      ctx.progress.update(`erasing tenant ${pseudonym}: mapping ids`)
      const mapped = await loadIdMap(trx, pseudonyms, tenantId)
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
        pseudonym,
        changed: true,
        rowsChanged,
        idsMapped: mapped,
        ledgerId,
        replayed: ledger.length > 0,
      }
      if (ctx.dryRun) throw new DryRunRollback(result)
      return result
    })
  } catch (error) {
    if (error instanceof DryRunRollback) return error.result
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
 * database) and loads the pairs into a temporary table dropped at commit.
 */
async function loadIdMap(
  trx: Transaction<DB>,
  pseudonyms: Pseudonymizer,
  tenantId: string,
): Promise<number> {
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
  return rows.length
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

/** Tenants present here whose pseudonym is in the ledger (made with the current key). */
async function ledgerSubjects(
  ctx: RunContext,
  pseudonyms: Pseudonymizer,
): Promise<{ subjects: string[]; otherKeys: number }> {
  const { rows: ledger } = await sql<{ subject_pseudonym: string; key_fingerprint: string }>`
    select subject_pseudonym, key_fingerprint from erasure_ledger where subject_kind = 'tenant'`.execute(
    ctx.conn,
  )
  const wanted = new Set(
    ledger
      .filter((l) => l.key_fingerprint === pseudonyms.keyFingerprint)
      .map((l) => l.subject_pseudonym),
  )
  const { rows: tenants } = await sql<{ id: string }>`select id from tenants`.execute(ctx.conn)
  return {
    subjects: tenants.map((t) => t.id).filter((id) => wanted.has(pseudonyms.tenant(id))),
    otherKeys:
      ledger.length - ledger.filter((l) => l.key_fingerprint === pseudonyms.keyFingerprint).length,
  }
}
