import { DAY_MS } from './calendar.js'

export type SourceTable =
  | 'tenants'
  | 'subscriptions'
  | 'companies'
  | 'domains'
  | 'email_accounts'
  | 'warmup_status'
  | 'campaigns'
  | 'campaign_sequence_steps'
  | 'leads'
  | 'emails'

export interface GenerateProgress {
  table: SourceTable
  /** rows of the table written so far */
  rows: number
  /** rows the table will have */
  total: number
}

export interface GenerateOptions {
  /** Same seed and options, same rows (byte for byte). Default 42. */
  seed?: number
  /** Default 5, in the zones UTC, America/New_York, Asia/Kolkata, Europe/Berlin, Australia/Sydney… */
  tenants?: number
  /** Exactly this many emails (campaign and warmup), besides the edge cases. Default 100,000. */
  emails?: number
  /** Length of the window of activity, in each tenant's local days. Default 90. */
  days?: number
  /**
   * The end of the window: nothing is sent and no event happens at or after it. A Date, an ISO
   * instant, or 'YYYY-MM-DD' for the end of that UTC day. Default: now (so pass it for repeatable data).
   */
  end?: Date | string
  /** Mailboxes across all tenants (at least one per tenant). Default: about 40 emails a day each. */
  mailboxes?: number
  /** Campaigns across all tenants. Default: about one per 5,000 emails, at least 3 per tenant. */
  campaigns?: number
  /**
   * Leads across all tenants. Default: as many as the campaigns send to. Fewer than the largest
   * campaigns need is an error; more leaves some never contacted.
   */
  leads?: number
  /** Also write the edge-case tenants of `edge-cases.ts` (see the README). Default false. */
  edgeCases?: boolean
  onProgress?: (progress: GenerateProgress) => void
}

export interface ResolvedOptions {
  seed: number
  tenants: number
  emails: number
  days: number
  end: number
  mailboxes: number
  campaigns: number
  leads: number | undefined
  edgeCases: boolean
}

function wholeNumber(name: string, value: number | undefined, fallback: number, min: number) {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v < min) {
    throw new Error(`${name} must be a whole number of at least ${min} (got ${String(value)})`)
  }
  return v
}

/** The end instant of an `end` option, in ms since the epoch. */
export function parseEnd(end: Date | string | undefined, now: () => number = Date.now): number {
  if (end === undefined) return now()
  if (end instanceof Date) {
    if (Number.isNaN(end.getTime())) throw new Error('end is an invalid Date')
    return end.getTime()
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(end)) {
    const day = Date.parse(`${end}T00:00:00Z`)
    if (Number.isNaN(day)) throw new Error(`end "${end}" is not a calendar date`)
    return day + DAY_MS
  }
  const at = Date.parse(end)
  if (Number.isNaN(at) || !/^\d{4}-\d{2}-\d{2}T/.test(end)) {
    throw new Error(
      `end "${end}" is neither a date (YYYY-MM-DD) nor an ISO instant (2024-03-31T12:00:00Z)`,
    )
  }
  return at
}

export function resolveOptions(options: GenerateOptions): ResolvedOptions {
  const seed = options.seed ?? 42
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be a whole number (got ${seed})`)
  const tenants = wholeNumber('tenants', options.tenants, 5, 1)
  const emails = wholeNumber('emails', options.emails, 100_000, 0)
  const days = wholeNumber('days', options.days, 90, 1)
  if (days > 3660) throw new Error(`days must be at most 3660 (got ${days})`)
  const mailboxes = wholeNumber(
    'mailboxes',
    options.mailboxes,
    Math.max(tenants * 3, Math.ceil(emails / days / 40)),
    1,
  )
  if (mailboxes < tenants) {
    throw new Error(
      `mailboxes (${mailboxes}) must be at least the number of tenants (${tenants}): each tenant needs one`,
    )
  }
  const campaigns = wholeNumber(
    'campaigns',
    options.campaigns,
    Math.max(tenants * 3, Math.ceil(emails / 5000)),
    0,
  )
  const leads = options.leads === undefined ? undefined : wholeNumber('leads', options.leads, 0, 0)
  return {
    seed,
    tenants,
    emails,
    days,
    end: parseEnd(options.end),
    mailboxes,
    campaigns,
    leads,
    edgeCases: options.edgeCases ?? false,
  }
}
