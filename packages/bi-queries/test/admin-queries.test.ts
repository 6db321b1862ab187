import { ROLES, withTenant } from '@penguinmails/schema'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminActivity, auditLogEntries, systemEvents } from '../src/index.js'
import { expectedAdminActivity } from '../src/testing/index.js'
import {
  type AnalyticsDatabase,
  allPages,
  byKeys,
  openAnalyticsDatabase,
} from './support/analytics-database.js'

let data: AnalyticsDatabase

beforeAll(async () => {
  data = await openAnalyticsDatabase('bi_admin', 303)
  await sql`
    insert into admin_system_events (event_type, severity, admin_id, session_id, tenant_id, title, created_at, resolved_at, resolution)
    values ('session_started', 'low', 'admin-1', 's1', null, 'Session started', '2024-02-03 10:00Z', null, null),
           ('incident', 'high', null, null, 'tenant-a', 'Queue stalled', '2024-02-04 02:00Z', '2024-02-04 03:00Z', 'restarted'),
           ('alert', 'critical', null, null, 'tenant-b', 'Bounce spike', '2024-02-05 23:30Z', null, null)`.execute(
    data.database.connect().db,
  )
})

afterAll(async () => {
  await data?.database.drop()
})

describe('adminActivity', () => {
  it('equals the reference for every range and filter, newest hour first, across pages', async () => {
    type Row = ReturnType<typeof expectedAdminActivity>[number]
    const newestFirst = (a: Row, b: Row) =>
      byKeys<Row>(
        (r) => r.day,
        (r) => r.hour,
      )(b, a) ||
      byKeys<Row>(
        (r) => r.admin_id,
        (r) => r.action,
        (r) => r.resource_type,
      )(a, b)
    let compared = 0
    for (const range of [
      { from: '2024-02-01', to: '2024-03-01' },
      { from: '2024-02-05', to: '2024-02-09' },
    ])
      for (const adminId of [undefined, 'admin-2']) {
        const { rows } = await data.admin
          .transaction()
          .execute((trx) =>
            allPages((cursor) => adminActivity(trx, { ...range, adminId, limit: 7, cursor })),
          )
        const expected = expectedAdminActivity(data.fixture, range.from, range.to)
          .filter((r) => adminId === undefined || r.admin_id === adminId)
          .sort(newestFirst)
        expect(rows).toEqual(expected)
        compared += rows.length
      }
    expect(compared).toBeGreaterThan(100)
  })

  it('is not readable by the tenant role', async () => {
    await expect(
      withTenant(data.admin, 'tenant-a', (trx) =>
        adminActivity(trx, { from: '2024-02-01', to: '2024-03-01' }),
      ),
    ).rejects.toThrow('permission denied')
    await expect(
      data.database
        .connect(ROLES.reader)
        .db.transaction()
        .execute((trx) => auditLogEntries(trx, { from: '2024-02-01', to: '2024-03-01' })),
    ).rejects.toThrow('permission denied')
  })
})

describe('auditLogEntries and systemEvents', () => {
  it('list entries newest first with filters, across pages', async () => {
    const { rows } = await data.admin.transaction().execute((trx) =>
      allPages((cursor) =>
        auditLogEntries(trx, {
          from: '2024-01-01',
          to: '2024-03-01',
          tenantId: 'tenant-b',
          limit: 9,
          cursor,
        }),
      ),
    )
    const expected = data.fixture.audit.filter((a) => a.tenant_id === 'tenant-b')
    expect(rows).toHaveLength(expected.length)
    expect(rows.every((r) => r.tenant_id === 'tenant-b')).toBe(true)
    expect(rows.map((r) => r.id)).toEqual([...rows.map((r) => r.id)].sort((a, b) => b - a))
    expect(rows.map((r) => r.created_at.slice(0, 19)).sort()).toEqual(
      expected.map((a) => a.created_at.slice(0, 19)).sort(),
    )
  })

  it('filter system events by state and severity', async () => {
    const run = (params: Parameters<typeof systemEvents>[1]) =>
      data.admin.transaction().execute((trx) => systemEvents(trx, params))
    const range = { from: '2024-02-01', to: '2024-03-01' }
    expect((await run(range)).rows.map((r) => r.title)).toEqual([
      'Bounce spike',
      'Queue stalled',
      'Session started',
    ])
    expect((await run({ ...range, unresolved: true })).rows.map((r) => r.title)).toEqual([
      'Bounce spike',
      'Session started',
    ])
    const [incident] = (await run({ ...range, severity: 'high' })).rows
    expect(incident).toMatchObject({
      title: 'Queue stalled',
      created_at: '2024-02-04T02:00:00.000000Z',
      resolved_at: '2024-02-04T03:00:00.000000Z',
      resolution: 'restarted',
    })
  })
})
