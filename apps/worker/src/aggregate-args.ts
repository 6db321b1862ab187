import { parseArgs } from 'node:util'
import { checkWorkMem } from '@penguinmails/aggregator'

export const AGGREGATE_USAGE = `usage: pnpm aggregate [--tenant <id>]... [--from YYYY-MM-DD] [--to YYYY-MM-DD]

Recomputes the analytics tables of the database at DATABASE_URL (the embedded one when unset)
from the source tables, without Redis. With no arguments: every table of every tenant, all days.
  --tenant <id>   only this tenant (repeat for several)
  --from <day>    only tenant-local days from this one (inclusive)
  --to <day>      only tenant-local days before this one (exclusive: [from, to))
  --work-mem <size>
                  PostgreSQL work_mem of each transaction (default 128MB); a backfill of
                  millions of emails spills to disk below about 1GB. Two transactions run at
                  once, each using several times this at its peak
  --help          this text`

export interface AggregateArgs {
  help: boolean
  /** undefined: every tenant */
  tenantIds: string[] | undefined
  fromDay: string | undefined
  toDay: string | undefined
  workMem: string | undefined
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

function day(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const at = Date.parse(`${value}T00:00:00Z`)
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(value) ||
    Number.isNaN(at) ||
    new Date(at).toISOString().slice(0, 10) !== value
  )
    throw new UsageError(`${flag} must be a calendar day as YYYY-MM-DD, got "${value}"`)
  return value
}

/** The CLI's arguments, checked; throws UsageError with what is wrong. */
export function parseAggregateArgs(argv: string[]): AggregateArgs {
  // `pnpm aggregate -- --tenant x` passes the separator through
  const args = argv[0] === '--' ? argv.slice(1) : argv
  let values: {
    tenant?: string[]
    from?: string
    to?: string
    'work-mem'?: string
    help?: boolean
  }
  try {
    values = parseArgs({
      args,
      options: {
        tenant: { type: 'string', multiple: true },
        from: { type: 'string' },
        to: { type: 'string' },
        'work-mem': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
  const tenants = values.tenant?.map((t) => t.trim())
  if (tenants?.some((t) => t === '' || t.startsWith('--')))
    throw new UsageError('--tenant needs a tenant id, e.g. --tenant t-acme')
  const fromDay = day('--from', values.from)
  const toDay = day('--to', values.to)
  if (fromDay && toDay && fromDay >= toDay)
    throw new UsageError(
      `--from (${fromDay}) must be before --to (${toDay}): the range is half-open, [from, to)`,
    )
  let workMem: string | undefined
  if (values['work-mem'] !== undefined) {
    try {
      workMem = checkWorkMem(values['work-mem'])
    } catch (error) {
      throw new UsageError(`--work-mem: ${(error as Error).message}`)
    }
  }
  return {
    workMem,
    help: values.help ?? false,
    tenantIds: tenants ? [...new Set(tenants)] : undefined,
    fromDay,
    toDay,
  }
}
