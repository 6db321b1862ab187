import type { DB, JsonValue } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { checkDateRange, type DateRange } from './date-range.js'
import { listFingerprint } from './keyset-cursor.js'
import { keysetPage, type SortColumn } from './keyset-page.js'
import { toCount } from './numeric-values.js'
import type { Page, PageRequest } from './page.js'

const NEWEST_FIRST = [
  { column: 'id', direction: 'desc', type: 'bigint' },
] as const satisfies readonly SortColumn[]

export interface AuditLogEntriesParams extends DateRange, PageRequest {
  adminId?: string | undefined
  tenantId?: string | undefined
  action?: string | undefined
  resourceType?: string | undefined
}

export interface AuditLogEntryRow {
  id: number
  /** ISO 8601, UTC, microseconds */
  created_at: string
  admin_id: string
  action: string
  resource_type: string
  resource_id: string | null
  tenant_id: string | null
  ip_address: string | null
  user_agent: string | null
  notes: string | null
  metadata: JsonValue
}

/** Audit log entries created on the UTC days [from, to), newest first. Admin role only. */
export async function auditLogEntries(
  db: Kysely<DB>,
  params: AuditLogEntriesParams,
): Promise<Page<AuditLogEntryRow>> {
  checkDateRange(params)
  const { from, to } = params
  let query = db
    .selectFrom('admin_audit_log as a')
    .where('a.created_at', '>=', new Date(`${from}T00:00:00Z`))
    .where('a.created_at', '<', new Date(`${to}T00:00:00Z`))
    .select([
      'a.id',
      sql<string>`to_char(a.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
        'created_at',
      ),
      'a.admin_id',
      'a.action',
      'a.resource_type',
      'a.resource_id',
      'a.tenant_id',
      sql<string | null>`host(a.ip_address)`.as('ip_address'),
      'a.user_agent',
      'a.notes',
      'a.metadata',
    ])
  if (params.adminId !== undefined) query = query.where('a.admin_id', '=', params.adminId)
  if (params.tenantId !== undefined) query = query.where('a.tenant_id', '=', params.tenantId)
  if (params.action !== undefined) query = query.where('a.action', '=', params.action)
  if (params.resourceType !== undefined)
    query = query.where('a.resource_type', '=', params.resourceType)
  const page = await keysetPage(
    db,
    query,
    NEWEST_FIRST,
    listFingerprint([
      'audit-log',
      from,
      to,
      params.adminId ?? null,
      params.tenantId ?? null,
      params.action ?? null,
      params.resourceType ?? null,
    ]),
    params,
  )
  return {
    nextCursor: page.nextCursor,
    rows: page.rows.map((r) => ({ ...r, id: toCount(r.id), metadata: r.metadata as JsonValue })),
  }
}
