import { cell, el, emptyRow, fill } from './dom.js'
import { count } from './format.js'

/** Admin actions per hour from the audit log (GET /v1/admin/activity). */
export function renderActivity(tbody, rows, { append = false } = {}) {
  if (rows.length === 0 && !append) {
    fill(tbody, [emptyRow(9, 'No admin activity in this range.')])
    return
  }
  fill(
    tbody,
    rows.map((row) =>
      el(
        'tr',
        // the row's key: one row per admin, action, resource type and UTC hour
        {
          dataset: {
            id: [row.day, row.hour, row.admin_id, row.action, row.resource_type].join('|'),
          },
        },
        cell('day', row.day, 'text'),
        cell('hour', count(row.hour)),
        cell('admin_id', row.admin_id, 'text mono'),
        cell('action', row.action, 'text'),
        cell('resource_type', row.resource_type, 'text'),
        cell('action_count', count(row.action_count)),
        cell('tenants_affected', count(row.tenants_affected)),
        cell('unique_ips', count(row.unique_ips)),
        cell('time_category', row.time_category, 'text'),
      ),
    ),
    { append },
  )
}
