import { sql } from 'kysely'
import { normalizeIpAddress, normalizeUserAgent } from './client.js'
import { type AuditDb, optionalText, requireText } from './db.js'
import { type JsonValue, redactSecrets, redactText } from './redact.js'

/** What an admin did. */
export interface AuditEntryInput {
  /** who did it (an admin id, or e.g. `system:maintenance`) */
  adminId: string
  /** what: `tenant.read`, `campaign.update`, … */
  action: string
  /** the kind of thing it was done to */
  resourceType: string
  resourceId?: string | null | undefined
  /** the tenant the entry concerns, if any: erasure of that tenant finds its entries by it */
  tenantId?: string | null | undefined
  /** the state before (any JSON-able value; secrets are redacted) */
  oldValues?: unknown
  /** the state after (any JSON-able value; secrets are redacted) */
  newValues?: unknown
  /** an IP address; anything else (a host name, garbage) is dropped */
  ipAddress?: string | null | undefined
  /** cut at 1,024 characters */
  userAgent?: string | null | undefined
  notes?: string | null | undefined
  /** request id, route, outcome…; secrets are redacted. Personal data belongs in old/new values */
  metadata?: Record<string, unknown> | undefined
}

export interface RecordedAuditEntry {
  /** admin_audit_log.id */
  id: string
  /** the entry's position in the chain: 1, 2, 3, … */
  seq: string
  /** its row_hash, in hex */
  rowHash: string
}

/** The entry as pm_audit_append() takes it (snake_case JSON). */
export function auditEntryPayload(entry: AuditEntryInput): Record<string, JsonValue> {
  if (entry === null || typeof entry !== 'object')
    throw new TypeError('an audit entry is an object')
  const payload: Record<string, JsonValue> = {
    admin_id: requireText(entry.adminId, 'adminId'),
    action: requireText(entry.action, 'action'),
    resource_type: requireText(entry.resourceType, 'resourceType'),
  }
  const resourceId = optionalText(entry.resourceId, 'resourceId')
  if (resourceId !== null) payload.resource_id = resourceId
  const tenantId = optionalText(entry.tenantId, 'tenantId')
  if (tenantId !== null) payload.tenant_id = tenantId
  const oldValues = redactSecrets(entry.oldValues) as JsonValue | undefined
  if (oldValues !== undefined && oldValues !== null) payload.old_values = oldValues
  const newValues = redactSecrets(entry.newValues) as JsonValue | undefined
  if (newValues !== undefined && newValues !== null) payload.new_values = newValues
  const ip = normalizeIpAddress(optionalText(entry.ipAddress, 'ipAddress'))
  if (ip !== null) payload.ip_address = ip
  const userAgent = normalizeUserAgent(optionalText(entry.userAgent, 'userAgent'))
  if (userAgent !== null) payload.user_agent = userAgent
  const notes = optionalText(entry.notes, 'notes')
  if (notes !== null) payload.notes = redactText(notes)
  if (entry.metadata !== undefined && entry.metadata !== null) {
    const metadata = redactSecrets(entry.metadata)
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      throw new TypeError('metadata must be an object')
    }
    payload.metadata = metadata as JsonValue
  }
  return payload
}

/**
 * Appends an entry to the audit trail (admin_audit_log) and returns its id, its seq in the chain
 * and its row hash. Given a transaction, it writes inside it: the entry commits or rolls back with
 * the change it describes. Secrets in old and new values, metadata and notes are redacted first
 * (and again by the database).
 *
 * The database chains entries one at a time: from this call until the transaction ends, other
 * writers of audit entries wait. Record the entry last in a transaction, and keep such
 * transactions short. In REPEATABLE READ or SERIALIZABLE transactions a concurrent audit write
 * makes this fail with a serialization failure (40001): retry the transaction.
 */
export async function recordAuditEntry(
  db: AuditDb,
  entry: AuditEntryInput,
): Promise<RecordedAuditEntry> {
  const payload = auditEntryPayload(entry)
  const { rows } = await sql<{ entry_id: string; entry_seq: string; entry_row_hash: string }>`
    select entry_id::text, entry_seq::text, entry_row_hash
      from pm_audit_append(${JSON.stringify(payload)}::jsonb)`.execute(db)
  const row = rows[0]
  if (!row) throw new Error('pm_audit_append returned no row')
  return { id: row.entry_id, seq: row.entry_seq, rowHash: row.entry_row_hash }
}
