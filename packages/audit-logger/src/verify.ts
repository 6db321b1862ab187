import { createHash, type Hash } from 'node:crypto'
import { sql } from 'kysely'
import {
  CanonicalJsonError,
  computeDigest,
  computeRowHash,
  GENESIS_HASH,
  HASH_VERSION,
  PERSONAL_FIELDS,
} from './canonical.js'
import { type AuditDb, inTransaction } from './db.js'
import { ERASURE_ACTION } from './erasure.js'

/**
 * The head of the chain at some moment: the last entry's seq and row hash. Printed (or written to a
 * file) and kept outside the database, it lets a later verification prove that nothing up to that
 * entry was changed, removed, inserted, reordered, truncated or rewritten since.
 */
export interface ChainHead {
  /** the canonical form the hashes are computed over */
  version: number
  /** the last entry's seq; "0" for an empty chain */
  seq: string
  /** its row hash, hex; 64 zeros for an empty chain */
  rowHash: string
  /** when it was exported (the database's clock, UTC) */
  at: string
}

export type ChainProblem =
  | 'altered'
  | 'removed'
  | 'inserted'
  | 'reordered'
  | 'truncated'
  | 'rewritten'

export interface VerifyResult {
  ok: boolean
  /** entries checked (up to the first bad one) */
  checked: number
  /** the last entry checked: export it as the next anchor when ok */
  head: ChainHead | null
  /**
   * The first entry that is not as it was written. `after`, for a rewrite: the last anchor that
   * still matched (the rewrite happened after that entry and at or before `seq`).
   */
  firstBad?: { seq: string; reason: ChainProblem; detail: string; after?: string }
}

export interface VerifyOptions {
  /** a head exported earlier: the chain must still reach it, with the same hash */
  anchor?: ChainHead | undefined
  /** several heads exported over time (the more, the closer a rewrite is located) */
  anchors?: readonly ChainHead[] | undefined
  /** entries read per query; default 2,000 */
  pageSize?: number | undefined
}

/** One entry as verification reads it. */
export interface ChainRow {
  seq: string
  id: string
  /** UTC, microseconds: 2025-03-01T09:30:00.123456Z */
  createdAt: string
  hashVersion: number
  prevHash: string
  rowHash: string
  action: string
  resourceType: string
  dbRole: string
  /** the personal values as JSON text (text columns as JSON strings), PERSONAL_FIELDS order */
  personal: (string | null)[]
  salts: (string | null)[]
  digests: (string | null)[]
  /** per personal field, the seq of the erasure entry that removed it; null when none was erased */
  erasedBy: (string | null)[] | null
}

/** Where verification reads entries from. */
export interface ChainSource {
  /** every entry in (seq, id) order */
  rows(): AsyncIterable<ChainRow>
  /** the entries whose row hash (byPrev: prev hash) is `hash` */
  find(hash: string, byPrev: boolean): Promise<ChainRow[]>
  /** the chain head the database keeps, if any */
  head(): Promise<{ seq: string; rowHash: string } | null>
}

interface RawRow {
  seq: string
  entry_id: string
  created_at: string
  hash_version: number
  prev_hash: string
  row_hash: string
  action: string
  resource_type: string
  db_role: string
  personal: (string | null)[]
  salts: (string | null)[]
  digests: (string | null)[]
  erased_by: (string | null)[] | null
}

function toChainRow(r: RawRow): ChainRow {
  return {
    seq: String(r.seq),
    id: String(r.entry_id),
    createdAt: r.created_at,
    hashVersion: Number(r.hash_version),
    prevHash: r.prev_hash,
    rowHash: r.row_hash,
    action: r.action,
    resourceType: r.resource_type,
    dbRole: r.db_role,
    personal: r.personal ?? [],
    salts: r.salts ?? [],
    digests: r.digests ?? [],
    erasedBy: r.erased_by,
  }
}

