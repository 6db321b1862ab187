import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { type AuditDb, inTransaction, requireText } from './db.js'
import { recordSystemEvent } from './events.js'

/** Default lifetime of a new session, and default extension. */
export const DEFAULT_SESSION_TTL_SECONDS = 3600
/** Default idle timeout of touchSession. */
export const DEFAULT_IDLE_SECONDS = 1800

/** A session as its events tell it (admin_system_events, session_* events). */
export interface AdminSession {
  sessionId: string
  /** the admin of its session_started event */
  adminId: string | null
  startedAt: Date | null
  /** the expiry of its latest session_started or session_extended event */
  expiresAt: Date | null
  lastEventAt: Date
  /** when it was ended or expired; null while it runs */
  endedAt: Date | null
  endReason: 'session_ended' | 'session_expired' | null
  /** started, not ended or expired, and its expiry not passed */
  active: boolean
  ipAddress: string | null
  userAgent: string | null
  tenantId: string | null
}

interface SessionRow {
  session_id: string
  admin_id: string | null
  started_at: Date | null
  expires_at: Date | null
  last_event_at: Date
  ended_at: Date | null
  end_event: string | null
  ip_address: string | null
  user_agent: string | null
  tenant_id: string | null
  active: boolean
  checked_at: Date
}

function toSession(row: SessionRow): AdminSession {
  return {
    sessionId: row.session_id,
    adminId: row.admin_id,
    startedAt: row.started_at,
    expiresAt: row.expires_at,
    lastEventAt: row.last_event_at,
    endedAt: row.ended_at,
    endReason:
      row.end_event === 'session_ended' || row.end_event === 'session_expired'
        ? row.end_event
        : null,
    active: row.active,
    ipAddress: row.ip_address,
    userAgent: row.user_agent,
    tenantId: row.tenant_id,
  }
}

async function sessionRows(
  db: AuditDb,
  sessionId: string | null,
  adminId: string | null,
  activeOnly: boolean,
): Promise<SessionRow[]> {
  const { rows } = await sql<SessionRow>`
    select * from pm_admin_sessions(${sessionId}::text, ${adminId}::text, ${activeOnly})`.execute(
    db,
  )
  return rows
}

