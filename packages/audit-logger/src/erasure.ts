import { sql } from 'kysely'
import { type AuditDb, optionalText, requireText } from './db.js'
import { redactSecrets } from './redact.js'

/** The action of the audit entry every erasure appends. */
export const ERASURE_ACTION = 'audit.erase_personal'

export interface ErasureInput {
  /** the tenant whose personal data goes */
  tenantId: string
  /** what tenant_id becomes in its entries and events (e.g. its keyed hash); null removes it */
  tenantPseudonym?: string | null | undefined
  /**
   * New values for the tenant's ids (old id → pseudonym): an entry whose resource_id (or admin_id,
   * or another tenant_id) is a key is erased too and gets the mapped value; an erased resource_id
   * that is not mapped becomes NULL.
   */
  idMap?: Record<string, string> | Map<string, string> | undefined
  /**
   * A table or temporary table readable in this transaction with text columns `old` and `new`,
   * read for the ids that occur in the audit trail (merged with idMap).
   */
  idMapTable?: string | undefined
  /** who erases (recorded as the erasure entry's admin_id) */
  actor: string
  /** recorded in the erasure entry's metadata (request id, counts…): no personal data here */
  details?: Record<string, unknown> | undefined
}

export interface ErasureResult {
  /** seq of the erasure entry; null when nothing was left to erase (and nothing was written) */
  erasureSeq: string | null
  /** audit entries changed */
  auditEntries: number
  /** personal values removed from them */
  auditFields: number
  /** system events changed */
  systemEvents: number
}

/**
 * Erases a tenant's personal data from the audit trail, inside the caller's transaction (run it in
 * the transaction that erases the tenant elsewhere): through pm_audit_erase_personal(), the one
 * controlled exception to append-only (executable by pm_writer only). Entries of the tenant lose
 * their old and new values, IP address, user agent, notes and metadata, their resource_id becomes
 * its mapped pseudonym or NULL and their tenant_id the tenant's pseudonym; each erased value loses
 * its salt, so the digest the chain keeps cannot be reversed, and the chain still verifies. The
 * tenant's system events lose IP address, user agent, description and metadata. One erasure entry
 * is appended (action `audit.erase_personal`). A second run finds nothing and writes nothing.
 */
export async function erasePersonalData(db: AuditDb, input: ErasureInput): Promise<ErasureResult> {
  const tenantId = requireText(input.tenantId, 'tenantId')
  const pseudonym = optionalText(input.tenantPseudonym, 'tenantPseudonym')
  const actor = requireText(input.actor, 'actor')
  const map: Record<string, string> = {}
  const entries = input.idMap instanceof Map ? [...input.idMap] : Object.entries(input.idMap ?? {})
  for (const [k, v] of entries) {
    if (typeof v !== 'string') throw new TypeError('idMap maps ids to strings')
    map[k] = v
  }
  const details = redactSecrets(input.details ?? {})
  if (details === null || typeof details !== 'object' || Array.isArray(details)) {
    throw new TypeError('details must be an object')
  }
  const mapJson = sql`${JSON.stringify(map)}::jsonb`
  const idMap = input.idMapTable
    ? sql`(${mapJson} || (select coalesce(jsonb_object_agg(m.old, m.new), '{}'::jsonb)
                           from ${sql.table(requireText(input.idMapTable, 'idMapTable'))} m
                          where m.old in (select pm_audit_erasure_candidates())))`
    : mapJson
  const { rows } = await sql<{
    erasure_seq: string | null
    audit_entries: string
    audit_fields: string
    system_events: string
  }>`select erasure_seq::text, audit_entries::text, audit_fields::text, system_events::text
       from pm_audit_erase_personal(${tenantId}, ${pseudonym}::text, ${idMap}, ${actor},
                                    ${JSON.stringify(details)}::jsonb)`.execute(db)
  const row = rows[0]
  if (!row) throw new Error('pm_audit_erase_personal returned no row')
  return {
    erasureSeq: row.erasure_seq,
    auditEntries: Number(row.audit_entries),
    auditFields: Number(row.audit_fields),
    systemEvents: Number(row.system_events),
  }
}

export interface SubjectErasureInput {
  /** what is erased: one lead or one mailbox of a tenant (the tenant itself stays) */
  subjectKind: 'lead' | 'mailbox'
  /** the subject's new id (its keyed hash): the erasure entry's resource_id */
  subjectPseudonym: string
  /** the tenant the subject belongs to: only its entries (and entries of no tenant) are searched */
  tenantId: string
  /**
   * The subject's identifiers as they may occur in the trail (ids, email address…): an entry or
   * event whose personal values contain one of them as text is erased. Not empty.
   */
  needles: readonly string[]
  /** the subject's ids → their pseudonyms: resource and admin ids equal to a key are mapped */
  idMap?: Record<string, string> | Map<string, string> | undefined
  /** who erases (recorded as the erasure entry's admin_id) */
  actor: string
  /** recorded in the erasure entry's metadata (request id, counts…): no personal data here */
  details?: Record<string, unknown> | undefined
}

/**
 * Erases one lead's or mailbox's personal data from the audit trail, inside the caller's
 * transaction, through pm_audit_erase_subject() (migration 0011, executable by pm_writer only):
 * the entries of the tenant about the subject (resource or admin id mapped by `idMap`, or a
 * personal value containing one of `needles`) lose their old and new values, IP address, user
 * agent, notes and metadata, and their mapped ids become pseudonyms; the tenant's other entries
 * are kept as they are. Events naming the subject lose their personal fields too. The chain still
 * verifies; one erasure entry is appended (action `audit.erase_personal`, resource_type the
 * subject's kind, resource_id its pseudonym). A second run finds nothing and writes nothing.
 */
export async function eraseSubjectPersonalData(
  db: AuditDb,
  input: SubjectErasureInput,
): Promise<ErasureResult> {
  if (input.subjectKind !== 'lead' && input.subjectKind !== 'mailbox') {
    throw new TypeError('subjectKind must be "lead" or "mailbox"')
  }
  const pseudonym = requireText(input.subjectPseudonym, 'subjectPseudonym')
  const tenantId = requireText(input.tenantId, 'tenantId')
  const actor = requireText(input.actor, 'actor')
  const needles = [...input.needles].map((n, i) => requireText(n, `needles[${i}]`))
  if (needles.length === 0) throw new TypeError('needles must name the subject')
  const map: Record<string, string> = {}
  const entries = input.idMap instanceof Map ? [...input.idMap] : Object.entries(input.idMap ?? {})
  for (const [k, v] of entries) {
    if (typeof v !== 'string') throw new TypeError('idMap maps ids to strings')
    map[k] = v
  }
  const details = redactSecrets(input.details ?? {})
  if (details === null || typeof details !== 'object' || Array.isArray(details)) {
    throw new TypeError('details must be an object')
  }
  const { rows } = await sql<{
    erasure_seq: string | null
    audit_entries: string
    audit_fields: string
    system_events: string
  }>`select erasure_seq::text, audit_entries::text, audit_fields::text, system_events::text
       from pm_audit_erase_subject(${input.subjectKind}, ${pseudonym}, ${tenantId},
                                   ${needles}::text[], ${JSON.stringify(map)}::jsonb, ${actor},
                                   ${JSON.stringify(details)}::jsonb)`.execute(db)
  const row = rows[0]
  if (!row) throw new Error('pm_audit_erase_subject returned no row')
  return {
    erasureSeq: row.erasure_seq,
    auditEntries: Number(row.audit_entries),
    auditFields: Number(row.audit_fields),
    systemEvents: Number(row.system_events),
  }
}