/** The entries of the database's audit trail, in chain order (pages of `pageSize`). */
export async function* readAuditChain(db: AuditDb, pageSize = 2000): AsyncIterable<ChainRow> {
  let afterSeq = '-1'
  let afterId = '-1'
  for (;;) {
    const { rows } = await sql<RawRow>`
      select seq::text, entry_id::text, created_at, hash_version, prev_hash, row_hash, action,
             resource_type, db_role, personal, salts, digests, erased_by
        from pm_audit_chain_rows(${afterSeq}::bigint, ${afterId}::bigint, ${pageSize}::integer)`.execute(
      db,
    )
    for (const r of rows) yield toChainRow(r)
    const last = rows.at(-1)
    if (!last || rows.length < pageSize) return
    afterSeq = String(last.seq)
    afterId = String(last.entry_id)
  }
}

function databaseSource(db: AuditDb, pageSize: number): ChainSource {
  return {
    rows: () => readAuditChain(db, pageSize),
    async find(hash, byPrev) {
      const { rows } = await sql<RawRow>`
        select seq::text, entry_id::text, created_at, hash_version, prev_hash, row_hash, action,
               resource_type, db_role, personal, salts, digests, erased_by
          from pm_audit_chain_find(${hash}, ${byPrev})`.execute(db)
      return rows.map(toChainRow)
    },
    async head() {
      const { rows } = await sql<{ head_seq: string; head_row_hash: string }>`
        select head_seq::text, head_row_hash from pm_audit_chain_head()`.execute(db)
      const row = rows[0]
      return row ? { seq: row.head_seq, rowHash: row.head_row_hash } : null
    },
  }
}

/** A source over entries in memory (and, optionally, the head the database would keep). */
export function memorySource(
  rows: readonly ChainRow[],
  head: { seq: string; rowHash: string } | null = null,
): ChainSource {
  const sorted = [...rows].sort((a, b) => {
    const d = BigInt(a.seq) - BigInt(b.seq)
    return d !== 0n ? (d < 0n ? -1 : 1) : Number(BigInt(a.id) - BigInt(b.id))
  })
  return {
    async *rows() {
      yield* sorted
    },
    async find(hash, byPrev) {
      return sorted.filter((r) => (byPrev ? r.prevHash : r.rowHash) === hash)
    },
    async head() {
      return head
    },
  }
}

/** Checks a ChainHead read from a file or a form; throws a TypeError naming what is wrong. */
export function parseChainHead(value: unknown): ChainHead {
  const v = typeof value === 'string' ? (JSON.parse(value) as unknown) : value
  if (v === null || typeof v !== 'object') throw new TypeError('a chain head is a JSON object')
  const h = v as Record<string, unknown>
  if (h.version !== HASH_VERSION) throw new TypeError(`chain head version must be ${HASH_VERSION}`)
  if (typeof h.seq !== 'string' || !/^(0|[1-9]\d{0,18})$/.test(h.seq)) {
    throw new TypeError('chain head seq must be a decimal string')
  }
  if (typeof h.rowHash !== 'string' || !/^[0-9a-f]{64}$/.test(h.rowHash)) {
    throw new TypeError('chain head rowHash must be 64 lowercase hex digits')
  }
  if (typeof h.at !== 'string') throw new TypeError('chain head at must be a timestamp string')
  return { version: h.version, seq: h.seq, rowHash: h.rowHash, at: h.at }
}

export class ChainHeadMismatchError extends Error {
  override name = 'ChainHeadMismatchError'
}

/**
 * The chain's head now, to print or write to a file and keep outside the database (an auditor's
 * anchor for verifyAuditChain). Throws when the head the database keeps and its last entry
 * disagree: run verifyAuditChain to find out why.
 */
export async function exportChainHead(db: AuditDb): Promise<ChainHead> {
  return inTransaction(
    db,
    async (trx) => {
      const { rows } = await sql<{
        head_seq: string
        head_row_hash: string
        last_seq: string | null
        last_row_hash: string | null
        checked_at: string
      }>`select head_seq::text, head_row_hash, last_seq::text, last_row_hash, checked_at
           from pm_audit_chain_head()`.execute(trx)
      const row = rows[0]
      if (!row) throw new ChainHeadMismatchError('the audit chain has no head row')
      const lastSeq = row.last_seq ?? '0'
      const lastHash = row.last_row_hash ?? GENESIS_HASH
      if (row.head_seq !== lastSeq || row.head_row_hash !== lastHash) {
        throw new ChainHeadMismatchError(
          `the chain head says entry ${row.head_seq} (${row.head_row_hash.slice(0, 12)}…) but the last entry is ${lastSeq} (${lastHash.slice(0, 12)}…): run verifyAuditChain`,
        )
      }
      return { version: HASH_VERSION, seq: lastSeq, rowHash: lastHash, at: row.checked_at }
    },
    { isolation: 'repeatable read', readOnly: true },
  )
}

