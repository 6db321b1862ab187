import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ChainHead,
  type ChainRow,
  computeDigest,
  computeRowHash,
  exportChainHead,
  readAuditChain,
  type VerifyResult,
  verifyAuditChain,
  verifyAuditRows,
} from '../src/index.js'
import {
  type AnyDb,
  fixHead,
  insertForged,
  rawEntries,
  seedEntries,
  tamper,
} from './support/chain.js'

const N = 30
let database: TestDatabase
let superuser: AnyDb
let auditor: AnyDb
/** heads exported after entries 5, 15, 25 and 30 (the last is the current head) */
const anchors: ChainHead[] = []
let head: ChainHead

beforeAll(async () => {
  database = await createTestDatabase({ label: 'audit_tamper' })
  superuser = database.connect().db
  auditor = database.connect(ROLES.admin).db
  for (const upTo of [5, 15, 25, 30]) {
    await seedEntries(superuser, upTo - (anchors.at(-1) ? Number(anchors.at(-1)?.seq) : 0))
    anchors.push(await exportChainHead(auditor))
  }
  head = anchors.at(-1) as ChainHead
  expect(head.seq).toBe(String(N))
})

afterAll(async () => {
  await database?.drop()
})

/** Verifies inside the tampering transaction (as the superuser that tampered: same snapshot). */
const verify =
  (options: { anchor?: ChainHead; anchors?: ChainHead[] } = {}) =>
  (trx: AnyDb) =>
    verifyAuditChain(trx, options)

function expectBad(result: VerifyResult, seq: number, reason: string) {
  expect(result.ok, JSON.stringify(result.firstBad)).toBe(false)
  expect(result.firstBad, JSON.stringify(result.firstBad)).toMatchObject({
    seq: String(seq),
    reason,
  })
}

it('the untouched chain verifies, with and without anchors, as the admin and as the writer', async () => {
  expect(await verifyAuditChain(auditor)).toMatchObject({ ok: true, checked: N })
  expect(await verifyAuditChain(database.connect(ROLES.writer).db, { anchor: head })).toMatchObject(
    {
      ok: true,
      checked: N,
    },
  )
  expect((await verifyAuditChain(auditor, { anchors })).ok).toBe(true)
  expect(head).toEqual({
    version: 1,
    seq: String(N),
    rowHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    at: expect.any(String),
  })
})

