import { sql } from 'kysely'
import { normalizeIpAddress, normalizeUserAgent } from './client.js'
import { type AuditDb, optionalText, requireText } from './db.js'
import { type JsonValue, redactSecrets, redactText } from './redact.js'

export const SYSTEM_EVENT_TYPES = [
  'alert',
  'incident',
  'maintenance',
  'session_started',
  'session_extended',
  'session_ended',
  'session_expired',
] as const
export type SystemEventType = (typeof SYSTEM_EVENT_TYPES)[number]

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const
export type Severity = (typeof SEVERITIES)[number]

export interface SystemEventInput {
  eventType: SystemEventType
  /** default `low` */
  severity?: Severity | undefined
  title: string
  description?: string | null | undefined
  adminId?: string | null | undefined
  /** required for session events */
  sessionId?: string | null | undefined
  tenantId?: string | null | undefined
  ipAddress?: string | null | undefined
  userAgent?: string | null | undefined
  expiresAt?: Date | null | undefined
  /** instead of expiresAt: this many seconds after the database's now() */
  expiresInSeconds?: number | undefined
  metadata?: Record<string, unknown> | undefined
}

export interface RecordedSystemEvent {
  id: string
  createdAt: Date
  expiresAt: Date | null
}

/**
 * Appends a system event (admin_system_events): an alert, incident or maintenance run, or a session
 * event (prefer the session helpers for those). Inside the caller's transaction when given one.
 * Secrets in the title, description and metadata are redacted.
 */
export async function recordSystemEvent(
  db: AuditDb,
  event: SystemEventInput,
): Promise<RecordedSystemEvent> {
  if (event === null || typeof event !== 'object') throw new TypeError('an event is an object')
  if (!SYSTEM_EVENT_TYPES.includes(event.eventType)) {
    throw new TypeError(`eventType must be one of ${SYSTEM_EVENT_TYPES.join(', ')}`)
  }
  const severity = event.severity ?? 'low'
  if (!SEVERITIES.includes(severity)) {
    throw new TypeError(`severity must be one of ${SEVERITIES.join(', ')}`)
  }
  const payload: Record<string, JsonValue> = {
    event_type: event.eventType,
    severity,
    title: redactText(requireText(event.title, 'title')),
  }
  const text = (key: string, value: unknown, what: string) => {
    const v = optionalText(value, what)
    if (v !== null) payload[key] = v
  }
  const description = optionalText(event.description, 'description')
  if (description !== null) payload.description = redactText(description)
  text('admin_id', event.adminId, 'adminId')
  text('session_id', event.sessionId, 'sessionId')
  text('tenant_id', event.tenantId, 'tenantId')
  if (event.eventType.startsWith('session_') && payload.session_id === undefined) {
    throw new TypeError(`a ${event.eventType} event needs a sessionId`)
  }
  const ip = normalizeIpAddress(optionalText(event.ipAddress, 'ipAddress'))
  if (ip !== null) payload.ip_address = ip
  const userAgent = normalizeUserAgent(optionalText(event.userAgent, 'userAgent'))
  if (userAgent !== null) payload.user_agent = userAgent
  if (event.expiresAt !== undefined && event.expiresAt !== null) {
    if (!(event.expiresAt instanceof Date) || Number.isNaN(event.expiresAt.getTime())) {
      throw new TypeError('expiresAt must be a valid Date')
    }
    payload.expires_at = event.expiresAt.toISOString()
  } else if (event.expiresInSeconds !== undefined) {
    if (!Number.isFinite(event.expiresInSeconds)) {
      throw new TypeError('expiresInSeconds must be a finite number')
    }
    payload.expires_in_seconds = event.expiresInSeconds
  }
  if (event.metadata !== undefined && event.metadata !== null) {
    const metadata = redactSecrets(event.metadata)
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      throw new TypeError('metadata must be an object')
    }
    payload.metadata = metadata as JsonValue
  }
  const { rows } = await sql<{ id: string; created_at: Date; expires_at: Date | null }>`
    select event_id::text as id, event_created_at as created_at, event_expires_at as expires_at
      from pm_record_system_event(${JSON.stringify(payload)}::jsonb)`.execute(db)
  const row = rows[0]
  if (!row) throw new Error('pm_record_system_event returned no row')
  return { id: row.id, createdAt: row.created_at, expiresAt: row.expires_at }
}

export interface ResolveSystemEventInput {
  id: string
  resolvedBy: string
  resolution: string
}

/**
 * Resolves an alert, incident or maintenance event, once: sets its resolved_at (the database's
 * now()), resolved_by and resolution, and appends an audit entry `system_event.resolve`, in one
 * transaction (the caller's when given one). Fails when the event does not exist (P0002), was
 * resolved already (55000) or is a session event (22023).
 */
export async function resolveSystemEvent(
  db: AuditDb,
  input: ResolveSystemEventInput,
): Promise<void> {
  const id = requireText(input.id, 'id')
  if (!/^\d{1,19}$/.test(id)) throw new TypeError('id must be the decimal id of a system event')
  await sql`select pm_resolve_system_event(${id}::bigint, ${requireText(input.resolvedBy, 'resolvedBy')},
                                           ${redactText(requireText(input.resolution, 'resolution'))})`.execute(
    db,
  )
}