/**
 * Verifies the audit chain of the database from its first entry: every seq present once and in
 * order, every personal value matching its salted digest (or erased by a later erasure entry that
 * commits to it), every row hash recomputed (in TypeScript, from the raw columns) equal to the
 * stored one, every prev_hash equal to the previous row hash, and the chain head the database keeps
 * equal to the last entry. With an anchor (a head exported earlier and kept outside), the chain
 * must still reach it with the same hash: that detects a truncated tail and a chain rewritten from
 * some point on, which are otherwise consistent. Names the first bad entry and why.
 *
 * Runs in one REPEATABLE READ snapshot (or the caller's transaction). Needs pm_admin or pm_writer
 * (it reads through SECURITY DEFINER functions), or the owner.
 */
export async function verifyAuditChain(
  db: AuditDb,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  return inTransaction(
    db,
    (trx) => verifyChainSource(databaseSource(trx, options.pageSize ?? 2000), options),
    { isolation: 'repeatable read', readOnly: true },
  )
}

/** Verifies entries given directly (e.g. read from a copy), as verifyAuditChain does. */
export async function verifyAuditRows(
  rows: readonly ChainRow[],
  options: VerifyOptions & { head?: { seq: string; rowHash: string } | null } = {},
): Promise<VerifyResult> {
  return verifyChainSource(memorySource(rows, options.head ?? null), options)
}

interface Pending {
  hash: Hash
  lines: number
  firstSeq: bigint
}

function erasureSummary(row: ChainRow): { fields: number; digest: string } | null {
  const metadataIndex = PERSONAL_FIELDS.indexOf('metadata')
  const text = row.personal[metadataIndex]
  if (!text || row.salts[metadataIndex] === null) return null
  try {
    const erasure = (JSON.parse(text) as { erasure?: { fields?: unknown; digest?: unknown } })
      .erasure
    if (typeof erasure?.fields !== 'number' || typeof erasure.digest !== 'string') return null
    return { fields: erasure.fields, digest: erasure.digest }
  } catch {
    return null
  }
}

/** What is wrong with the personal values of an entry, or null. Erased values go to `pending`. */
function checkPersonal(row: ChainRow, seq: bigint, pending: Map<string, Pending>): string | null {
  const n = PERSONAL_FIELDS.length
  if (row.personal.length !== n || row.salts.length !== n || row.digests.length !== n) {
    return `it does not have ${n} personal values, salts and digests`
  }
  if (row.erasedBy !== null && row.erasedBy.length !== n) return `its erasure marks are malformed`
  for (let i = 0; i < n; i++) {
    const field = PERSONAL_FIELDS[i] as string
    const value = row.personal[i] ?? null
    const salt = row.salts[i] ?? null
    const digest = row.digests[i] ?? null
    const erasedBy = row.erasedBy?.[i] ?? null
    if (digest === null) {
      if (value !== null) return `${field} has a value where the entry committed to none`
      if (salt !== null || erasedBy !== null)
        return `${field} has a salt or erasure mark but no digest`
      continue
    }
    if (salt !== null) {
      if (erasedBy !== null) return `${field} is marked erased but still salted`
      if (value === null) return `${field} was removed without an erasure`
      let recomputed: string
      try {
        recomputed = computeDigest(salt, value)
      } catch (error) {
        if (error instanceof CanonicalJsonError) return `${field} is not valid JSON`
        throw error
      }
      if (recomputed !== digest) return `${field} does not match its digest`
      continue
    }
    // no salt: the value was erased, by a later erasure entry that must commit to it
    if (erasedBy === null) return `${field} lost its salt without an erasure`
    const by = BigInt(erasedBy)
    if (by <= seq) return `${field} names erasure entry ${erasedBy}, which is not later`
    const line = `${seq}:${field}`
    const group = pending.get(String(by))
    if (group) {
      group.hash.update(`\n${line}`)
      group.lines++
    } else {
      pending.set(String(by), { hash: createHash('sha256').update(line), lines: 1, firstSeq: seq })
    }
  }
  return null
}