/** Session operations on one session never interleave (no double expiry, no extension after end). */
async function lockSession(trx: AuditDb, sessionId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext('pm_admin_session'), hashtext(${sessionId}))`.execute(
    trx,
  )
}

export class SessionNotActiveError extends Error {
  override name = 'SessionNotActiveError'
  constructor(
    readonly sessionId: string,
    readonly session: AdminSession | null,
  ) {
    super(
      session
        ? `admin session ${sessionId} is not active (${session.endReason ?? 'its expiry has passed'})`
        : `admin session ${sessionId} does not exist`,
    )
  }
}

function positiveSeconds(value: number | undefined, fallback: number, what: string): number {
  const seconds = value ?? fallback
  if (!Number.isFinite(seconds) || seconds <= 0) throw new TypeError(`${what} must be > 0`)
  return seconds
}

export interface StartSessionInput {
  adminId: string
  /** default: a random UUID. An identifier, not the bearer secret: do not pass the cookie value */
  sessionId?: string | undefined
  /** default 3600 */
  ttlSeconds?: number | undefined
  ipAddress?: string | null | undefined
  userAgent?: string | null | undefined
  tenantId?: string | null | undefined
  metadata?: Record<string, unknown> | undefined
}

/** Starts an admin session: a session_started event expiring ttlSeconds from now. */
export async function startSession(db: AuditDb, input: StartSessionInput): Promise<AdminSession> {
  const adminId = requireText(input.adminId, 'adminId')
  const sessionId =
    input.sessionId === undefined ? randomUUID() : requireText(input.sessionId, 'sessionId')
  const ttl = positiveSeconds(input.ttlSeconds, DEFAULT_SESSION_TTL_SECONDS, 'ttlSeconds')
  return inTransaction(db, async (trx) => {
    await lockSession(trx, sessionId)
    if ((await sessionRows(trx, sessionId, null, false)).length > 0) {
      throw new TypeError(`admin session ${sessionId} exists already`)
    }
    await recordSystemEvent(trx, {
      eventType: 'session_started',
      title: 'Session started',
      adminId,
      sessionId,
      ipAddress: input.ipAddress,
      userAgent: input.userAgent,
      tenantId: input.tenantId,
      expiresInSeconds: ttl,
      metadata: input.metadata,
    })
    return (await getSessionIn(trx, sessionId)) as AdminSession
  })
}

async function getSessionIn(trx: AuditDb, sessionId: string): Promise<AdminSession | null> {
  const row = (await sessionRows(trx, sessionId, null, false))[0]
  return row ? toSession(row) : null
}

/** The session as its events tell it, or null when it has none. */
export async function getSession(db: AuditDb, sessionId: string): Promise<AdminSession | null> {
  return getSessionIn(db, requireText(sessionId, 'sessionId'))
}

export interface TouchSessionOptions {
  /** the session expires after this long without a touch; default 1800 */
  idleSeconds?: number | undefined
}

export interface TouchResult {
  /** null: no such session */
  session: AdminSession | null
  /** a session_extended event was recorded */
  extended: boolean
  /** the session had expired: a session_expired event was recorded now */
  expired: boolean
}

/**
 * Marks activity on a session (call it on each request): a sliding expiry of idleSeconds. It writes
 * a session_extended event only when less than half of idleSeconds is left, so a busy session costs
 * one event per half idle period, not one per request. A session found past its expiry gets its
 * session_expired event and stays over.
 */
export async function touchSession(
  db: AuditDb,
  sessionId: string,
  options: TouchSessionOptions = {},
): Promise<TouchResult> {
  const id = requireText(sessionId, 'sessionId')
  const idle = positiveSeconds(options.idleSeconds, DEFAULT_IDLE_SECONDS, 'idleSeconds')
  return inTransaction(db, async (trx) => {
    await lockSession(trx, id)
    const row = (await sessionRows(trx, id, null, false))[0]
    if (!row) return { session: null, extended: false, expired: false }
    if (row.ended_at !== null || row.started_at === null) {
      return { session: toSession(row), extended: false, expired: false }
    }
    if (!row.active) {
      await recordEnd(trx, row, 'session_expired', null, 'idle')
      return { session: await getSessionIn(trx, id), extended: false, expired: true }
    }
    const left = row.expires_at
      ? (row.expires_at.getTime() - row.checked_at.getTime()) / 1000
      : Infinity
    if (left >= idle / 2) return { session: toSession(row), extended: false, expired: false }
    await recordEvent(trx, row, 'session_extended', 'Session extended', row.admin_id, {
      expiresInSeconds: idle,
      metadata: { reason: 'touch' },
    })
    return { session: await getSessionIn(trx, id), extended: true, expired: false }
  })
}

export interface ExtendSessionOptions {
  /** the new expiry; default: bySeconds after the later of now and the current expiry */
  until?: Date | undefined
  /** default 3600 */
  bySeconds?: number | undefined
  /** who extends it; default the session's admin */
  adminId?: string | undefined
  reason?: string | undefined
}

/** Extends an active session (a session_extended event); throws SessionNotActiveError otherwise. */
export async function extendSession(
  db: AuditDb,
  sessionId: string,
  options: ExtendSessionOptions = {},
): Promise<AdminSession> {
  const id = requireText(sessionId, 'sessionId')
  const by = positiveSeconds(options.bySeconds, DEFAULT_SESSION_TTL_SECONDS, 'bySeconds')
  return inTransaction(db, async (trx) => {
    await lockSession(trx, id)
    const row = (await sessionRows(trx, id, null, false))[0]
    if (!row?.active) throw new SessionNotActiveError(id, row ? toSession(row) : null)
    const base = Math.max(row.checked_at.getTime(), row.expires_at?.getTime() ?? 0)
    const until = options.until ?? new Date(base + by * 1000)
    if (!(until instanceof Date) || Number.isNaN(until.getTime())) {
      throw new TypeError('until must be a valid Date')
    }
    await recordEvent(
      trx,
      row,
      'session_extended',
      'Session extended',
      options.adminId ?? row.admin_id,
      {
        expiresAt: until,
        metadata: { reason: options.reason ?? 'extend' },
      },
    )
    return (await getSessionIn(trx, id)) as AdminSession
  })
}

export interface EndSessionOptions {
  /** who ends it; default the session's admin */
  adminId?: string | undefined
  reason?: string | undefined
}

/** Ends a session (session_ended). False, and nothing written, when it was over already. */
export async function endSession(
  db: AuditDb,
  sessionId: string,
  options: EndSessionOptions = {},
): Promise<boolean> {
  return finish(db, sessionId, 'session_ended', options)
}

/** Records that a session expired (session_expired). False when it was over already. */
export async function expireSession(
  db: AuditDb,
  sessionId: string,
  options: { reason?: string | undefined } = {},
): Promise<boolean> {
  return finish(db, sessionId, 'session_expired', options)
}

async function finish(
  db: AuditDb,
  sessionId: string,
  type: 'session_ended' | 'session_expired',
  options: EndSessionOptions,
  onlyIfPastExpiry = false,
): Promise<boolean> {
  const id = requireText(sessionId, 'sessionId')
  return inTransaction(db, async (trx) => {
    await lockSession(trx, id)
    const row = (await sessionRows(trx, id, null, false))[0]
    if (!row || row.ended_at !== null) return false
    if (onlyIfPastExpiry && row.active) return false
    await recordEnd(trx, row, type, options.adminId ?? null, options.reason)
    return true
  })
}

async function recordEnd(
  trx: AuditDb,
  row: SessionRow,
  type: 'session_ended' | 'session_expired',
  adminId: string | null,
  reason: string | undefined,
): Promise<void> {
  await recordEvent(
    trx,
    row,
    type,
    type === 'session_ended' ? 'Session ended' : 'Session expired',
    adminId ?? row.admin_id,
    { metadata: reason === undefined ? {} : { reason } },
  )
}

async function recordEvent(
  trx: AuditDb,
  row: SessionRow,
  type: 'session_extended' | 'session_ended' | 'session_expired',
  title: string,
  adminId: string | null,
  extra: { expiresAt?: Date; expiresInSeconds?: number; metadata?: Record<string, unknown> },
): Promise<void> {
  await recordSystemEvent(trx, {
    eventType: type,
    title,
    adminId,
    sessionId: row.session_id,
    tenantId: row.tenant_id,
    ...extra,
    metadata: {
      ...extra.metadata,
      ...(adminId !== row.admin_id ? { sessionAdminId: row.admin_id } : {}),
    },
  })
}

/** The active sessions of an admin, or of every admin, oldest first. */
export async function listActiveSessions(db: AuditDb, adminId?: string): Promise<AdminSession[]> {
  const admin = adminId === undefined ? null : requireText(adminId, 'adminId')
  return (await sessionRows(db, null, admin, true)).map(toSession)
}

/**
 * Records session_expired for every session whose expiry has passed (within the last 30 days)
 * without an end, e.g. from a periodic job. Returns how many it expired.
 */
export async function expireStaleSessions(db: AuditDb): Promise<number> {
  const stale = (await sessionRows(db, null, null, false)).filter(
    (r) => r.started_at !== null && r.ended_at === null && !r.active,
  )
  let expired = 0
  for (const row of stale) {
    if (await finish(db, row.session_id, 'session_expired', { reason: 'expiry passed' }, true)) {
      expired++
    }
  }
  return expired
}
