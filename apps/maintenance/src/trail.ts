import {
  type ChainHead,
  erasePersonalData,
  parseChainHead,
  recordAuditEntry,
  recordSystemEvent,
  verifyAuditChain,
} from '@penguinmails/audit-logger'
import type { DB } from '@penguinmails/schema'
import type { Kysely, Transaction } from 'kysely'
import { MaintenanceError } from './report.js'

// The runner's use of the audit trail (@penguinmails/audit-logger): one maintenance system event
// and one audit entry per run, the erasure of a tenant's personal data from the trail, and the
// verification of the chain.

export interface RunRecord {
  command: string
  actor: string
  /** when the run took the maintenance lock */
  startedAt: Date
  endedAt: Date
  /** time spent waiting for another run's lock (--wait) */
  waitedMs: number
  outcome: 'succeeded' | 'failed'
  details: Record<string, unknown>
  problems: string[]
  error: Error | undefined
  /** the command wrote its audit entry in its own transaction (anonymize) */
  auditedInTransaction: boolean
}

/** Records a finished run: its system event and (unless the command did) its audit entry. */
export async function recordRun(db: Kysely<DB>, run: RunRecord): Promise<void> {
  const durationMs = run.endedAt.getTime() - run.startedAt.getTime()
  const error = run.error
    ? { message: run.error.message, code: (run.error as { code?: string }).code ?? null }
    : null
  const metadata = {
    command: run.command,
    actor: run.actor,
    outcome: run.outcome,
    startedAt: run.startedAt.toISOString(),
    endedAt: run.endedAt.toISOString(),
    durationMs,
    waitedMs: run.waitedMs,
    problems: run.problems,
    error,
    details: run.details,
  }
  await db.transaction().execute(async (trx) => {
    await recordSystemEvent(trx, {
      eventType: 'maintenance',
      severity: run.outcome === 'succeeded' ? 'low' : 'high',
      title: `maintenance ${run.command} ${run.outcome}`,
      description:
        run.outcome === 'succeeded'
          ? `${run.command} ran in ${(durationMs / 1000).toFixed(1)} s`
          : (error?.message ?? run.problems.join('; ')),
      metadata,
    })
    if (!run.auditedInTransaction) {
      await recordAuditEntry(trx, {
        adminId: run.actor,
        action: `maintenance.${run.command}`,
        resourceType: 'maintenance',
        resourceId: run.command,
        notes: run.outcome,
        metadata: { outcome: run.outcome, startedAt: metadata.startedAt, durationMs, error },
      })
    }
  })
}

export interface AuditErasure {
  erasureSeq: string | null
  auditEntries: number
  systemEvents: number
}

/**
 * Erases the tenant's personal data from the audit trail in the erasure's transaction, mapping the
 * ids the trail names (resource ids) to the pseudonyms of `idMapTable` (old → new). The trail
 * appends its own erasure entry, carrying `details`: that is the erasure's one audit entry. When
 * the trail held nothing of the tenant it writes none, and this writes it instead.
 */
export async function eraseAuditTrail(
  trx: Transaction<DB>,
  subject: {
    tenantId: string
    pseudonym: string
    idMapTable: string
    actor: string
    details: Record<string, unknown>
  },
): Promise<AuditErasure> {
  const erased = await erasePersonalData(trx, {
    tenantId: subject.tenantId,
    tenantPseudonym: subject.pseudonym,
    idMap: { [subject.tenantId]: subject.pseudonym },
    idMapTable: subject.idMapTable,
    actor: subject.actor,
    details: subject.details,
  })
  if (!erased.erasureSeq) {
    await recordAuditEntry(trx, {
      adminId: subject.actor,
      action: 'tenant.anonymize',
      resourceType: 'tenant',
      tenantId: subject.pseudonym,
      metadata: subject.details,
    })
  }
  return {
    erasureSeq: erased.erasureSeq,
    auditEntries: erased.auditEntries,
    systemEvents: erased.systemEvents,
  }
}

export interface ChainCheck {
  ok: boolean
  summary: string
  checked: number
  head: ChainHead | null
  firstBad?: { seq: string; reason: string; detail: string } | undefined
}

/** Verifies the audit chain, against an exported head (`anchor`, a parsed JSON file) if given. */
export async function verifyChain(db: Kysely<DB>, anchor: unknown): Promise<ChainCheck> {
  let parsed: ChainHead | undefined
  if (anchor !== undefined) {
    try {
      parsed = parseChainHead(anchor)
    } catch (error) {
      throw new MaintenanceError(`the chain head given is not one: ${(error as Error).message}`)
    }
  }
  const result = await verifyAuditChain(db, parsed ? { anchor: parsed } : {})
  const against = parsed ? ` up to the exported head (entry ${parsed.seq})` : ''
  return {
    ok: result.ok,
    checked: result.checked,
    head: result.head,
    firstBad: result.firstBad,
    summary: result.ok
      ? `audit chain intact${against}: ${result.checked} entr${result.checked === 1 ? 'y' : 'ies'} verified, head at entry ${result.head?.seq ?? '0'}`
      : `audit chain broken at entry ${result.firstBad?.seq}: ${result.firstBad?.reason} (${result.firstBad?.detail})`,
  }
}