function hashOf(row: ChainRow, seq: bigint | string = row.seq): string | null {
  try {
    return computeRowHash({
      version: row.hashVersion,
      seq,
      prevHash: row.prevHash,
      createdAt: row.createdAt,
      action: row.action,
      resourceType: row.resourceType,
      dbRole: row.dbRole,
      digests: row.digests,
    })
  } catch (error) {
    if (error instanceof CanonicalJsonError) return null
    throw error
  }
}

/** Where an entry whose hash does not match its seq was written, if it can be found. */
async function originalSeq(row: ChainRow, source: ChainSource, verifiedUpTo: bigint) {
  const seq = BigInt(row.seq)
  const candidates: bigint[] = []
  // walk back along prev_hash to an entry in place (or the genesis): this entry came after it
  let cursor = row.prevHash
  for (let steps = 1n; steps <= 64n; steps++) {
    if (cursor === GENESIS_HASH) {
      candidates.push(steps)
      break
    }
    const found = await source.find(cursor, false)
    const inPlace = found.find((f) => BigInt(f.seq) <= verifiedUpTo || hashOf(f) === f.rowHash)
    if (inPlace) {
      candidates.push(BigInt(inPlace.seq) + steps)
      break
    }
    const next = found[0]
    if (!next) break
    cursor = next.prevHash
  }
  for (let d = 1n; d <= 16n; d++) candidates.push(seq + d, seq - d)
  return candidates.find((c) => c > 0n && c !== seq && hashOf(row, c) === row.rowHash)
}

