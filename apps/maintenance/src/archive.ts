import type { DB } from '@penguinmails/schema'
import { type Kysely, sql, type Transaction } from 'kysely'
import { type Age, addMonths, type Day, subtractAge, utcDay } from './calendar.js'
import {
  ARCHIVE_SCHEMA,
  DAILY_TABLES,
  type DailyTable,
  defaultPartitionMonths,
  finalizeDetachedPartitions,
  partitionsOf,
} from './catalog.js'
import type { RunContext } from './context.js'
import { type CommandReport, emptyReport, MaintenanceError } from './report.js'
import { withRetries } from './retry.js'

export interface ArchiveOptions {
  olderThan: Age
}

/** One month of one table moved (or, in a dry run, to be moved). */
export interface MonthMove {
  table: DailyTable
  month: string
  /** 'partition': the whole partition was re-attached to the archive; 'rows': rows were moved */
  method: 'partition' | 'rows'
  /** live rows of the month older than the cutoff, before and after */
  liveBefore: number
  liveAfter: number
  archived: number
  /** archive rows of the month replaced by a newer live row of the same key */
  replaced: number
  archiveBefore: number
  archiveAfter: number
  /** order-independent checksum of the moved rows, as read from the live table and the archive */
  checksumLive: string
  checksumArchive: string
}

interface Tally {
  rows: number
  checksum: string
}

const tallyOf = (alias: string) =>
  sql.raw(
    `count(*)::int as rows, coalesce(sum(hashtextextended(${alias}::text, 0)::numeric), 0)::text as checksum`,
  )

/**
 * Moves the rows of the daily analytics tables whose day is before today (UTC) minus `olderThan`
 * into the tables of the same shape in analytics_archive. A month wholly before the cutoff whose
 * archive month is still free moves as a whole partition (detach, attach to the archive, one
 * transaction); other rows (the month of the cutoff, stragglers, the default partition) move month
 * by month, each month in one REPEATABLE READ transaction (DELETE … RETURNING into INSERT), with
 * its counts and checksums checked before it commits. Every step is atomic, so an interrupted run
 * leaves whole steps done or undone and the next run does the rest.
 */
export async function runArchive(ctx: RunContext, options: ArchiveOptions): Promise<CommandReport> {
  const report = emptyReport()
  const cutoff = subtractAge(utcDay(ctx.now()), options.olderThan)
  const finalized = await finalizeDetachedPartitions(ctx.conn, ctx.dryRun)
  for (const f of finalized) {
    report.lines.push(
      `finished the interrupted detach of ${f.partition} and attached it back to ${f.parent}`,
    )
  }
  const moves: MonthMove[] = []
  let step = 0
  for (const table of DAILY_TABLES) {
    ctx.progress.update(`archiving ${table}`, ++step, DAILY_TABLES.length)
    moves.push(...(await archiveTable(ctx, table, cutoff)))
  }
  ctx.progress.finish()
  const totals = {
    liveBefore: sum(moves, 'liveBefore'),
    archived: sum(moves, 'archived'),
    liveAfter: sum(moves, 'liveAfter'),
  }
  for (const m of moves) {
    report.lines.push(
      `${m.table} ${m.month}: ${m.liveBefore} row(s) before = ${m.liveAfter} after + ${m.archived} ${ctx.dryRun ? 'to archive' : 'archived'} (${m.method === 'partition' ? 'whole partition' : 'row by row'}${m.replaced ? `, ${m.replaced} archived row(s) replaced by newer ones` : ''})`,
    )
  }
  report.lines.push(
    moves.length === 0
      ? `nothing older than ${cutoff} to archive`
      : `rows older than ${cutoff}: ${totals.liveBefore} before = ${totals.liveAfter} after + ${totals.archived} ${ctx.dryRun ? 'to archive' : 'archived'}`,
  )
  report.details = { cutoff, totals, months: moves, finalizedDetaches: finalized }
  return report
}

