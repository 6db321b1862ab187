import { randomUUID } from 'node:crypto'
import { recordAuditEntry } from '@penguinmails/audit-logger'
import { sql } from 'kysely'
import type { ErasureResult } from './anonymize.js'
import type { RunContext } from './context.js'
import type { Pseudonymizer } from './pseudonyms.js'
import { MaintenanceError } from './report.js'
import { SUBJECT_FLAGS, SUBJECT_PLANS, type SubjectKind } from './subject-plan.js'
import { eraseSubjectAuditTrail } from './trail.js'

export interface SubjectErasure {
  result: ErasureResult
  /** the subject's identifiers as they were (for the Redis scrub; never reported) */
  identifiers: string[]
}

class DryRunRollback extends Error {
  constructor(readonly erasure: SubjectErasure) {
    super('dry run')
  }
}

const literal = (value: string) => `'${value.replaceAll("'", "''")}'`

/**
 * GDPR erasure of one lead or one mailbox of a tenant, in one transaction: its id becomes its
 * keyed hash (the same HMAC as a tenant erasure gives it) in its own row and wherever another
 * table names it (emails, analytics, archives, dirty keys), its email address or mailbox address
 * becomes `<pseudonym>@erased.invalid`, the audit trail's entries about it are erased by the audit
 * logger, the summary view is refreshed, and an erasure-ledger row and one audit entry record it.
 * The tenant's analytics totals stay exact; its other rows are not touched. The original id is
 * written nowhere (reports, logs, audit): the subject is named by its pseudonym.
 */