/** Verifies the chain read from `source` (see verifyAuditChain). */
export async function verifyChainSource(
  source: ChainSource,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const anchors = [...(options.anchor ? [options.anchor] : []), ...(options.anchors ?? [])]
    .map((a) => parseChainHead(a))
    .filter((a) => {
      // a head exported from an empty chain: every chain starts there
      if (a.seq !== '0') return true
      if (a.rowHash !== GENESIS_HASH)
        throw new TypeError('an anchor of entry 0 has the genesis hash')
      return false
    })
    .sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : BigInt(a.seq) > BigInt(b.seq) ? 1 : 0))
  for (let i = 1; i < anchors.length; i++) {
    const [a, b] = [anchors[i - 1] as ChainHead, anchors[i] as ChainHead]
    if (a.seq === b.seq && a.rowHash !== b.rowHash) {
      throw new TypeError(
        `two anchors for entry ${a.seq} disagree: they come from different chains`,
      )
    }
  }
  let nextAnchor = 0
  let lastMatched: string | undefined
  let prevSeq = 0n
  let prevHash = GENESIS_HASH
  let checked = 0
  let head: ChainHead | null = null
  const pending = new Map<string, Pending>()
  const fail = (
    seq: bigint | string,
    reason: ChainProblem,
    detail: string,
    after?: string,
  ): VerifyResult => ({
    ok: false,
    checked,
    head,
    firstBad: { seq: String(seq), reason, detail, ...(after !== undefined ? { after } : {}) },
  })

  for await (const row of source.rows()) {
    const seq = BigInt(row.seq)
    if (seq === prevSeq) return fail(seq, 'inserted', `two entries have seq ${seq}`)
    if (seq < prevSeq) return fail(seq, 'reordered', `entry ${seq} comes after entry ${prevSeq}`)
    if (seq > prevSeq + 1n) {
      const missing =
        seq - 1n === prevSeq + 1n
          ? `entry ${prevSeq + 1n} is`
          : `entries ${prevSeq + 1n} to ${seq - 1n} are`
      return fail(prevSeq + 1n, 'removed', `${missing} missing`)
    }
    if (row.hashVersion !== HASH_VERSION) {
      return fail(seq, 'altered', `hash version ${row.hashVersion} is unknown`)
    }
    const personal = checkPersonal(row, seq, pending)
    if (personal) return fail(seq, 'altered', `entry ${seq}: ${personal}`)

    if (hashOf(row) !== row.rowHash) {
      const origin = await originalSeq(row, source, prevSeq)
      if (origin === undefined) {
        return fail(seq, 'altered', `entry ${seq} does not match its row hash`)
      }
      // the entry is intact but was written as entry `origin`
      const successors = (await source.find(prevHash, true)).filter((r) => r.id !== row.id)
      if (successors.length > 0) {
        return fail(
          seq,
          'reordered',
          `entry ${seq} was written as entry ${origin}; the entry written after ${prevSeq} is elsewhere`,
        )
      }
      if (origin > seq) {
        return fail(
          seq,
          'removed',
          `entry ${seq} was written as entry ${origin}: ${origin - seq} entr${origin - seq === 1n ? 'y' : 'ies'} before it were removed and the rest renumbered`,
        )
      }
      return fail(
        origin,
        'inserted',
        `entry ${seq} was written as entry ${origin}: ${seq - origin} entr${seq - origin === 1n ? 'y was' : 'ies were'} inserted before it`,
      )
    }
    if (row.prevHash !== prevHash) {
      if (prevSeq === 0n) {
        return fail(seq, 'altered', `entry ${seq} is the first but is chained to another entry`)
      }
      const linked = await source.find(row.prevHash, false)
      if (linked.length > 0) {
        return fail(
          prevSeq,
          'reordered',
          `entry ${seq} follows entry ${linked[0]?.seq}, not entry ${prevSeq}`,
        )
      }
      return fail(
        prevSeq,
        'altered',
        `entry ${prevSeq} is not the entry that entry ${seq} was chained to: it was replaced or rehashed`,
      )
    }

    const group = pending.get(String(seq))
    if (group || row.action === ERASURE_ACTION) {
      pending.delete(String(seq))
      const summary = erasureSummary(row)
      const digest = group ? group.hash.digest('hex') : createHash('sha256').digest('hex')
      const lines = group?.lines ?? 0
      if (
        !summary ||
        row.action !== ERASURE_ACTION ||
        summary.fields !== lines ||
        summary.digest !== digest
      ) {
        const firstSeq = group?.firstSeq ?? seq
        return fail(
          firstSeq,
          'altered',
          `the values erased by entry ${seq} are not the ones it records (${lines} found, ${summary?.fields ?? 'none'} recorded): an entry from ${firstSeq} on lost a value without that erasure`,
        )
      }
    }

    const anchor = anchors[nextAnchor]
    if (anchor && BigInt(anchor.seq) === seq) {
      if (anchor.rowHash !== row.rowHash) {
        return fail(
          seq,
          'rewritten',
          `entry ${seq} is not the entry of the anchor exported at ${anchor.at}: the chain was rewritten ${lastMatched ? `after entry ${lastMatched}` : 'from some point'} up to here`,
          lastMatched,
        )
      }
      lastMatched = row.seq
      while (anchors[nextAnchor] && BigInt((anchors[nextAnchor] as ChainHead).seq) === seq)
        nextAnchor++
    }
    prevSeq = seq
    prevHash = row.rowHash
    checked++
    head = { version: HASH_VERSION, seq: row.seq, rowHash: row.rowHash, at: row.createdAt }
  }

  const [firstPending] = [...pending].sort(([, a], [, b]) => (a.firstSeq < b.firstSeq ? -1 : 1))
  if (firstPending) {
    return fail(
      firstPending[1].firstSeq,
      'altered',
      `entry ${firstPending[1].firstSeq} names erasure entry ${firstPending[0]}, which does not exist`,
    )
  }
  const missingAnchor = anchors[nextAnchor]
  if (missingAnchor) {
    return fail(
      prevSeq + 1n,
      'truncated',
      `the chain ends at entry ${prevSeq} but an anchor exported at ${missingAnchor.at} reaches entry ${missingAnchor.seq}`,
    )
  }
  const kept = await source.head()
  if (kept) {
    const keptSeq = BigInt(kept.seq)
    if (keptSeq > prevSeq) {
      return fail(
        prevSeq + 1n,
        'truncated',
        `the chain ends at entry ${prevSeq} but the database's chain head is entry ${kept.seq}`,
      )
    }
    if (keptSeq < prevSeq) {
      return fail(
        keptSeq + 1n,
        'inserted',
        `the database's chain head is entry ${kept.seq} but entries go on to ${prevSeq}`,
      )
    }
    if (kept.rowHash !== prevHash) {
      return fail(
        prevSeq,
        'rewritten',
        `entry ${prevSeq} is not the entry the database's chain head records`,
      )
    }
  }
  return { ok: true, checked, head }
}