async function archiveTable(ctx: RunContext, table: DailyTable, cutoff: Day): Promise<MonthMove[]> {
  const moves: MonthMove[] = []
  const live = await partitionsOf(ctx.conn, table)
  const archived = new Set((await partitionsOf(ctx.conn, table, ARCHIVE_SCHEMA)).map((p) => p.name))
  const rowMonths = new Set<Day>()
  for (const p of live) {
    if (p.isDefault || !p.low || !p.high || p.low >= cutoff) continue
    if (p.high <= cutoff && !archived.has(p.name)) {
      moves.push(await movePartition(ctx, table, p.name, p.low, p.high))
    } else {
      rowMonths.add(p.low)
    }
  }
  for (const d of await defaultPartitionMonths(ctx.conn, table)) {
    if (d.month < cutoff) rowMonths.add(d.month)
  }
  for (const month of [...rowMonths].sort()) {
    const high = addMonths(month, 1) < cutoff ? addMonths(month, 1) : cutoff
    const move = await moveRows(ctx, table, month, high)
    if (move) moves.push(move)
  }
  if (!ctx.dryRun) {
    // months whose rows all went one by one leave an empty live partition behind
    for (const p of await partitionsOf(ctx.conn, table)) {
      if (p.isDefault || !p.high || p.high > cutoff) continue
      await withRetries(
        `dropping the emptied partition ${p.name}`,
        () => sql`select pm_drop_empty_partition(${p.name}::regclass)`.execute(ctx.conn),
        { logger: ctx.logger },
      )
    }
  }
  return moves
}

async function movePartition(
  ctx: RunContext,
  table: DailyTable,
  partition: string,
  low: Day,
  high: Day,
): Promise<MonthMove> {
  const month = low.slice(0, 7)
  ctx.progress.update(`archiving ${table} ${month} (whole partition)`)
  if (ctx.dryRun) {
    const before = await tally(ctx.conn, table, low, high)
    return planned(table, month, 'partition', before)
  }
  const { rows } = await withRetries(
    `archiving partition ${partition}`,
    () =>
      sql<{ moved_rows: string; moved_checksum: string }>`
        select moved_rows, moved_checksum::text from pm_archive_partition(${partition}::regclass)`.execute(
        ctx.conn,
      ),
    { logger: ctx.logger },
  )
  const moved = { rows: Number(rows[0]?.moved_rows ?? 0), checksum: rows[0]?.moved_checksum ?? '0' }
  // checked after the commit, from the archive side: the same rows, and none left behind
  const inArchive = await tally(ctx.conn, `${ARCHIVE_SCHEMA}.${table}`, low, high)
  const left = await tally(ctx.conn, table, low, high)
  const move: MonthMove = {
    table,
    month,
    method: 'partition',
    liveBefore: moved.rows,
    liveAfter: left.rows,
    archived: moved.rows,
    replaced: 0,
    archiveBefore: 0,
    archiveAfter: inArchive.rows,
    checksumLive: moved.checksum,
    checksumArchive: inArchive.checksum,
  }
  if (inArchive.rows !== moved.rows || inArchive.checksum !== moved.checksum) {
    throw new MaintenanceError(
      `archive check failed for ${table} ${month}: the partition held ${moved.rows} row(s) (checksum ${moved.checksum}) but the archive now has ${inArchive.rows} (checksum ${inArchive.checksum}) for that month`,
    )
  }
  return move
}

class ArchiveCheckFailed extends MaintenanceError {}

