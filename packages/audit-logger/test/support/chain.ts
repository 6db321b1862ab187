import { randomBytes } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import {
  computeDigest,
  computeRowHash,
  PERSONAL_FIELDS,
  recordAuditEntry,
} from '../../src/index.js'

// biome-ignore lint/suspicious/noExplicitAny: tests use raw SQL on any schema type
export type AnyDb = Kysely<any>

/** Appends `n` ordinary entries (admin reads of tenant t-1) and returns their seqs. */
export async function seedEntries(db: AnyDb, n: number, prefix = 'seed'): Promise<string[]> {
  const seqs: string[] = []
  for (let i = 1; i <= n; i++) {
    const { seq } = await recordAuditEntry(db, {
      adminId: `admin-${i % 3}`,
      action: `${prefix}.read`,
      resourceType: 'campaign',
      resourceId: `cmp-${i}`,
      tenantId: 't-1',
      oldValues: { status: 'active', n: i },
      newValues: { status: 'paused', n: i, ratio: 1.5 },
      ipAddress: `10.0.0.${i % 250}`,
      userAgent: 'Mozilla/5.0 (test)',
      metadata: { requestId: `${prefix}-${i}` },
    })
    seqs.push(seq)
  }
  return seqs
}

/** What the SQL says about the chain: the A3 figures, computed independently of the verifier. */
export async function chainFacts(db: AnyDb) {
  const { rows } = await sql<{
    entries: number
    distinct_seqs: number
    min_seq: string | null
    max_seq: string | null
    broken_links: number
    forks: number
  }>`
    with c as (
      select seq, prev_hash, row_hash, lag(row_hash) over (order by seq) as previous
        from admin_audit_log)
    select count(*)::int as entries, count(distinct seq)::int as distinct_seqs,
           min(seq)::text as min_seq, max(seq)::text as max_seq,
           count(*) filter (where prev_hash is distinct from
                            coalesce(previous, decode(repeat('00', 32), 'hex')))::int as broken_links,
           (select count(*)::int from (select prev_hash from admin_audit_log group by prev_hash
                                        having count(*) > 1) f) as forks
      from c`.execute(db)
  return rows[0] as NonNullable<(typeof rows)[0]>
}

/**
 * Runs `fn` as a superuser with every trigger of the audit tables disabled, inside a transaction
 * that is rolled back after `check` ran in it: a tampering that leaves the database as it was.
 */
export async function tamper<T>(
  superuser: AnyDb,
  fn: (trx: AnyDb) => Promise<void>,
  check: (trx: AnyDb) => Promise<T>,
): Promise<T> {
  let result: T | undefined
  await superuser
    .transaction()
    .execute(async (trx) => {
      await sql`alter table admin_audit_log disable trigger all`.execute(trx)
      await sql`alter table admin_audit_chain_head disable trigger all`.execute(trx)
      await fn(trx)
      result = await check(trx)
      throw new RolledBack()
    })
    .catch((error) => {
      if (!(error instanceof RolledBack)) throw error
    })
  return result as T
}

class RolledBack extends Error {}

export interface RawEntry {
  id: string
  seq: string
  created_at: string
  created_at_text: string
  action: string
  resource_type: string
  db_role: string
  prev_hash: string
  row_hash: string
  digests: (string | null)[]
}

export async function rawEntries(db: AnyDb): Promise<RawEntry[]> {
  const { rows } = await sql<RawEntry>`
    select id::text, seq::text, created_at::text, pm_audit_timestamp(created_at) as created_at_text,
           action, resource_type, db_role, encode(prev_hash, 'hex') as prev_hash,
           encode(row_hash, 'hex') as row_hash,
           array(select encode(d, 'hex') from unnest(pii_digests) with ordinality u(d, o) order by o) as digests
      from admin_audit_log a order by a.seq, a.id`.execute(db)
  return rows
}

/**
 * A forged entry, consistent in itself: what an attacker who knows the algorithm computes (the
 * salts are in the database, the algorithm is public).
 */
export function forgeEntry(input: {
  seq: string | bigint
  prevHash: string
  createdAt: string
  action?: string
  adminId?: string
}) {
  const adminSalt = randomBytes(16).toString('hex')
  const metadataSalt = randomBytes(16).toString('hex')
  const adminId = input.adminId ?? 'forger'
  const digests = PERSONAL_FIELDS.map(() => null as string | null)
  digests[0] = computeDigest(adminSalt, JSON.stringify(adminId))
  digests[8] = computeDigest(metadataSalt, '{}')
  const action = input.action ?? 'forged.action'
  const rowHash = computeRowHash({
    version: 1,
    seq: input.seq,
    prevHash: input.prevHash,
    createdAt: input.createdAt,
    action,
    resourceType: 'campaign',
    dbRole: 'pm_writer',
    digests,
  })
  return { adminId, action, adminSalt, metadataSalt, digests, rowHash }
}

/** Inserts a forged entry (triggers must be disabled). */
export async function insertForged(
  trx: AnyDb,
  input: { seq: string | bigint; prevHash: string; createdAt: string; action?: string },
): Promise<string> {
  const f = forgeEntry(input)
  await sql`
    insert into admin_audit_log (created_at, admin_id, action, resource_type, metadata, seq, prev_hash,
                                 row_hash, hash_version, db_role, pii_salts, pii_digests)
    values (${input.createdAt}::timestamptz, ${f.adminId}, ${f.action}, 'campaign', '{}', ${String(input.seq)}::bigint,
            decode(${input.prevHash}, 'hex'), decode(${f.rowHash}, 'hex'), 1, 'pm_writer',
            array[decode(${f.adminSalt}, 'hex'), null, null, null, null, null, null, null, decode(${f.metadataSalt}, 'hex')],
            array(select decode(d, 'hex') from unnest(${f.digests}::text[]) with ordinality u(d, o) order by o))`.execute(
    trx,
  )
  return f.rowHash
}

/** Points the chain head at the last entry (what a careful attacker does after tampering). */
export async function fixHead(trx: AnyDb): Promise<void> {
  await sql`
    update admin_audit_chain_head h
       set seq = coalesce(l.seq, 0), row_hash = coalesce(l.row_hash, decode(repeat('00', 32), 'hex'))
      from (select max(seq) as seq from admin_audit_log) m
      left join lateral (select seq, row_hash from admin_audit_log where seq = m.seq limit 1) l on true`.execute(
    trx,
  )
}

export function errorCode(error: unknown): string | undefined {
  return (error as { code?: string }).code
}
