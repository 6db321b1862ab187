import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { campaignExists } from './campaign-lookup.js'
import { type EmailCounts, type RawCounts, toCounts } from './email-metrics.js'
import { listFingerprint } from './keyset-cursor.js'
import { keysetPage, type SortColumn } from './keyset-page.js'
import type { Page, PageRequest } from './page.js'

/** The lead statuses of the contract, in the order in which the first that applies wins. */
export const LEAD_STATUSES = [
  'complained',
  'unsubscribed',
  'bounced',
  'replied',
  'completed',
  'contacted',
] as const
export type LeadStatus = (typeof LEAD_STATUSES)[number]

// timestamps are ordered by their exact microseconds since the epoch: a JavaScript Date keeps
// only milliseconds, and a cursor rounded to them would skip or repeat rows
export const CAMPAIGN_LEAD_SORTS = {
  '-last_sent_at': [
    { column: 'last_sent_us', direction: 'desc', type: 'bigint' },
    { column: 'lead_id', direction: 'desc', type: 'text' },
  ],
  last_sent_at: [
    { column: 'last_sent_us', direction: 'asc', type: 'bigint' },
    { column: 'lead_id', direction: 'asc', type: 'text' },
  ],
  lead_id: [{ column: 'lead_id', direction: 'asc', type: 'text' }],
} as const satisfies Record<string, readonly SortColumn[]>

export type CampaignLeadSort = keyof typeof CAMPAIGN_LEAD_SORTS

export interface CampaignLeadsParams extends PageRequest {
  tenantId: string
  campaignId: string
  status?: LeadStatus | undefined
  /** default `-last_sent_at` (most recently contacted first) */
  sort?: CampaignLeadSort | undefined
}

export interface CampaignLeadRow extends EmailCounts {
  lead_id: string
  /** null when the lead no longer exists in the source (erased) */
  email: string | null
  status: LeadStatus
  /** ISO 8601, UTC */
  last_sent_at: string
}

/** The leads a campaign has sent to, with their status and counts over all days. */
export async function campaignLeads(
  db: Kysely<DB>,
  params: CampaignLeadsParams,
): Promise<Page<CampaignLeadRow> | null> {
  const { tenantId, campaignId } = params
  if (!(await campaignExists(db, tenantId, campaignId))) return null
  const sort = params.sort ?? '-last_sent_at'
  let query = db
    .selectFrom('lead_analytics as la')
    .leftJoin('leads as l', (join) =>
      join.on('l.tenant_id', '=', tenantId).onRef('l.id', '=', 'la.lead_id'),
    )
    .where('la.tenant_id', '=', tenantId)
    .where('la.campaign_id', '=', campaignId)
    .select([
      'la.lead_id',
      'l.email',
      'la.status',
      'la.sent',
      'la.delivered',
      'la.opened_tracked',
      'la.clicked_tracked',
      'la.replied',
      'la.bounced',
      'la.unsubscribed',
      'la.spam_complaints',
      sql<string>`to_char(la.last_sent_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
        'last_sent_at',
      ),
      sql<string>`(extract(epoch from la.last_sent_at) * 1000000)::bigint`.as('last_sent_us'),
    ])
  if (params.status !== undefined) query = query.where('la.status', '=', params.status)
  const page = await keysetPage(
    db,
    query,
    CAMPAIGN_LEAD_SORTS[sort],
    listFingerprint(['campaign-leads', tenantId, campaignId, params.status ?? null, sort]),
    params,
  )
  return {
    nextCursor: page.nextCursor,
    rows: page.rows.map((r) => ({
      lead_id: r.lead_id,
      email: r.email,
      status: r.status as LeadStatus,
      ...toCounts(r as unknown as RawCounts),
      last_sent_at: r.last_sent_at,
    })),
  }
}
