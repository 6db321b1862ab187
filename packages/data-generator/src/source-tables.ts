import type { SourceTable } from './options.js'

/** A row as the text of each column, in the order of its table's COLUMNS; null is SQL NULL. */
export type Row = (string | null)[]

export type ColumnType = 'text' | 'timestamptz' | 'integer' | 'bigint' | 'boolean'

/** The columns written, in write order (tables with foreign keys after the tables they point at). */
export const COLUMNS: Record<SourceTable, readonly (readonly [string, ColumnType])[]> = {
  tenants: [
    ['id', 'text'],
    ['name', 'text'],
    ['time_zone', 'text'],
    ['created_at', 'timestamptz'],
  ],
  subscriptions: [
    ['tenant_id', 'text'],
    ['id', 'text'],
    ['plan', 'text'],
    ['status', 'text'],
    ['started_at', 'timestamptz'],
    ['ended_at', 'timestamptz'],
  ],
  companies: [
    ['tenant_id', 'text'],
    ['id', 'text'],
    ['name', 'text'],
    ['created_at', 'timestamptz'],
  ],
  domains: [
    ['tenant_id', 'text'],
    ['id', 'text'],
    ['company_id', 'text'],
    ['name', 'text'],
    ['created_at', 'timestamptz'],
  ],
  email_accounts: [
    ['tenant_id', 'text'],
    ['id', 'text'],
    ['company_id', 'text'],
    ['domain_id', 'text'],
    ['address', 'text'],
    ['created_at', 'timestamptz'],
  ],
  warmup_status: [
    ['tenant_id', 'text'],
    ['id', 'text'],
    ['email_account_id', 'text'],
    ['status', 'text'],
    ['started_at', 'timestamptz'],
    ['ramp_days', 'integer'],
  ],
  campaigns: [
    ['tenant_id', 'text'],
    ['id', 'text'],
    ['company_id', 'text'],
    ['name', 'text'],
    ['status', 'text'],
    ['created_at', 'timestamptz'],
    ['started_at', 'timestamptz'],
    ['completed_at', 'timestamptz'],
  ],
  campaign_sequence_steps: [
    ['tenant_id', 'text'],
    ['id', 'text'],
    ['company_id', 'text'],
    ['campaign_id', 'text'],
    ['step_number', 'integer'],
  ],
  leads: [
    ['tenant_id', 'text'],
    ['id', 'text'],
    ['company_id', 'text'],
    ['email', 'text'],
    ['imported', 'timestamptz'],
  ],
  emails: [
    ['tenant_id', 'text'],
    ['id', 'bigint'],
    ['company_id', 'text'],
    ['email_account_id', 'text'],
    ['is_warmup', 'boolean'],
    ['campaign_id', 'text'],
    ['sequence_step_id', 'text'],
    ['lead_id', 'text'],
    ['status', 'text'],
    ['sent_at', 'timestamptz'],
    ['opened_at', 'timestamptz'],
    ['clicked_at', 'timestamptz'],
    ['replied_at', 'timestamptz'],
    ['bounce_type', 'text'],
    ['unsubscribed_at', 'timestamptz'],
    ['complaint_at', 'timestamptz'],
    ['updated_at', 'timestamptz'],
  ],
}

export const SOURCE_TABLES = Object.keys(COLUMNS) as SourceTable[]

const DAY_MS = 86_400_000
const PAD2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'))
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'))
const dayPrefixes = new Map<number, string>()

/**
 * An instant (ms since the epoch) as an ISO string, as Date#toISOString writes it; NaN is NULL.
 * Formatted by hand from a per-day prefix: a million emails have several million timestamps.
 */
export function instant(ms: number): string | null {
  if (Number.isNaN(ms)) return null
  if (!Number.isSafeInteger(ms) || ms < 0) return new Date(ms).toISOString()
  const day = Math.floor(ms / DAY_MS)
  let prefix = dayPrefixes.get(day)
  if (prefix === undefined) {
    prefix = new Date(day * DAY_MS).toISOString().slice(0, 11)
    dayPrefixes.set(day, prefix)
  }
  let rest = ms - day * DAY_MS
  const milli = rest % 1000
  rest = (rest - milli) / 1000
  const second = rest % 60
  rest = (rest - second) / 60
  const minute = rest % 60
  const hour = (rest - minute) / 60
  return `${prefix}${PAD2[hour]}:${PAD2[minute]}:${PAD2[second]}.${PAD3[milli]}Z`
}

// COPY's text format: tab-separated, \N for NULL, backslash escapes for the few special characters.
const SPECIAL = /[\\\t\n\r]/
function copyValue(value: string | null): string {
  if (value === null) return '\\N'
  if (!SPECIAL.test(value)) return value
  return value
    .replace(/\\/g, '\\\\')
    .replace(/\t/g, '\\t')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
}

export function copyLine(row: Row): string {
  let line = copyValue(row[0] ?? null)
  for (let i = 1; i < row.length; i++) line += `\t${copyValue(row[i] ?? null)}`
  return `${line}\n`
}
