import { isIP } from 'node:net'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { DB } from '@penguinmails/schema'
import type { Context } from 'hono'
import type { Transaction } from 'kysely'
import type { AppEnv } from './app-env.js'

/** What an admin did, as @penguinmails/audit-logger records it. */
export interface AuditEntryInput {
  adminId: string
  action: string
  resourceType: string
  resourceId?: string
  tenantId?: string
  ipAddress?: string
  userAgent?: string
  metadata?: Record<string, unknown>
}

/** Writes one audit entry in the caller's transaction (recordAuditEntry of the audit logger). */
export type AuditRecorder = (trx: Transaction<DB>, entry: AuditEntryInput) => Promise<unknown>

/** The target of an admin read, named in its audit entry. */
export interface AuditTarget {
  action: 'read' | 'export'
  resourceType: string
  resourceId?: string | undefined
  tenantId?: string | undefined
}

/** The client's address: the socket's, or the first X-Forwarded-For hop behind a trusted proxy. */
export function clientAddress(c: Context<AppEnv>, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',')[0]?.trim()
    if (forwarded && isIP(forwarded)) return forwarded
  }
  try {
    const address = getConnInfo(c).remote.address
    return address && isIP(address) ? address : undefined
  } catch {
    // no socket: a request handed to app.fetch directly (tests, other runtimes)
    return undefined
  }
}

export function auditEntry(
  c: Context<AppEnv>,
  trustProxy: boolean,
  target: AuditTarget,
  outcome: Record<string, unknown>,
): AuditEntryInput {
  const principal = c.get('principal')
  const ipAddress = clientAddress(c, trustProxy)
  const userAgent = c.req.header('user-agent')?.slice(0, 500)
  return {
    adminId: principal.subject,
    action: target.action,
    resourceType: target.resourceType,
    ...(target.resourceId !== undefined ? { resourceId: target.resourceId } : {}),
    ...(target.tenantId !== undefined ? { tenantId: target.tenantId } : {}),
    ...(ipAddress ? { ipAddress } : {}),
    ...(userAgent ? { userAgent } : {}),
    metadata: {
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      query: c.req.query(),
      tokenTenantId: principal.tenantId,
      ...outcome,
    },
  }
}
