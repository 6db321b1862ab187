import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  endSession,
  expireSession,
  expireStaleSessions,
  extendSession,
  getSession,
  listActiveSessions,
  recordSystemEvent,
  resolveSystemEvent,
  SessionNotActiveError,
  startSession,
  touchSession,
  verifyAuditChain,
} from '../src/index.js'
import { type AnyDb, errorCode } from './support/chain.js'

let database: TestDatabase
let superuser: AnyDb
let admin: AnyDb
let writer: AnyDb

beforeAll(async () => {
  database = await createTestDatabase({ label: 'audit_sessions' })
  superuser = database.connect().db
  admin = database.connect(ROLES.admin).db
  writer = database.connect(ROLES.writer).db
})

afterAll(async () => {
  await database?.drop()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function eventsOf(sessionId: string): Promise<string[]> {
  const { rows } = await sql<{ event_type: string }>`
    select event_type from admin_system_events where session_id = ${sessionId} order by created_at, id`.execute(
    superuser,
  )
  return rows.map((r) => r.event_type)
}

describe('sessions (events of admin_system_events)', () => {
  it('start, list, touch, extend and end, as the admin role and as the writer', async () => {
    for (const db of [admin, writer]) {
      const who = db === admin ? 'ada' : 'grace'
      const session = await startSession(db, {
        adminId: who,
        ttlSeconds: 600,
        ipAddress: '192.0.2.1',
        userAgent: 'Browser/1.0',
        metadata: { password: 'never stored' },
      })
      expect(session).toMatchObject({
        adminId: who,
        active: true,
        endedAt: null,
        ipAddress: '192.0.2.1',
        userAgent: 'Browser/1.0',
      })
      expect(session.sessionId).toMatch(/^[0-9a-f-]{36}$/)
      expect((await listActiveSessions(db, who)).map((s) => s.sessionId)).toEqual([
        session.sessionId,
      ])

      // plenty of time left: a touch writes nothing
      expect(await touchSession(db, session.sessionId, { idleSeconds: 600 })).toMatchObject({
        extended: false,
        expired: false,
      })
      // less than half the idle time left: a touch slides the expiry
      const touched = await touchSession(db, session.sessionId, { idleSeconds: 3600 })
      expect(touched).toMatchObject({ extended: true, expired: false, session: { active: true } })
      expect(touched.session?.expiresAt?.getTime()).toBeGreaterThan(
        session.expiresAt?.getTime() ?? 0,
      )

      const until = new Date(Date.now() + 7200_000)
      const extended = await extendSession(db, session.sessionId, { until, reason: 'long export' })
      expect(extended.expiresAt?.toISOString()).toBe(until.toISOString())

      expect(await endSession(db, session.sessionId)).toBe(true)
      expect(await endSession(db, session.sessionId)).toBe(false)
      expect(await getSession(db, session.sessionId)).toMatchObject({
        active: false,
        endReason: 'session_ended',
      })
      expect(await listActiveSessions(db, who)).toEqual([])
      await expect(extendSession(db, session.sessionId)).rejects.toThrow(SessionNotActiveError)
      expect(await touchSession(db, session.sessionId)).toMatchObject({
        extended: false,
        expired: false,
      })
      expect(await eventsOf(session.sessionId)).toEqual([
        'session_started',
        'session_extended',
        'session_extended',
        'session_ended',
      ])
    }
    const { rows } = await sql<{ metadata: unknown }>`
      select metadata from admin_system_events where event_type = 'session_started'`.execute(
      superuser,
    )
    expect(JSON.stringify(rows)).not.toContain('never stored')
  })

  it('a session past its expiry is over: touch records its expiry once, the sweep the others', async () => {
    const a = await startSession(admin, { adminId: 'linus', ttlSeconds: 1 })
    const b = await startSession(admin, { adminId: 'linus', ttlSeconds: 1 })
    const c = await startSession(admin, { adminId: 'linus', ttlSeconds: 600 })
    await sleep(1200)
    expect((await listActiveSessions(admin, 'linus')).map((s) => s.sessionId)).toEqual([
      c.sessionId,
    ])
    expect(await touchSession(admin, a.sessionId)).toMatchObject({
      expired: true,
      session: { active: false, endReason: 'session_expired' },
    })
    expect(await touchSession(admin, a.sessionId)).toMatchObject({ expired: false })
    // concurrent sweeps expire each stale session once
    const swept = await Promise.all([expireStaleSessions(writer), expireStaleSessions(admin)])
    expect(swept[0] + swept[1]).toBe(1)
    expect(await eventsOf(b.sessionId)).toEqual(['session_started', 'session_expired'])
    expect(await eventsOf(a.sessionId)).toEqual(['session_started', 'session_expired'])
    // an admin can expire one explicitly
    expect(await expireSession(admin, c.sessionId, { reason: 'password reset' })).toBe(true)
    expect(await listActiveSessions(admin, 'linus')).toEqual([])
  })

  it('lists every admin’s active sessions, and a session id is used once', async () => {
    const s1 = await startSession(admin, { adminId: 'x1' })
    const s2 = await startSession(admin, { adminId: 'x2', sessionId: 'fixed-session-id' })
    const all = (await listActiveSessions(admin)).map((s) => s.sessionId)
    expect(all).toEqual(expect.arrayContaining([s1.sessionId, s2.sessionId]))
    await expect(
      startSession(admin, { adminId: 'x3', sessionId: 'fixed-session-id' }),
    ).rejects.toThrow(/exists already/)
    // a session recorded without an expiry lasts until it is ended
    await recordSystemEvent(writer, {
      eventType: 'session_started',
      title: 'Session started',
      adminId: 'x4',
      sessionId: 'no-expiry',
    })
    expect(await listActiveSessions(admin, 'x4')).toMatchObject([
      { sessionId: 'no-expiry', expiresAt: null },
    ])
    expect(await endSession(writer, 'no-expiry')).toBe(true)
    expect(await listActiveSessions(admin, 'x4')).toEqual([])
    expect(await getSession(admin, 'no-such-session')).toBeNull()
    expect(await touchSession(admin, 'no-such-session')).toEqual({
      session: null,
      extended: false,
      expired: false,
    })
  })
})

describe('system events', () => {
  it('are recorded with a severity and resolved once, through the audit trail', async () => {
    const { id } = await recordSystemEvent(writer, {
      eventType: 'incident',
      severity: 'critical',
      title: 'aggregation lagging',
      description: 'dirty keys growing',
      tenantId: 't-9',
      metadata: { lagSeconds: 120 },
    })
    await resolveSystemEvent(admin, { id, resolvedBy: 'ada', resolution: 'worker restarted' })
    const { rows } = await sql<{ resolved_by: string; resolution: string; resolved: boolean }>`
      select resolved_by, resolution, resolved_at is not null as resolved
        from admin_system_events where id = ${id}::bigint`.execute(superuser)
    expect(rows).toEqual([{ resolved_by: 'ada', resolution: 'worker restarted', resolved: true }])
    const audit = await sql<{
      admin_id: string
      resource_id: string
      tenant_id: string
      new_values: unknown
    }>`
      select admin_id, resource_id, tenant_id, new_values from admin_audit_log
       where action = 'system_event.resolve'`.execute(superuser)
    expect(audit.rows).toEqual([
      {
        admin_id: 'ada',
        resource_id: id,
        tenant_id: 't-9',
        new_values: { resolution: 'worker restarted' },
      },
    ])
    expect((await verifyAuditChain(admin)).ok).toBe(true)

    await expect(
      resolveSystemEvent(admin, { id, resolvedBy: 'bob', resolution: 'again' }),
    ).rejects.toSatisfy((error) => errorCode(error) === '55000')
    await expect(
      resolveSystemEvent(admin, { id: '999999', resolvedBy: 'bob', resolution: 'x' }),
    ).rejects.toSatisfy((error) => errorCode(error) === 'P0002')
    const session = await startSession(admin, { adminId: 'ada' })
    const { rows: started } = await sql<{ id: string }>`
      select id::text from admin_system_events where session_id = ${session.sessionId}`.execute(
      superuser,
    )
    await expect(
      resolveSystemEvent(admin, {
        id: started[0]?.id as string,
        resolvedBy: 'ada',
        resolution: 'x',
      }),
    ).rejects.toThrow(/sessions are ended, not resolved/)
  })

  it('cannot be resolved or changed any other way', async () => {
    const { id } = await recordSystemEvent(writer, {
      eventType: 'alert',
      title: 'disk',
      severity: 'medium',
    })
    for (const db of [admin, writer]) {
      await expect(
        sql`update admin_system_events set resolved_at = now(), resolution = 'x' where id = ${id}::bigint`.execute(
          db,
        ),
      ).rejects.toSatisfy((error) => errorCode(error) === '42501')
    }
    await expect(
      sql`update admin_system_events set resolved_at = now(), resolution = 'x' where id = ${id}::bigint`.execute(
        database.connect(ROLES.owner).db,
      ),
    ).rejects.toThrow(/append-only/)
    // the resolution path changes the resolution columns only
    await expect(
      superuser.transaction().execute(async (trx) => {
        await sql`select set_config('pm.audit_change', 'resolve', true)`.execute(trx)
        await sql`update admin_system_events set resolved_at = now(), resolution = 'x', severity = 'low'
                   where id = ${id}::bigint`.execute(trx)
      }),
    ).rejects.toThrow(/append-only/)
  })

  it('are validated before they reach the database', async () => {
    await expect(
      recordSystemEvent(writer, { eventType: 'nope' as 'alert', title: 'x' }),
    ).rejects.toThrow(/eventType must be one of/)
    await expect(
      recordSystemEvent(writer, { eventType: 'alert', severity: 'urgent' as 'high', title: 'x' }),
    ).rejects.toThrow(/severity must be one of/)
    await expect(
      recordSystemEvent(writer, { eventType: 'session_started', title: 'x' }),
    ).rejects.toThrow(/needs a sessionId/)
    const garbage = await recordSystemEvent(writer, {
      eventType: 'alert',
      title: 'x',
      ipAddress: 'not-an-ip',
      userAgent: 'u'.repeat(5000),
    })
    const { rows } = await sql<{ ip: string | null; ua: number }>`
      select ip_address::text as ip, length(user_agent) as ua from admin_system_events
       where id = ${garbage.id}::bigint`.execute(superuser)
    expect(rows).toEqual([{ ip: null, ua: 1024 }])
  })
})