describe('A4: tampering as a superuser with the triggers disabled', () => {
  // (a)-(d) are found without any anchor, and of course with one
  for (const anchor of [undefined, head]) {
    const withAnchor = anchor ? ' (with the anchor)' : ''

    it(`(a) an edited payload is named: altered${withAnchor}`, async () => {
      const edited = await tamper(
        superuser,
        (trx) =>
          sql`update admin_audit_log set new_values = '{"status": "deleted"}' where seq = 12`
            .execute(trx)
            .then(),
        verify({ anchor: anchor ?? head }),
      )
      expectBad(edited, 12, 'altered')
      // a field outside the personal values (the action) too
      const action = await tamper(
        superuser,
        (trx) =>
          sql`update admin_audit_log set action = 'innocent.read' where seq = 7`
            .execute(trx)
            .then(),
        verify(anchor ? { anchor } : {}),
      )
      expectBad(action, 7, 'altered')
      // and a personal value whose salt was dropped to hide the edit
      const salt = await tamper(
        superuser,
        (trx) =>
          sql`update admin_audit_log set ip_address = '192.0.2.1', pii_salts[6] = null where seq = 9`
            .execute(trx)
            .then(),
        verify(anchor ? { anchor } : {}),
      )
      expectBad(salt, 9, 'altered')
    })

    it(`(b) a deleted middle entry is named: removed${withAnchor}`, async () => {
      const deleted = await tamper(
        superuser,
        (trx) => sql`delete from admin_audit_log where seq = 12`.execute(trx).then(),
        verify(anchor ? { anchor } : {}),
      )
      expectBad(deleted, 12, 'removed')
      // also when the later entries are renumbered to close the gap
      const renumbered = await tamper(
        superuser,
        async (trx) => {
          await sql`delete from admin_audit_log where seq = 12`.execute(trx)
          await sql`update admin_audit_log set seq = seq - 1 where seq > 12`.execute(trx)
          await fixHead(trx)
        },
        verify(anchor ? { anchor } : {}),
      )
      expectBad(renumbered, 12, 'removed')
    })

    it(`(c) two swapped entries are named: reordered${withAnchor}`, async () => {
      for (const [a, b] of [
        [10, 20],
        [10, 11],
      ] as const) {
        const swapped = await tamper(
          superuser,
          (trx) =>
            sql`update admin_audit_log set seq = case seq when ${a}::bigint then ${b}::bigint else ${a}::bigint end
                where seq in (${a}::bigint, ${b}::bigint)`
              .execute(trx)
              .then(),
          verify(anchor ? { anchor } : {}),
        )
        expectBad(swapped, a, 'reordered')
      }
    })

    it(`(d) a forged entry is named: inserted${withAnchor}`, async () => {
      const entries = await rawEntries(superuser)
      const before = entries[11] as (typeof entries)[number] // entry 12
      // a forged entry 13, consistent in itself and chained to entry 12, the rest renumbered
      const shifted = await tamper(
        superuser,
        async (trx) => {
          await sql`update admin_audit_log set seq = seq + 1 where seq >= 13`.execute(trx)
          await insertForged(trx, {
            seq: 13n,
            prevHash: before.row_hash,
            createdAt: before.created_at_text,
          })
          await fixHead(trx)
        },
        verify(anchor ? { anchor } : {}),
      )
      expectBad(shifted, 13, 'inserted')
      // a forged entry beside entry 13, with the same seq
      const duplicate = await tamper(
        superuser,
        (trx) =>
          insertForged(trx, {
            seq: 13n,
            prevHash: before.row_hash,
            createdAt: before.created_at_text,
          }).then(),
        verify(anchor ? { anchor } : {}),
      )
      expectBad(duplicate, 13, 'inserted')
    })
  }

  it('(e) the last entries deleted: the chain head the database keeps tells, and the anchor', async () => {
    const careless = await tamper(
      superuser,
      (trx) => sql`delete from admin_audit_log where seq > 27`.execute(trx).then(),
      verify(),
    )
    expectBad(careless, 28, 'truncated')
    // a careful attacker moves the chain head back too: only the anchor can tell now
    const careful = async (check: (trx: AnyDb) => Promise<VerifyResult>) =>
      tamper(
        superuser,
        async (trx) => {
          await sql`delete from admin_audit_log where seq > 27`.execute(trx)
          await fixHead(trx)
        },
        check,
      )
    expect((await careful(verify())).ok).toBe(true)
    const anchored = await careful(verify({ anchor: head }))
    expectBad(anchored, 28, 'truncated')
  })

  it('(f) the whole chain recomputed after an edit: only anchors tell, naming where', async () => {
    const rewrite = async (check: (trx: AnyDb) => Promise<VerifyResult>) =>
      tamper(superuser, (trx) => rewriteFrom(trx, 12), check)
    expect((await rewrite(verify())).ok).toBe(true)
    // the current head: rewritten somewhere up to entry 30
    const single = await rewrite(verify({ anchor: head }))
    expectBad(single, N, 'rewritten')
    // heads kept over time locate it: after entry 5 (still matching) and at or before entry 15
    const several = await rewrite(verify({ anchors }))
    expectBad(several, 15, 'rewritten')
    expect(several.firstBad?.after).toBe('5')
    // an anchor older than the edit proves the entries before it intact, and nothing after
    expect((await rewrite(verify({ anchor: anchors[0] as ChainHead }))).ok).toBe(true)
  })
})

/** Edits entry `from` and recomputes every row hash from there on, as an attacker would. */
async function rewriteFrom(trx: AnyDb, from: number): Promise<void> {
  const { rows } = await sql<{ salt: string }>`
    select encode(pii_salts[5], 'hex') as salt from admin_audit_log where seq = ${from}`.execute(
    trx,
  )
  const forged = '{"status": "never paused"}'
  const digest = computeDigest(rows[0]?.salt as string, forged)
  await sql`update admin_audit_log set new_values = ${forged}::jsonb, pii_digests[5] = decode(${digest}, 'hex')
             where seq = ${from}`.execute(trx)
  const entries = await rawEntries(trx)
  let prev = (entries[from - 2] as (typeof entries)[number]).row_hash
  for (const e of entries.slice(from - 1)) {
    const rowHash = computeRowHash({
      version: 1,
      seq: e.seq,
      prevHash: prev,
      createdAt: e.created_at_text,
      action: e.action,
      resourceType: e.resource_type,
      dbRole: e.db_role,
      digests: e.digests,
    })
    await sql`update admin_audit_log set prev_hash = decode(${prev}, 'hex'), row_hash = decode(${rowHash}, 'hex')
               where id = ${e.id}::bigint`.execute(trx)
    prev = rowHash
  }
  await fixHead(trx)
}

