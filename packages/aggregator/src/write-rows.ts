import { type RawBuilder, sql } from 'kysely'

export interface WriteRowsSpec {
  /** prefix of the CTEs this adds: <name>_changes, <name>_inserts, <name>_updates */
  name: string
  table: string
  /** the CTE holding the recomputed rows of the scope */
  rows: string
  /** the table's primary key, in index order */
  key: readonly string[]
  /** every other column written (updated_at excepted) */
  columns: readonly string[]
}

/**
 * CTEs that make `table` hold `rows`: the recomputed rows are joined to the stored ones by primary
 * key, once, and split into new rows (a plain INSERT, in key order) and changed rows (an UPDATE);
 * unchanged rows are not touched, so `updated_at` means "last changed".
 *
 * Why not INSERT … ON CONFLICT DO UPDATE: its speculative insertion probes the key index once per
 * row and then inserts with a speculative token, and on a conflict it locks the stored row (a WAL
 * record and a dirtied page) even when its WHERE then finds nothing changed. Measured on 390,000
 * lead rows, that made an unchanged recompute cost nearly as much as writing every row, and a new
 * row about 1.6× a plain insert. A plain INSERT is safe here because every writer of the analytics
 * tables holds the tenant's lock (tenant-lock.ts) and READ COMMITTED gives each statement a
 * snapshot taken after the lock was granted: a key absent from the snapshot is absent, and a writer
 * that ignored the lock would make the statement fail on the primary key, never write a wrong row.
 * Matching by the whole primary key, not by the scope, also catches a stored row that belongs to
 * the scope only now (a step moved to another campaign): it is updated, not inserted again.
 */
export function writeRows(spec: WriteRowsSpec): RawBuilder<unknown> {
  const { name, table, rows, key, columns } = spec
  const id = (s: string) => sql.raw(s)
  const list = (cols: readonly string[], prefix = '') =>
    sql.raw(cols.map((c) => `${prefix}${c}`).join(', '))
  const keyMatch = (a: string, b: string) =>
    sql.raw(key.map((k) => `${a}.${k} = ${b}.${k}`).join(' and '))
  return sql`
    ${id(`${name}_changes`)} as materialized (
      select ${list([...key, ...columns], 'r.')}, a.${id(key[0] as string)} is not null as present
        from ${id(rows)} r
        left join ${id(table)} a on ${keyMatch('a', 'r')}
       where a.${id(key[0] as string)} is null
          or (${list(columns, 'a.')}) is distinct from (${list(columns, 'r.')})
    ),
    ${id(`${name}_inserts`)} as (
      insert into ${id(table)} (${list([...key, ...columns])})
      select ${list([...key, ...columns])} from ${id(`${name}_changes`)} where not present
       order by ${list(key)}
      returning tableoid
    ),
    ${id(`${name}_updates`)} as (
      update ${id(table)} a set ${sql.raw(columns.map((c) => `${c} = c.${c}`).join(', '))}, updated_at = now()
        from ${id(`${name}_changes`)} c
       where c.present and ${keyMatch('a', 'c')}
      returning a.tableoid
    )`
}

export interface DeleteRowsSpec {
  /** the CTE's name */
  name: string
  table: string
  /** the CTE holding the recomputed rows of the scope */
  rows: string
  key: readonly string[]
  /** which stored rows (alias `a`) the scope (alias `b`) covers */
  inScope: RawBuilder<unknown>
  /** the relation of the scope, aliased `b` (default: the `bounds` CTE) */
  scope?: RawBuilder<unknown>
  /**
   * The scope holds single keys (a campaign's days, a lead): look each one's stored rows up by
   * index. Left to itself the planner, estimating the scope at a few rows, scanned and sorted the
   * whole table for a merge join — work that grew with the table, not with the change. Not for
   * whole tenants, whose rows are best read by one scan.
   */
  byKey?: boolean
}

/**
 * A CTE deleting the stored rows of the scope that the recompute no longer produces. A set
 * difference, not NOT EXISTS: the planner estimates a CTE of recomputed rows at one row and, for
 * a scope of single keys, ran the anti-join as a nested loop rescanning that CTE once per stored
 * row (811 leads × 406 rows: 0.4 s for nothing deleted).
 */
export function deleteRows(spec: DeleteRowsSpec): RawBuilder<unknown> {
  const { name, table, rows, key, inScope, scope = sql`bounds b`, byKey = false } = spec
  const list = (prefix = '') => sql.raw(key.map((c) => `${prefix}${c}`).join(', '))
  // OFFSET 0 keeps the lateral subquery from being flattened into a join the planner may merge
  const stored = byKey
    ? sql`${scope} cross join lateral (select ${list('a.')} from ${sql.raw(table)} a where ${inScope} offset 0) a`
    : sql`${scope} join ${sql.raw(table)} a on ${inScope}`
  return sql`
    ${sql.raw(name)} as (
      delete from ${sql.raw(table)} a
       using (select ${list('a.')} from ${stored}
              except
              select ${list()} from ${sql.raw(rows)}) d
       where ${sql.raw(key.map((k) => `a.${k} = d.${k}`).join(' and '))}
      returning 1
    )`
}

/** The summary columns of writeRows' CTEs: rows written, and rows that fell into `defaultPartition`. */
export function writeCounts(name: string, defaultPartition?: string): RawBuilder<unknown> {
  const id = (s: string) => sql.raw(s)
  const defaults = defaultPartition
    ? sql`(select count(*) from ${id(`${name}_inserts`)}
            where tableoid = ${defaultPartition}::regclass)::int`
    : sql`0`
  return sql`
    (select count(*) from ${id(`${name}_inserts`)})::int
      + (select count(*) from ${id(`${name}_updates`)})::int as ${id(`${name}_upserts`)},
    ${defaults} as ${id(`${name}_defaults`)}`
}

/** The eight counts of contract §2, as every analytics table names them. */
export const METRICS = [
  'sent',
  'delivered',
  'opened_tracked',
  'clicked_tracked',
  'replied',
  'bounced',
  'unsubscribed',
  'spam_complaints',
] as const