export async function eraseSubject(
  ctx: RunContext,
  pseudonyms: Pseudonymizer,
  subject: { kind: SubjectKind; tenantId: string; id: string },
  options: { replay: boolean },
): Promise<SubjectErasure> {
  const plan = SUBJECT_PLANS[subject.kind]
  const { tenantId, id: oldId } = subject
  const pseudonym = pseudonyms.id(tenantId, oldId)
  const requestId = randomUUID()
  const what = `${subject.kind} ${pseudonym}`
  try {
    return await ctx.conn.transaction().execute(async (trx) => {
      // the aggregator's per-tenant lock: no recompute of the tenant reads the old id meanwhile
      await sql`select pg_advisory_xact_lock(hashtext('pm_aggregate'), hashtext(${tenantId}))`.execute(
        trx,
      )
      const { rows: ledger } = await sql<{ id: string }>`
        select id::text from erasure_ledger
         where subject_kind = ${subject.kind} and subject_pseudonym = ${pseudonym}`.execute(trx)
      const { rows: own } = await sql<Record<string, string | null>>`
        select ${sql.join(Object.keys(plan.texts).map((c) => sql.ref(c)))}
          from ${sql.table(plan.table)} where tenant_id = ${tenantId} and id = ${oldId}`.execute(
        trx,
      )
      const probes = plan.references.map(
        (r) =>
          sql`(select 1 from ${sql.table(r.table)} where tenant_id = ${tenantId} and ${sql.ref(r.column)} = ${oldId} limit 1)`,
      )
      const { rows: found } = await sql<{ found: boolean }>`
        select exists (${sql.join(
          [
            ...probes,
            sql`(select 1 from analytics_dirty_keys where tenant_id = ${tenantId}
                   and kind = any(${plan.dirtyKinds}::text[]) and entity_id = ${oldId} limit 1)`,
          ],
          sql` union all `,
        )}) as found`.execute(trx)
      const identifiers = [
        oldId,
        ...own.flatMap((r) => Object.values(r).filter((v): v is string => !!v)),
      ]
      if (own.length === 0 && found[0]?.found !== true) {
        if (ledger[0] || options.replay) {
          return {
            result: {
              kind: subject.kind,
              pseudonym,
              changed: false,
              rowsChanged: {},
              idsMapped: 0,
              ledgerId: ledger[0]?.id,
              replayed: false,
            },
            identifiers,
          }
        }
        // neither id is repeated: the subject's may itself be personal data, and this is recorded
        throw new MaintenanceError(
          `no data of the given ${subject.kind} (pseudonym ${pseudonym}) in the given tenant and no erasure of it in the ledger: check ${SUBJECT_FLAGS[subject.kind]} and --tenant`,
        )
      }
      const rowsChanged: Record<string, number> = {}
      const count = (table: string, n: bigint | number | undefined) => {
        if (n && Number(n) > 0) rowsChanged[table] = (rowsChanged[table] ?? 0) + Number(n)
      }
      const run = async (table: string, statement: string) => {
        const result = await sql
          .raw(statement)
          .execute(trx)
          .catch((error) => {
            throw new MaintenanceError(`erasing ${table} failed: ${(error as Error).message}`, {
              cause: error,
            })
          })
        return result.numAffectedRows
      }
      const t = literal(tenantId)
      const o = literal(oldId)
      const n = literal(pseudonym)
      const texts = Object.entries(plan.texts).map(
        ([column, value]) => [column, value.replaceAll('$new', n)] as const,
      )
      const steps = plan.references.length + 4
      let step = 0
      ctx.progress.update(`erasing ${what}: ${plan.table}`, ++step, steps)
      if (plan.copied) {
        // a key cannot change under its references: the row is copied under its new id (through
        // jsonb, so columns this code does not know are kept), the references moved, then deleted
        const changes = [['id', n] as const, ...texts].map(([c, v]) => `'${c}', ${v}`).join(', ')
        count(
          plan.table,
          await run(
            plan.table,
            `insert into ${plan.table}
             select (jsonb_populate_record(null::${plan.table}, to_jsonb(x) || jsonb_build_object(${changes}))).*
               from ${plan.table} x where x.tenant_id = ${t} and x.id = ${o}`,
          ),
        )
      } else {
        const set = [['id', n] as const, ...texts].map(([c, v]) => `${c} = ${v}`).join(', ')
        count(
          plan.table,
          await run(
            plan.table,
            `update ${plan.table} set ${set} where tenant_id = ${t} and id = ${o}`,
          ),
        )
      }
      for (const ref of plan.references) {
        ctx.progress.update(`erasing ${what}: ${ref.table}`, ++step, steps)
        count(
          ref.table,
          await run(
            ref.table,
            `update ${ref.table} set ${ref.column} = ${n} where tenant_id = ${t} and ${ref.column} = ${o}`,
          ),
        )
      }
      if (plan.copied) {
        await run(plan.table, `delete from ${plan.table} where tenant_id = ${t} and id = ${o}`)
      }
      // last: the triggers of the statements above recorded dirty keys under the old id too.
      // Key rows are only inserted and deleted, never updated (the drain relies on it)
      ctx.progress.update(`erasing ${what}: dirty keys`, ++step, steps)
      const kinds = plan.dirtyKinds.map(literal).join(', ')
      count(
        'analytics_dirty_keys',
        await run(
          'analytics_dirty_keys',
          `with x as (delete from analytics_dirty_keys d
                       where d.tenant_id = ${t} and d.kind in (${kinds}) and d.entity_id = ${o}
                   returning d.*)
           insert into analytics_dirty_keys (tenant_id, kind, entity_id, campaign_id, day, created_at)
           select x.tenant_id, x.kind, ${n}, x.campaign_id, x.day, x.created_at from x`,
        ),
      )
      ctx.progress.update(`erasing ${what}: summaries`, ++step, steps)
      await sql`select pm_refresh_campaign_performance_summary(true)`.execute(trx)
      let ledgerId = ledger[0]?.id
      if (!ledgerId) {
        const { rows } = await sql<{ id: string }>`
          insert into erasure_ledger (subject_kind, subject_pseudonym, key_fingerprint, request_id,
                                      requested_by, rows_changed)
          values (${subject.kind}, ${pseudonym}, ${pseudonyms.keyFingerprint}, ${requestId}::uuid,
                  ${ctx.actor}, ${JSON.stringify(rowsChanged)}::jsonb)
          returning id::text`.execute(trx)
        ledgerId = rows[0]?.id
      }
      ctx.progress.update(`erasing ${what}: audit trail`, ++step, steps)
      const details = {
        command: 'maintenance anonymize',
        subjectKind: subject.kind,
        subjectPseudonym: pseudonym,
        requestId,
        ledgerId,
        keyFingerprint: pseudonyms.keyFingerprint,
        replayed: ledger.length > 0,
        rowsChanged,
      }
      const audit = await eraseSubjectAuditTrail(trx, {
        kind: subject.kind,
        tenantId,
        pseudonym,
        identifiers,
        idMap: { [oldId]: pseudonym },
        actor: ctx.actor,
        details,
      })
      if (!audit.erasureSeq) {
        await recordAuditEntry(trx, {
          adminId: ctx.actor,
          action: `${subject.kind}.anonymize`,
          resourceType: subject.kind,
          resourceId: pseudonym,
          tenantId,
          metadata: details,
        })
      }
      count('admin_audit_log', audit.auditEntries)
      count('admin_system_events', audit.systemEvents)
      const erasure: SubjectErasure = {
        result: {
          kind: subject.kind,
          pseudonym,
          changed: true,
          rowsChanged,
          idsMapped: 1,
          ledgerId,
          replayed: ledger.length > 0,
        },
        identifiers,
      }
      if (ctx.dryRun) throw new DryRunRollback(erasure)
      return erasure
    })
  } catch (error) {
    if (error instanceof DryRunRollback) return error.erasure
    throw error
  }
}
