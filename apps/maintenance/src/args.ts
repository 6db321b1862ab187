import { type Age, parseAge } from './calendar.js'

export const COMMANDS = [
  'partitions',
  'archive',
  'refresh',
  'analyze',
  'anonymize',
  'verify',
] as const
export type CommandName = (typeof COMMANDS)[number]

export interface CommonOptions {
  dryRun: boolean
  /** wait for a running maintenance command instead of exiting with code 3 */
  wait: boolean
  json: boolean
  actor: string | undefined
  /** the clock's "now", for catch-up drills and tests; the real clock when absent */
  now: Date | undefined
}

export type CommandOptions =
  | { command: 'partitions'; ahead: number; retention: Age }
  | { command: 'archive'; olderThan: Age }
  | { command: 'refresh' }
  | { command: 'analyze' }
  | {
      command: 'anonymize'
      tenantId: string | undefined
      /** erase this lead of the tenant (not the tenant) */
      leadId?: string | undefined
      /** erase this mailbox (email account) of the tenant (not the tenant) */
      mailboxId?: string | undefined
      replay: boolean
    }
  | {
      command: 'verify'
      sample: number | 'all'
      anchorFile: string | undefined
      exportHeadFile: string | undefined
    }

export type ParsedArgs = { help: true } | ({ help: false } & CommonOptions & CommandOptions)

export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

export const USAGE = `usage: pnpm maintenance <command> [options]

commands
  partitions [--ahead 3] [--retention 2y]  create the monthly partitions of every partitioned table
                                          from now - retention to now + ahead months; finish
                                          interrupted detaches; fail if a default partition has rows
  archive [--older-than 2y]               move daily analytics rows older than that to analytics_archive
  refresh                                 refresh every materialized view concurrently
  analyze                                 update the planner statistics of the analytics tables
  anonymize --tenant <id>                 erase the tenant's personal data (needs PM_ERASURE_KEY)
  anonymize --tenant <id> --lead <id>     erase one lead of the tenant (its id, email, …), not the tenant
  anonymize --tenant <id> --mailbox <id>  erase one mailbox (email_accounts id) of the tenant, not the tenant
  anonymize --replay                      apply the erasure ledger again (after restoring a backup)
                                          (any anonymize: with REDIS_URL, the worker's jobs and
                                          the API's rate-limit keys in Redis are scrubbed of
                                          the erased ids too)
  verify [--sample 5 | --all] [--anchor <file>] [--export-head <file>]
                                          recompute analytics for a sample of tenants and report
                                          drift; verify the audit chain (against the heads kept in
                                          --anchor); append the verified head to --export-head

options of every command
  --dry-run        show what would change, change nothing (not even the audit trail)
  --wait           wait for a maintenance command already running instead of exiting with code 3
  --json           print the report as JSON
  --actor <id>     who runs it, for the audit trail (default: PM_MAINTENANCE_ACTOR or system:maintenance)
  --now <date>     pretend the clock says this (YYYY-MM-DD or an ISO time), for catch-up drills

exit codes: 0 done, 1 failed, 2 bad usage, 3 another maintenance command holds the lock (not run)`

