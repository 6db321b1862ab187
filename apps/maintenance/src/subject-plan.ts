import { ARCHIVE_SCHEMA } from './catalog.js'

/** What one erasure is of: a whole tenant, or one lead or one mailbox (email account) of it. */
export type SubjectKind = 'lead' | 'mailbox'

/**
 * Where the personal identifiers of one lead or one mailbox are. Its id, wherever a column holds
 * it (its own row, the emails, the analytics and archive rows), becomes its pseudonym, so that the
 * tenant's analytics stay exact: a recompute from the erased source gives the same rows under the
 * new id. Its personal text columns (a lead's email, a mailbox's address) are replaced.
 */
export interface SubjectPlan {
  /** the subject's own table (keyed by tenant_id, id) */
  table: string
  /** its personal text columns → the replacement, SQL over `$new` (the pseudonym, a literal) */
  texts: Record<string, string>
  /** referenced by foreign keys: the row is copied under the new id, then the old one deleted */
  copied: boolean
  /** other tables' columns holding the subject's id (with tenant_id beside it) */
  references: { table: string; column: string }[]
  /** analytics_dirty_keys kinds whose entity_id is the subject's id */
  dirtyKinds: string[]
}

export const SUBJECT_PLANS: Record<SubjectKind, SubjectPlan> = {
  lead: {
    table: 'leads',
    texts: { email: `$new || '@erased.invalid'` },
    copied: false,
    references: [
      { table: 'emails', column: 'lead_id' },
      { table: 'lead_analytics', column: 'lead_id' },
    ],
    dirtyKinds: ['lead_campaign'],
  },
  mailbox: {
    table: 'email_accounts',
    texts: { address: `$new || '@erased.invalid'` },
    copied: true,
    references: [
      { table: 'warmup_status', column: 'email_account_id' },
      { table: 'emails', column: 'email_account_id' },
      { table: 'mailbox_analytics', column: 'email_account_id' },
      { table: 'warmup_analytics', column: 'email_account_id' },
      { table: `${ARCHIVE_SCHEMA}.mailbox_analytics`, column: 'email_account_id' },
      { table: `${ARCHIVE_SCHEMA}.warmup_analytics`, column: 'email_account_id' },
    ],
    dirtyKinds: ['mailbox_day', 'mailbox'],
  },
}

/** The command-line flag of each kind, for messages. */
export const SUBJECT_FLAGS: Record<SubjectKind, string> = { lead: '--lead', mailbox: '--mailbox' }
