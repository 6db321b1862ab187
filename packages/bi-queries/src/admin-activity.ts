import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { checkDateRange, type DateRange } from './date-range.js'
import { listFingerprint } from './keyset-cursor.js'
import { keysetPage, type SortColumn } from './keyset-page.js'
import { toCount } from './numeric-values.js'
import type { Page, PageRequest } from './page.js'

export const TIME_CATEGORIES = ['Business Hours', 'After Hours', 'Night Time'] as const
export type TimeCategory = (typeof TIME_CATEGORIES)[number]

// newest hour first
const ADMIN_ACTIVITY_ORDER = [
  { column: 'day', direction: 'desc', type: 'date' },
  { column: 'hour', direction: 'desc', type: 'integer' },
  { column: 'admin_id', direction: 'asc', type: 'text' },
  { column: 'action', direction: 'asc', type: 'text' },
  { column: 'resource_type', direction: 'asc', type: 'text' },
] as const satisfies readonly SortColumn[]

export interface AdminActivityParams extends DateRange, PageRequest {
  adminId?: string | undefined
  action?: string | undefined
  resourceType?: string | undefined
}

export interface AdminActivityRow {
  admin_id: string
  action: string
  resource_type: string
  /** the UTC day and hour (0–23) of the actions */
  day: string
  hour: number
  action_count: number
  /** distinct tenants the actions concerned */
  tenants_affected: number
  /** distinct IP addresses the actions came from */
  unique_ips: number
  /** of the UTC hour: 9–17 Business Hours, 18–22 After Hours, else Night Time */
  time_category: TimeCategory
}

/**
 * What platform admins did, from the audit log, per admin, action, resource type and UTC hour,
 * over the UTC days [from, to). Admin tables only: run it as the admin role.
 */
export async function adminActivity(
  db: Kysely<DB>,
  params: AdminActivityParams,
): Promise<Page<AdminActivityRow>> {
  checkDateRange(params)
  const { from, to } = params
  const local = sql`(a.created_at at time zone 'UTC')`
  const day = sql<string>`${local}::date`
  const hour = sql<number>`extract(hour from ${local})::integer`
  let grouped = db
    .selectFrom('admin_audit_log as a')
    .where('a.created_at', '>=', new Date(`${from}T00:00:00Z`))
    .where('a.created_at', '<', new Date(`${to}T00:00:00Z`))
    .groupBy(['a.admin_id', 'a.action', 'a.resource_type', day, hour])
    .select([
      'a.admin_id',
      'a.action',
      'a.resource_type',
      day.as('day'),
      hour.as('hour'),
      sql<string>`count(*)`.as('action_count'),
      sql<string>`count(distinct a.tenant_id)`.as('tenants_affected'),
      sql<string>`count(distinct a.ip_address)`.as('unique_ips'),
      sql<TimeCategory>`case when ${hour} between 9 and 17 then 'Business Hours'
                             when ${hour} between 18 and 22 then 'After Hours'
                             else 'Night Time' end`.as('time_category'),
    ])
  if (params.adminId !== undefined) grouped = grouped.where('a.admin_id', '=', params.adminId)
  if (params.action !== undefined) grouped = grouped.where('a.action', '=', params.action)
  if (params.resourceType !== undefined)
    grouped = grouped.where('a.resource_type', '=', params.resourceType)
  const page = await keysetPage(
    db,
    grouped,
    ADMIN_ACTIVITY_ORDER,
    listFingerprint([
      'admin-activity',
      from,
      to,
      params.adminId ?? null,
      params.action ?? null,
      params.resourceType ?? null,
    ]),
    params,
  )
  return {
    nextCursor: page.nextCursor,
    rows: page.rows.map((r) => ({
      admin_id: r.admin_id,
      action: r.action,
      resource_type: r.resource_type,
      day: r.day,
      hour: r.hour,
      action_count: toCount(r.action_count),
      tenants_affected: toCount(r.tenants_affected),
      unique_ips: toCount(r.unique_ips),
      time_category: r.time_category,
    })),
  }
}
