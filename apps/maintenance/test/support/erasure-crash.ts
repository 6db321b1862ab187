import type pg from 'pg'
import { expect } from 'vitest'
import { dump, type Erasable } from './erasure-fixture.js'
import { scalar, superuser } from './superuser.js'

// reliability-tests.md G4, for every kind of erasure: the erasure is killed at random points of
// its transaction, each kill must leave nothing behind, then a rerun must end as a clean run does.

/** the spec's figure (reliability-tests.md G4) */
export const G4_RUNS = 20

/**
 * Everything an erasure writes: the rows `dump` compares, the ledger and the audit trail (which an
 * erasure rewrites and appends to), each row as text.
 */
export async function erasureState(su: pg.Client): Promise<Record<string, string[]>> {
  const out = await dump(su)
  for (const table of ['erasure_ledger', 'admin_audit_log', 'admin_system_events']) {
    const { rows } = await su.query<{ r: string }>(
      `select to_jsonb(x)::text as r from ${table} x order by 1`,
    )
    out[table] = rows.map((r) => r.r)
  }
  return out
}

/**
 * What `erasureState` holds, without what differs between two databases given the same calls
 * (times, identity values, random request ids): to compare a rerun with a clean run on a copy.
 */
export async function comparableState(su: pg.Client): Promise<Record<string, string[]>> {
  const out = await dump(su)
  const queries: Record<string, string> = {
    erasure_ledger: `select jsonb_build_array(subject_kind, subject_pseudonym, key_fingerprint,
                            requested_by, rows_changed)::text as r from erasure_ledger order by id`,
    admin_audit_log: `select (to_jsonb(x) - array['id', 'created_at', 'prev_hash', 'row_hash', 'pii_salts',
                             'pii_digests', 'metadata'] || jsonb_build_object('metadata',
                             x.metadata - 'requestId'))::text as r from admin_audit_log x order by seq`,
    admin_system_events: `select (to_jsonb(x) - array['id', 'created_at'])::text as r
                            from admin_system_events x order by id`,
  }
  for (const [table, query] of Object.entries(queries)) {
    const { rows } = await su.query<{ r: string }>(query)
    out[table] = rows.map((r) => r.r)
  }
  return out
}

export interface Kills {
  /** runs killed inside the erasure's transaction (a run that finished first ends the series) */
  killed: number
  /** how long after the transaction began each kill was aimed */
  afterMs: number[]
}

/**
 * Starts the erasure `runs` times (`erase` must connect under the application name it is given)
 * and kills its backend each time at a random moment from the start of its transaction to 60 % of
 * `cleanRunMs`; after each kill, asserts that nothing of it is visible: every row, the ledger and
 * the audit trail as before.
 *
 * The erasure writes the ledger near the end of its transaction: a SHARE lock on erasure_ledger,
 * held here during each run, lets it read the ledger and do all its other work, then makes it wait
 * there, so a kill at any moment lands inside the transaction however fast the machine runs it.
 */
export async function killInsideErasure(options: {
  erasable: Erasable
  runs: number
  cleanRunMs: number
  erase: (applicationName: string) => Promise<unknown>
  label: string
}): Promise<Kills> {
  const { su, database } = options.erasable
  const untouched = await erasureState(su)
  const ledgerRows = await scalar(su, 'select count(*) from erasure_ledger')
  const auditEntries = await scalar(su, 'select count(*) from admin_audit_log')
  const kills: Kills = { killed: 0, afterMs: [] }
  const ledgerHolder = await superuser(database)
  try {
    for (let run = 1; run <= options.runs; run++) {
      const name = `g4-${options.label}-${run}`
      await ledgerHolder.query('begin')
      await ledgerHolder.query('lock table erasure_ledger in share mode')
      const running = options.erase(name).then(
        () => 'finished',
        (error: Error) => error.message,
      )
      let inTransaction = false
      for (let i = 0; i < 500 && !inTransaction; i++) {
        inTransaction =
          (await scalar(
            su,
            `select count(*) from pg_stat_activity where application_name = $1 and xact_start is not null`,
            [name],
          )) !== '0'
        if (!inTransaction) await new Promise((resolve) => setTimeout(resolve, 10))
      }
      expect(inTransaction, `${options.label} run ${run}: the erasure's transaction began`).toBe(
        true,
      )
      const after = Math.round(Math.random() * options.cleanRunMs * 0.6)
      await new Promise((resolve) => setTimeout(resolve, after))
      await su.query(
        `select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1`,
        [name],
      )
      const outcome = await running
      await ledgerHolder.query('rollback')
      if (outcome === 'finished') break
      kills.killed++
      kills.afterMs.push(after)
      // a killed erasure left nothing behind: every row as before, no ledger row, no audit entry
      expect(await erasureState(su), `${options.label} run ${run}`).toEqual(untouched)
      expect(await scalar(su, 'select count(*) from erasure_ledger')).toBe(ledgerRows)
      expect(await scalar(su, 'select count(*) from admin_audit_log')).toBe(auditEntries)
    }
  } finally {
    await ledgerHolder.query('rollback').catch(() => undefined)
    await ledgerHolder.end()
  }
  return kills
}

/** One line for the test output: how many kills, when, against how long a clean run takes. */
export function describeKills(label: string, kills: Kills, runs: number, cleanRunMs: number) {
  const span = kills.afterMs.length
    ? `${Math.min(...kills.afterMs)}–${Math.max(...kills.afterMs)} ms`
    : 'never'
  return `G4 ${label}: killed ${kills.killed}/${runs} times inside the erasure's transaction (${span} after it began; a clean run takes ${cleanRunMs} ms), each time leaving the database as it was; then rerun`
}