const GLOBAL_FLAGS = new Set(['--dry-run', '--wait', '--json'])
const GLOBAL_VALUES = new Set(['--actor', '--now'])
const COMMAND_FLAGS: Record<CommandName, Set<string>> = {
  partitions: new Set(),
  archive: new Set(),
  refresh: new Set(),
  analyze: new Set(),
  anonymize: new Set(['--replay']),
  verify: new Set(['--all']),
}
const COMMAND_VALUES: Record<CommandName, Set<string>> = {
  partitions: new Set(['--ahead', '--retention']),
  archive: new Set(['--older-than']),
  refresh: new Set(),
  analyze: new Set(),
  anonymize: new Set(['--tenant', '--lead', '--mailbox']),
  verify: new Set(['--sample', '--anchor', '--export-head']),
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) return { help: true }
  const [command, ...rest] = argv
  if (!(COMMANDS as readonly string[]).includes(command ?? '')) {
    throw new UsageError(`unknown command "${command}": expected one of ${COMMANDS.join(', ')}`)
  }
  const name = command as CommandName
  const flags = new Set<string>()
  const values = new Map<string, string>()
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string
    const [key, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined]
    if (GLOBAL_FLAGS.has(key) || COMMAND_FLAGS[name].has(key)) {
      if (inline !== undefined) throw new UsageError(`${key} takes no value`)
      flags.add(key)
    } else if (GLOBAL_VALUES.has(key) || COMMAND_VALUES[name].has(key)) {
      const value = inline ?? rest[++i]
      if (value === undefined || value === '' || (inline === undefined && value.startsWith('--'))) {
        throw new UsageError(`${key} needs a value`)
      }
      if (values.has(key)) throw new UsageError(`${key} is given twice`)
      values.set(key, value)
    } else {
      throw new UsageError(`unknown option "${key}" for ${name}`)
    }
  }
  const common: CommonOptions = {
    dryRun: flags.has('--dry-run'),
    wait: flags.has('--wait'),
    json: flags.has('--json'),
    actor: values.get('--actor'),
    now: values.has('--now') ? parseNow(values.get('--now') as string) : undefined,
  }
  return { help: false, ...common, ...commandOptions(name, flags, values) }
}

function commandOptions(
  name: CommandName,
  flags: Set<string>,
  values: Map<string, string>,
): CommandOptions {
  switch (name) {
    case 'partitions':
      return {
        command: name,
        ahead: wholeNumber('--ahead', values.get('--ahead') ?? '3', 0, 120),
        retention: age('--retention', values.get('--retention') ?? '2y'),
      }
    case 'archive':
      return { command: name, olderThan: age('--older-than', values.get('--older-than') ?? '2y') }
    case 'refresh':
    case 'analyze':
      return { command: name }
    case 'anonymize': {
      const tenantId = values.get('--tenant')
      const replay = flags.has('--replay')
      const leadId = values.get('--lead')
      const mailboxId = values.get('--mailbox')
      if (!tenantId === !replay)
        throw new UsageError('anonymize needs exactly one of --tenant <id> or --replay')
      if (leadId !== undefined && mailboxId !== undefined)
        throw new UsageError(
          'anonymize erases one subject at a time: --lead or --mailbox, not both',
        )
      if (replay && (leadId !== undefined || mailboxId !== undefined))
        throw new UsageError(
          '--replay replays every erasure of the ledger: it takes no --lead or --mailbox',
        )
      return { command: name, tenantId, leadId, mailboxId, replay }
    }
    case 'verify': {
      if (flags.has('--all') && values.has('--sample')) {
        throw new UsageError('verify takes --all or --sample <n>, not both')
      }
      return {
        command: name,
        sample: flags.has('--all')
          ? 'all'
          : wholeNumber('--sample', values.get('--sample') ?? '5', 1, 1_000_000),
        anchorFile: values.get('--anchor'),
        exportHeadFile: values.get('--export-head'),
      }
    }
  }
}

function wholeNumber(flag: string, raw: string, min: number, max: number): number {
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN
  if (Number.isNaN(value) || value < min || value > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, not "${raw}"`)
  }
  return value
}

function age(flag: string, raw: string): Age {
  const parsed = parseAge(raw)
  if (!parsed) {
    throw new UsageError(`${flag} must be an age such as 2y, 18m, 6w or 90d, not "${raw}"`)
  }
  return parsed
}

function parseNow(raw: string): Date {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(raw) ? new Date(`${raw}T12:00:00Z`) : new Date(raw)
  if (Number.isNaN(date.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(raw)) {
    throw new UsageError(`--now must be a date (YYYY-MM-DD) or an ISO time, not "${raw}"`)
  }
  return date
}
