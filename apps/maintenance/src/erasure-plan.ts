import { ARCHIVE_SCHEMA, DAILY_TABLES } from './catalog.js'

/**
 * Where a tenant's personal identifiers are, table by table. Every id column (and the tenant_id)
 * is replaced by its pseudonym, in source and analytics rows alike, so that a recompute from the
 * source gives the same rows and the totals stay the same; free text that names a person or a
 * mailbox is replaced. Tables referenced by foreign keys are copied under their new ids and the
 * old rows deleted (a key cannot change under its references); the others are updated in place.
 */
export interface ErasedTable {
  table: string
  /** text columns holding ids of the tenant's rows */
  ids: string[]
  /** columns holding a billing id, '<tenant_id>:<YYYY-MM>' */
  billingIds?: string[]
  /** replacement of free-text columns: SQL over `x` (the old row) and `m(col)` (a pseudonym) */
  texts?: Record<string, (m: (column: string) => string) => string>
  /** referenced by foreign keys: copied under new ids, then the old rows deleted */
  copied?: boolean
  /** the column holding the tenant id (tenant_id, or id for tenants) */
  tenantColumn?: string
}

const erasedMailbox = (m: (c: string) => string) => `${m('id')} || '@erased.invalid'`

/** Parents before children (copies), in the order the statements run. */
export const SOURCE_TABLES: ErasedTable[] = [
  {
    table: 'tenants',
    ids: [],
    tenantColumn: 'id',
    copied: true,
    texts: { name: () => `'erased tenant'` },
  },
  { table: 'companies', ids: ['id'], copied: true, texts: { name: () => `'erased company'` } },
  {
    table: 'domains',
    ids: ['id', 'company_id'],
    copied: true,
    texts: { name: (m) => `${m('id')} || '.erased.invalid'` },
  },
  {
    table: 'email_accounts',
    ids: ['id', 'company_id', 'domain_id'],
    copied: true,
    texts: { address: erasedMailbox },
  },
  {
    table: 'campaigns',
    ids: ['id', 'company_id'],
    copied: true,
    texts: { name: () => `'erased campaign'` },
  },
  { table: 'subscriptions', ids: ['id'] },
  { table: 'warmup_status', ids: ['id', 'email_account_id'] },
  { table: 'campaign_sequence_steps', ids: ['id', 'company_id', 'campaign_id'] },
  { table: 'leads', ids: ['id', 'company_id'], texts: { email: erasedMailbox } },
  {
    table: 'emails',
    ids: ['company_id', 'email_account_id', 'campaign_id', 'sequence_step_id', 'lead_id'],
  },
]

const dailyIds: Record<(typeof DAILY_TABLES)[number], string[]> = {
  campaign_analytics: ['company_id', 'campaign_id'],
  sequence_step_analytics: ['company_id', 'campaign_id', 'sequence_step_id'],
  mailbox_analytics: ['company_id', 'email_account_id'],
  warmup_analytics: ['company_id', 'email_account_id'],
}

export const ANALYTICS_TABLES: ErasedTable[] = [
  { table: 'billing_analytics', ids: ['subscription_id'], billingIds: ['id'] },
  {
    table: 'lead_analytics',
    ids: ['company_id', 'lead_id', 'campaign_id'],
    billingIds: ['billing_id'],
  },
  ...DAILY_TABLES.flatMap((t) => [
    { table: t, ids: dailyIds[t], billingIds: ['billing_id'] },
    { table: `${ARCHIVE_SCHEMA}.${t}`, ids: dailyIds[t], billingIds: ['billing_id'] },
  ]),
]

/** analytics_dirty_keys: entity_id and campaign_id hold lead, mailbox or campaign ids, or ''. */
export const DIRTY_KEYS: ErasedTable = {
  table: 'analytics_dirty_keys',
  ids: ['entity_id', 'campaign_id'],
}

export const ALL_TABLES: ErasedTable[] = [...SOURCE_TABLES, ...ANALYTICS_TABLES, DIRTY_KEYS]

/**
 * Tables holding the tenant id that the erasure renames through a function of their own, not a
 * statement of this plan: the read API's data versions (pm_rename_tenant_versions, migration 0010),
 * written only by their owner.
 */
export const RENAMED_BY_FUNCTION = ['analytics_tenant_versions'] as const