async function moveRows(
  ctx: RunContext,
  table: DailyTable,
  month: Day,
  high: Day,
): Promise<MonthMove | undefined> {
  const label = `${table} ${month.slice(0, 7)}`
  const { rows: present } = await sql<{ found: boolean }>`
    select exists (select from ${sql.table(table)} where day >= ${month}::date and day < ${high}::date) as found`.execute(
    ctx.conn,
  )
  if (!present[0]?.found) return undefined
  ctx.progress.update(`archiving ${label} (row by row, before ${high})`)
  if (ctx.dryRun)
    return planned(table, month.slice(0, 7), 'rows', await tally(ctx.conn, table, month, high))
  const archiveTable = `${ARCHIVE_SCHEMA}.${table}`
  await sql`select pm_ensure_monthly_partitions(${archiveTable}::regclass, ${month}::date, ${addMonths(month, 1)}::date)`.execute(
    ctx.conn,
  )
  const { columns, key } = await tableShape(ctx.conn, table)
  return withRetries(
    `archiving the rows of ${label}`,
    () =>
      ctx.conn
        .transaction()
        .setIsolationLevel('repeatable read')
        .execute(async (trx) => {
          const liveBefore = await tally(trx, table, month, high)
          const archiveBefore = await tally(trx, archiveTable, month, high)
          const overlap = await overlapTally(trx, table, key, month, high)
          const updates = columns
            .filter((c) => !key.includes(c))
            .map((c) => `${quote(c)} = excluded.${quote(c)}`)
            .join(', ')
          // the overlap is what ON CONFLICT replaces (RETURNING cannot tell an insert from an
          // update on a partitioned table); the archive's count after the move checks it
          const { rows } = await sql<{ moved: number; checksum: string }>`
            with moved as (
              delete from ${sql.table(table)} where day >= ${month}::date and day < ${high}::date
              returning *
            ), stored as (
              insert into ${sql.table(archiveTable)} select * from moved
              on conflict (${sql.raw(key.map(quote).join(', '))}) do update set ${sql.raw(updates)}
              returning 1
            )
            select (select count(*) from moved)::int as moved,
                   (select coalesce(sum(hashtextextended(m::text, 0)::numeric), 0)::text from moved m) as checksum,
                   (select count(*) from stored)::int as stored`.execute(trx)
          const moved = rows[0] ?? { moved: 0, checksum: '0' }
          const liveAfter = await tally(trx, table, month, high)
          const archiveAfter = await tally(trx, archiveTable, month, high)
          const move: MonthMove = {
            table,
            month: month.slice(0, 7),
            method: 'rows',
            liveBefore: liveBefore.rows,
            liveAfter: liveAfter.rows,
            archived: moved.moved,
            replaced: overlap.rows,
            archiveBefore: archiveBefore.rows,
            archiveAfter: archiveAfter.rows,
            checksumLive: liveBefore.checksum,
            checksumArchive: moved.checksum,
          }
          const expectedArchive = archiveBefore.rows - overlap.rows + moved.moved
          const expectedChecksum = (
            BigInt(archiveBefore.checksum) -
            BigInt(overlap.checksum) +
            BigInt(moved.checksum)
          ).toString()
          const wrong: string[] = []
          if (moved.moved !== liveBefore.rows || moved.checksum !== liveBefore.checksum)
            wrong.push(`moved ${moved.moved} row(s) of the ${liveBefore.rows} read`)
          if (liveAfter.rows !== 0) wrong.push(`${liveAfter.rows} row(s) left behind`)
          if (archiveAfter.rows !== expectedArchive || archiveAfter.checksum !== expectedChecksum)
            wrong.push(`the archive has ${archiveAfter.rows} row(s), expected ${expectedArchive}`)
          if (wrong.length > 0) {
            // thrown inside the transaction: nothing of this month moves
            throw new ArchiveCheckFailed(
              `archive check failed for ${label}, rolled back: ${wrong.join('; ')}`,
            )
          }
          return move
        }),
    { logger: ctx.logger },
  )
}

function planned(
  table: DailyTable,
  month: string,
  method: MonthMove['method'],
  before: Tally,
): MonthMove {
  return {
    table,
    month,
    method,
    liveBefore: before.rows,
    liveAfter: 0,
    archived: before.rows,
    replaced: 0,
    archiveBefore: 0,
    archiveAfter: 0,
    checksumLive: before.checksum,
    checksumArchive: before.checksum,
  }
}

async function tally(
  db: Kysely<DB> | Transaction<DB>,
  table: string,
  low: Day,
  high: Day,
): Promise<Tally> {
  const { rows } = await sql<Tally>`
    select ${tallyOf('t')} from ${sql.table(table)} t where day >= ${low}::date and day < ${high}::date`.execute(
    db,
  )
  return rows[0] ?? { rows: 0, checksum: '0' }
}

/** Archive rows of the month that a live row of the same key will replace. */
async function overlapTally(
  trx: Transaction<DB>,
  table: DailyTable,
  key: string[],
  low: Day,
  high: Day,
): Promise<Tally> {
  const join = key.map((c) => `l.${quote(c)} = a.${quote(c)}`).join(' and ')
  const { rows } = await sql<Tally>`
    select ${tallyOf('a')} from ${sql.table(`${ARCHIVE_SCHEMA}.${table}`)} a
     where a.day >= ${low}::date and a.day < ${high}::date
       and exists (select from ${sql.table(table)} l where ${sql.raw(join)}
                   and l.day >= ${low}::date and l.day < ${high}::date)`.execute(trx)
  return rows[0] ?? { rows: 0, checksum: '0' }
}

async function tableShape(
  db: Kysely<DB>,
  table: string,
): Promise<{ columns: string[]; key: string[] }> {
  const { rows: columns } = await sql<{ name: string }>`
    select attname as name from pg_attribute
     where attrelid = ${table}::regclass and attnum > 0 and not attisdropped order by attnum`.execute(
    db,
  )
  const { rows: key } = await sql<{ name: string }>`
    select a.attname as name from pg_index i
      join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
     where i.indrelid = ${table}::regclass and i.indisprimary order by array_position(i.indkey::int2[], a.attnum)`.execute(
    db,
  )
  if (key.length === 0)
    throw new MaintenanceError(`${table} has no primary key: cannot archive it row by row`)
  return { columns: columns.map((c) => c.name), key: key.map((k) => k.name) }
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`
}

function sum(moves: MonthMove[], field: 'liveBefore' | 'archived' | 'liveAfter'): number {
  return moves.reduce((n, m) => n + m[field], 0)
}
