import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import type { Day } from './calendar.js'

export const DAILY_TABLES = [
  'campaign_analytics',
  'sequence_step_analytics',
  'mailbox_analytics',
  'warmup_analytics',
] as const
export type DailyTable = (typeof DAILY_TABLES)[number]

export const ARCHIVE_SCHEMA = 'analytics_archive'

export interface PartitionedTable {
  name: string
  keyColumn: string
  keyType: 'date' | 'timestamp with time zone' | string
}

/** The range-partitioned tables of the current schema, with their partition key. */
export async function partitionedTables(conn: Kysely<DB>): Promise<PartitionedTable[]> {
  const { rows } = await sql<{ name: string; key_column: string; key_type: string }>`
    select c.relname as name, a.attname as key_column, format_type(a.atttypid, null) as key_type
      from pg_partitioned_table pt
      join pg_class c on c.oid = pt.partrelid
      join pg_attribute a on a.attrelid = c.oid and a.attnum = pt.partattrs[0]
     where c.relnamespace = current_schema()::regnamespace and pt.partstrat = 'r'
       and pt.partnatts = 1 and not c.relispartition
     order by 1`.execute(conn)
  return rows.map((r) => ({ name: r.name, keyColumn: r.key_column, keyType: r.key_type }))
}

export interface Partition {
  name: string
  /** date-keyed partitions only (timestamptz bounds print in the session's zone) */
  low: Day | undefined
  high: Day | undefined
  isDefault: boolean
}

/** The partitions of `parent` (schema-qualified or not), detach-pending ones excluded. */
export async function partitionsOf(
  conn: Kysely<DB>,
  parent: string,
  schema?: string,
): Promise<Partition[]> {
  const { rows } = await sql<{ name: string; bound: string }>`
    select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
      from pg_inherits i
      join pg_class c on c.oid = i.inhrelid
      join pg_class p on p.oid = i.inhparent
     where p.relname = ${parent} and not i.inhdetachpending
       and p.relnamespace = ${schema ? sql`${schema}::regnamespace` : sql`current_schema()::regnamespace`}
     order by 1`.execute(conn)
  return rows.map((r) => {
    const m = /^FOR VALUES FROM \('(\d{4}-\d{2}-\d{2})'\) TO \('(\d{4}-\d{2}-\d{2})'\)$/.exec(
      r.bound,
    )
    return { name: r.name, low: m?.[1], high: m?.[2], isDefault: r.bound === 'DEFAULT' }
  })
}

/** Rows in the default partition of `parent`, per month of its key. */
export async function defaultPartitionMonths(
  conn: Kysely<DB>,
  parent: string,
): Promise<{ month: Day; rows: number }[]> {
  const { rows } = await sql<{ month: string; row_count: string }>`
    select month::text, row_count from pm_default_partition_months(${parent}::regclass)`.execute(
    conn,
  )
  return rows.map((r) => ({ month: r.month, rows: Number(r.row_count) }))
}

/** Finishes interrupted concurrent detaches (dry run: only lists them). */
export async function finalizeDetachedPartitions(
  conn: Kysely<DB>,
  dryRun: boolean,
): Promise<{ parent: string; partition: string }[]> {
  if (dryRun) {
    const { rows } = await sql<{ parent: string; partition: string }>`
      select i.inhparent::regclass::text as parent, i.inhrelid::regclass::text as partition
        from pg_inherits i where i.inhdetachpending order by 1, 2`.execute(conn)
    return rows
  }
  const { rows } = await sql<{ parent_table: string; partition_table: string }>`
    select parent_table, partition_table from pm_finalize_detached_partitions()`.execute(conn)
  return rows.map((r) => ({ parent: r.parent_table, partition: r.partition_table }))
}
