import { type OpenAPIHono, z } from '@hono/zod-openapi'
import {
  adminActivity,
  auditLogEntries,
  SYSTEM_EVENT_SEVERITIES,
  SYSTEM_EVENT_TYPES,
  systemEvents,
} from '@penguinmails/bi-queries'
import type { AppEnv } from '../app-env.js'
import type { AppContext } from '../context.js'
import {
  checkRange,
  dateRangeFields,
  formatField,
  pageFields,
  textFilter,
} from '../schemas/query-parameters.js'
import {
  AdminActivityRowSchema,
  AuditLogEntryRowSchema,
  SystemEventRowSchema,
} from '../schemas/row-schemas.js'
import { registerAdminRead } from './read-route.js'

const noPath = z.object({})

export function registerAdminRoutes(app: OpenAPIHono<AppEnv>, context: AppContext): void {
  registerAdminRead(app, context, {
    name: 'admin_activity',
    path: '/activity',
    tag: 'admin',
    summary: 'What admins did, per hour',
    description:
      'From the audit log, per admin, action, resource type and UTC hour over the UTC days [from, to): action count, tenants affected, unique IPs and time category (Business Hours 9–17, After Hours 18–22, else Night Time). Newest hour first.',
    query: z
      .strictObject({
        ...dateRangeFields,
        ...pageFields,
        ...formatField,
        admin_id: textFilter('only this admin'),
        action: textFilter('only this action'),
        resource_type: textFilter('only this resource type'),
      })
      .superRefine(checkRange),
    params: noPath,
    row: AdminActivityRowSchema,
    paginated: true,
    read: async (trx, { query, limit, cursor }) =>
      adminActivity(trx, {
        from: query.from,
        to: query.to,
        adminId: query.admin_id,
        action: query.action,
        resourceType: query.resource_type,
        limit,
        cursor,
      }),
  })

  registerAdminRead(app, context, {
    name: 'audit_log',
    path: '/audit-log',
    tag: 'admin',
    summary: 'Audit log entries',
    description: 'Entries created on the UTC days [from, to), newest first.',
    query: z
      .strictObject({
        ...dateRangeFields,
        ...pageFields,
        ...formatField,
        admin_id: textFilter('only this admin'),
        tenant_id: textFilter('only entries concerning this tenant'),
        action: textFilter('only this action'),
        resource_type: textFilter('only this resource type'),
      })
      .superRefine(checkRange),
    params: noPath,
    row: AuditLogEntryRowSchema,
    paginated: true,
    read: async (trx, { query, limit, cursor }) =>
      auditLogEntries(trx, {
        from: query.from,
        to: query.to,
        adminId: query.admin_id,
        tenantId: query.tenant_id,
        action: query.action,
        resourceType: query.resource_type,
        limit,
        cursor,
      }),
  })

  registerAdminRead(app, context, {
    name: 'system_events',
    path: '/system-events',
    tag: 'admin',
    summary: 'System events: sessions, alerts, incidents, maintenance',
    description: 'Events created on the UTC days [from, to), newest first.',
    query: z
      .strictObject({
        ...dateRangeFields,
        ...pageFields,
        ...formatField,
        event_type: z.enum(SYSTEM_EVENT_TYPES).optional(),
        severity: z.enum(SYSTEM_EVENT_SEVERITIES).optional(),
        admin_id: textFilter('only this admin'),
        tenant_id: textFilter('only events concerning this tenant'),
        unresolved: z
          .enum(['true', 'false'])
          .optional()
          .openapi({ description: 'true: only events not resolved yet' }),
      })
      .superRefine(checkRange),
    params: noPath,
    row: SystemEventRowSchema,
    paginated: true,
    read: async (trx, { query, limit, cursor }) =>
      systemEvents(trx, {
        from: query.from,
        to: query.to,
        eventType: query.event_type,
        severity: query.severity,
        adminId: query.admin_id,
        tenantId: query.tenant_id,
        unresolved: query.unresolved === 'true',
        limit,
        cursor,
      }),
  })
}
