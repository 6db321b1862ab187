import type { DB, JsonValue } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { checkDateRange, type DateRange } from './date-range.js'
import { listFingerprint } from './keyset-cursor.js'
import { keysetPage, type SortColumn } from './keyset-page.js'
import { toCount } from './numeric-values.js'
import type { Page, PageRequest } from './page.js'

export const SYSTEM_EVENT_TYPES = [
  'session_started',
  'session_extended',
  'session_ended',
  'session_expired',
  'alert',
  'incident',
  'maintenance',
] as const
export const SYSTEM_EVENT_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const

const NEWEST_FIRST = [
  { column: 'id', direction: 'desc', type: 'bigint' },
] as const satisfies readonly SortColumn[]

export interface SystemEventsParams extends DateRange, PageRequest {
  eventType?: (typeof SYSTEM_EVENT_TYPES)[number] | undefined
  severity?: (typeof SYSTEM_EVENT_SEVERITIES)[number] | undefined
  adminId?: string | undefined
  tenantId?: string | undefined
  /** only events not resolved yet */
  unresolved?: boolean | undefined
}

export interface SystemEventRow {
  id: number
  created_at: string
  event_type: string
  severity: string
  admin_id: string | null
  session_id: string | null
  tenant_id: string | null
  title: string
  description: string | null
  ip_address: string | null
  user_agent: string | null
  expires_at: string | null
  metadata: JsonValue
  resolved_at: string | null
  resolved_by: string | null
  resolution: string | null
}

const iso = (column: string) =>
  sql<
    string | null
  >`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`

/** System events (sessions, alerts, incidents…) created on the UTC days [from, to), newest first. */
export async function systemEvents(
  db: Kysely<DB>,
  params: SystemEventsParams,
): Promise<Page<SystemEventRow>> {
  checkDateRange(params)
  const { from, to } = params
  let query = db
    .selectFrom('admin_system_events as e')
    .where('e.created_at', '>=', new Date(`${from}T00:00:00Z`))
    .where('e.created_at', '<', new Date(`${to}T00:00:00Z`))
    .select([
      'e.id',
      iso('e.created_at').$castTo<string>().as('created_at'),
      'e.event_type',
      'e.severity',
      'e.admin_id',
      'e.session_id',
      'e.tenant_id',
      'e.title',
      'e.description',
      sql<string | null>`host(e.ip_address)`.as('ip_address'),
      'e.user_agent',
      iso('e.expires_at').as('expires_at'),
      'e.metadata',
      iso('e.resolved_at').as('resolved_at'),
      'e.resolved_by',
      'e.resolution',
    ])
  if (params.eventType !== undefined) query = query.where('e.event_type', '=', params.eventType)
  if (params.severity !== undefined) query = query.where('e.severity', '=', params.severity)
  if (params.adminId !== undefined) query = query.where('e.admin_id', '=', params.adminId)
  if (params.tenantId !== undefined) query = query.where('e.tenant_id', '=', params.tenantId)
  if (params.unresolved === true) query = query.where('e.resolved_at', 'is', null)
  const page = await keysetPage(
    db,
    query,
    NEWEST_FIRST,
    listFingerprint([
      'system-events',
      from,
      to,
      params.eventType ?? null,
      params.severity ?? null,
      params.adminId ?? null,
      params.tenantId ?? null,
      params.unresolved === true,
    ]),
    params,
  )
  return {
    nextCursor: page.nextCursor,
    rows: page.rows.map((r) => ({ ...r, id: toCount(r.id), metadata: r.metadata as JsonValue })),
  }
}
