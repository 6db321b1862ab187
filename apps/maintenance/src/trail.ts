import { appendFileSync, readFileSync } from 'node:fs'
import {
  type ChainHead,
  erasePersonalData,
  eraseSubjectPersonalData,
  parseChainHead,
  recordAuditEntry,
  recordSystemEvent,
  verifyAuditChain,
} from '@penguinmails/audit-logger'
import type { DB } from '@penguinmails/schema'
import type { Kysely, Transaction } from 'kysely'
import { MaintenanceError } from './report.js'

// The runner's use of the audit trail (@penguinmails/audit-logger): one maintenance system event
// and one audit entry per run, the erasure of a tenant's personal data from the trail, the
// verification of the chain against exported heads, and the files those heads are kept in.

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

/**
 * Erases one lead's or mailbox's personal data from the audit trail in the erasure's transaction
 * (the entries and events of its tenant that name one of its identifiers; the tenant's others stay).
 * The trail appends its own erasure entry carrying `details` when it erased something; when it held
 * nothing of the subject, `erasureSeq` is null and the caller appends the erasure's audit entry.
 */
export async function eraseSubjectAuditTrail(
  trx: Transaction<DB>,
  subject: {
    kind: 'lead' | 'mailbox'
    tenantId: string
    pseudonym: string
    identifiers: string[]
    idMap: Record<string, string>
    actor: string
    details: Record<string, unknown>
  },
): Promise<AuditErasure> {
  const erased = await eraseSubjectPersonalData(trx, {
    subjectKind: subject.kind,
    subjectPseudonym: subject.pseudonym,
    tenantId: subject.tenantId,
    needles: subject.identifiers,
    idMap: subject.idMap,
    actor: subject.actor,
    details: subject.details,
  })
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
  /** how many exported heads the chain was checked against */
  anchors: number
  firstBad?: { seq: string; reason: string; detail: string; after?: string } | undefined
}

/**
 * Verifies the audit chain against the heads exported earlier (none, one or several: the more,
 * the closer a rewrite is located).
 */
export async function verifyChain(
  db: Kysely<DB>,
  anchors: readonly ChainHead[],
): Promise<ChainCheck> {
  let result: Awaited<ReturnType<typeof verifyAuditChain>>
  try {
    result = await verifyAuditChain(db, { anchors })
  } catch (error) {
    // two heads for one entry that disagree: the file mixes heads of different chains
    if (error instanceof TypeError)
      throw new MaintenanceError(`the chain heads given do not fit together: ${error.message}`)
    throw error
  }
  const last = anchors.reduce<ChainHead | undefined>(
    (a, b) => (a === undefined || BigInt(b.seq) > BigInt(a.seq) ? b : a),
    undefined,
  )
  const against = last
    ? ` up to the exported head (entry ${last.seq}${anchors.length > 1 ? `, ${anchors.length} heads` : ''})`
    : ''
  const bad = result.firstBad
  return {
    ok: result.ok,
    checked: result.checked,
    head: result.head,
    anchors: anchors.length,
    firstBad: bad,
    summary: result.ok
      ? `audit chain intact${against}: ${result.checked} entr${result.checked === 1 ? 'y' : 'ies'} verified, head at entry ${result.head?.seq ?? '0'}`
      : `audit chain broken at entry ${bad?.seq}: ${bad?.reason} (${bad?.detail})`,
  }
}

/**
 * The chain heads kept in a file: one head as JSON, a JSON array of heads, or one head per line
 * (what --export-head appends). Throws a MaintenanceError naming the file and what is wrong.
 */
export function readChainHeads(path: string): ChainHead[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new MaintenanceError(
      `cannot read the chain head ${path}: ${(error as Error).message}; pass a file written by --export-head (or by exportChainHead)`,
      { cause: error },
    )
  }
  const bad = (where: string, error: unknown) =>
    new MaintenanceError(
      `the chain head ${path} is not one${where}: ${(error as Error).message}; pass a file written by --export-head (or by exportChainHead)`,
    )
  const trimmed = text.trim()
  if (trimmed === '') throw bad('', new Error('the file is empty'))
  let values: unknown[]
  try {
    const whole = JSON.parse(trimmed) as unknown
    values = Array.isArray(whole) ? whole : [whole]
  } catch {
    // one head per line
    values = []
    const lines = text.split('\n')
    for (let i = 0; i < lines.length; i++) {
      const line = (lines[i] as string).trim()
      if (line === '') continue
      try {
        values.push(JSON.parse(line))
      } catch (error) {
        throw bad(` (line ${i + 1})`, error)
      }
    }
  }
  if (values.length === 0) throw bad('', new Error('it holds no head'))
  return values.map((value, i) => {
    try {
      return parseChainHead(value)
    } catch (error) {
      throw bad(values.length > 1 ? ` (head ${i + 1})` : '', error)
    }
  })
}

/**
 * Appends a head to a file (one JSON line; the file is created readable by its owner only), to
 * keep outside the database and pass back as --anchor: the file then holds the heads exported over
 * time.
 */
export function appendChainHead(path: string, head: ChainHead): void {
  try {
    appendFileSync(path, `${JSON.stringify(head)}\n`, { mode: 0o600 })
  } catch (error) {
    throw new MaintenanceError(
      `cannot write the chain head to ${path}: ${(error as Error).message}; pass a writable path to --export-head`,
      { cause: error },
    )
  }
}