describe('A8: a consistent but fabricated segment fed to the verifier', () => {
  async function realRows(): Promise<ChainRow[]> {
    const rows: ChainRow[] = []
    for await (const row of readAuditChain(auditor)) rows.push(row)
    return rows
  }

  /** Replaces entries from `from` on with fabricated ones, each consistent, chained to the real prefix. */
  function fabricate(rows: ChainRow[], from: number, extra = 0): ChainRow[] {
    const out = rows.slice(0, from - 1).map((r) => ({ ...r }))
    let prev = out.at(-1)?.rowHash as string
    const total = rows.length + extra
    for (let seq = from; seq <= total; seq++) {
      const model = rows[Math.min(seq, rows.length) - 1] as ChainRow
      const salt = 'ab'.repeat(16)
      const personal = model.personal.map(() => null as string | null)
      const digests = model.digests.map(() => null as string | null)
      const salts = model.salts.map(() => null as string | null)
      personal[0] = JSON.stringify('fabricator')
      personal[8] = '{}'
      for (const i of [0, 8]) {
        salts[i] = salt
        digests[i] = computeDigest(salt, personal[i] as string)
      }
      const row: ChainRow = {
        ...model,
        seq: String(seq),
        id: String(10_000 + seq),
        action: 'fabricated.read',
        prevHash: prev,
        personal,
        salts,
        digests,
        erasedBy: null,
        rowHash: '',
      }
      row.rowHash = computeRowHash({ ...row, version: row.hashVersion, digests })
      out.push(row)
      prev = row.rowHash
    }
    return out
  }

  it('is consistent in itself: without an anchor it passes, which is why heads are kept outside', async () => {
    const fabricated = fabricate(await realRows(), 10)
    const last = fabricated.at(-1) as ChainRow
    expect(
      await verifyAuditRows(fabricated, { head: { seq: last.seq, rowHash: last.rowHash } }),
    ).toMatchObject({ ok: true, checked: N })
  })

  it('is detected against any head exported at or after its start (1/1), longer or not', async () => {
    for (const extra of [0, 7]) {
      const fabricated = fabricate(await realRows(), 10, extra)
      const result = await verifyAuditRows(fabricated, { anchors })
      expect(result.ok).toBe(false)
      expect(result.firstBad).toMatchObject({ seq: '15', reason: 'rewritten', after: '5' })
      expect((await verifyAuditRows(fabricated, { anchor: head })).firstBad).toMatchObject({
        seq: String(N),
        reason: 'rewritten',
      })
    }
  })

  it('a fabricated entry carrying the anchor’s hash does not pass for the real one', async () => {
    const fabricated = fabricate(await realRows(), 10)
    const atHead = fabricated[N - 1] as ChainRow
    atHead.rowHash = head.rowHash
    const result = await verifyAuditRows(fabricated, { anchor: head })
    expect(result.firstBad).toMatchObject({ seq: String(N), reason: 'altered' })
  })

  it('a head exported from the empty chain anchors every chain', async () => {
    const empty = {
      version: 1,
      seq: '0',
      rowHash: '0'.repeat(64),
      at: '2025-01-01T00:00:00.000000Z',
    }
    expect(await verifyAuditRows(await realRows(), { anchors: [empty, head] })).toMatchObject({
      ok: true,
    })
  })

  it('anchors from another chain are refused rather than mixed', async () => {
    const other = { ...head, rowHash: 'f'.repeat(64) }
    await expect(verifyAuditRows(await realRows(), { anchors: [head, other] })).rejects.toThrow(
      /disagree/,
    )
  })
})
