import type { DB } from '@penguinmails/schema'
import { type Kysely, sql, type Transaction } from 'kysely'
import { type Random, STREAM, seededRandom } from './random.js'

export interface ActivityOptions {
  /** Same seed, count, now and database contents: the same changes. Default 1. */
  seed?: number
  /** How many changes (new emails and events on existing ones). Default 20. */
  count?: number
  /** When the changes happen; every new send and event is within the minute before. Default: now. */
  now?: Date
}

export interface ActivityReport {
  /** new emails: follow-up steps, first steps to new leads, warmup emails */
  inserted: number
  /** existing emails that got an event: delivered, opened, clicked, replied, bounced… or were sent */
  updated: number
  /** new leads */
  leads: number
}

interface EmailRow {
  tenant_id: string
  id: string
  company_id: string
  email_account_id: string
  is_warmup: boolean
  campaign_id: string | null
  sequence_step_id: string | null
  lead_id: string | null
  status: string
  sent_at: Date | null
  opened_at: Date | null
  clicked_at: Date | null
  replied_at: Date | null
  bounce_type: string | null
  unsubscribed_at: Date | null
  complaint_at: Date | null
}

type Change =
  | 'deliver'
  | 'bounce'
  | 'open'
  | 'click'
  | 'reply'
  | 'unsubscribe'
  | 'complaint'
  | 'send-queued'
  | 'follow-up'
  | 'new-lead'
  | 'warmup'

const CHANGES: readonly (readonly [Change, number])[] = [
  ['deliver', 0.12],
  ['bounce', 0.02],
  ['open', 0.22],
  ['click', 0.06],
  ['reply', 0.05],
  ['unsubscribe', 0.01],
  ['complaint', 0.005],
  ['send-queued', 0.08],
  ['follow-up', 0.14],
  ['new-lead', 0.1],
  ['warmup', 0.135],
]

const RECENT_DAYS = 3
const RECENT_PER_TENANT = 200
const QUEUED_PER_TENANT = 50

function pickChange(r: Random): Change {
  let u = r.next()
  for (const [change, weight] of CHANGES) {
    u -= weight
    if (u < 0) return change
  }
  return 'warmup'
}

const stopped = (e: EmailRow) =>
  e.status === 'bounced' ||
  e.replied_at !== null ||
  e.unsubscribed_at !== null ||
  e.complaint_at !== null

/**
 * A small burst of new outreach activity for the live demo, in one transaction: new sends
 * (follow-up steps of active campaigns, first steps to newly imported leads, warmup emails) and
 * events arriving on recent emails (delivery, bounces, opens, clicks, replies, unsubscribes,
 * complaints), each after its email's send and within the minute before `now`.
 */
export async function appendActivity(
  db: Kysely<DB>,
  options: ActivityOptions = {},
): Promise<ActivityReport> {
  const count = options.count ?? 20
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new Error(`count must be a whole number of at least 0 (got ${count})`)
  }
  const now = (options.now ?? new Date()).getTime()
  if (Number.isNaN(now)) throw new Error('now is an invalid Date')
  const r = seededRandom(options.seed ?? 1, STREAM.activity)
  return db.transaction().execute((trx) => applyActivity(trx, r, count, now))
}

async function applyActivity(
  trx: Transaction<DB>,
  r: Random,
  count: number,
  now: number,
): Promise<ActivityReport> {
  const nowDate = new Date(now)
  const tenants = await trx.selectFrom('tenants').select('id').orderBy('id').execute()
  if (tenants.length === 0) {
    throw new Error('there are no tenants: fill the source tables first (generateSourceData)')
  }
  const settled = new Date(now - 60_000)
  const recent: EmailRow[] = []
  const queued: EmailRow[] = []
  for (const { id } of tenants) {
    // one tenant at a time, so that the (tenant_id, sent_at) index serves both reads
    recent.push(
      ...(await trx
        .selectFrom('emails')
        .selectAll()
        .where('tenant_id', '=', id)
        .where('sent_at', '>', new Date(now - RECENT_DAYS * 86_400_000))
        .where('sent_at', '<=', settled)
        .orderBy('sent_at', 'desc')
        .orderBy('id', 'desc')
        .limit(RECENT_PER_TENANT)
        .execute()),
    )
    queued.push(
      ...(await trx
        .selectFrom('emails')
        .selectAll()
        .where('tenant_id', '=', id)
        .where('sent_at', 'is', null)
        .orderBy('id')
        .limit(QUEUED_PER_TENANT)
        .execute()),
    )
  }
  const steps = await trx
    .selectFrom('campaign_sequence_steps as s')
    .innerJoin('campaigns as c', (j) =>
      j.onRef('c.tenant_id', '=', 's.tenant_id').onRef('c.id', '=', 's.campaign_id'),
    )
    .select(['s.tenant_id', 's.campaign_id', 's.company_id', 's.id', 's.step_number', 'c.status'])
    .orderBy('s.tenant_id')
    .orderBy('s.campaign_id')
    .orderBy('s.step_number')
    .execute()
  const stepsOf = new Map<string, typeof steps>()
  for (const s of steps) {
    const key = `${s.tenant_id}\u0000${s.campaign_id}`
    stepsOf.set(key, [...(stepsOf.get(key) ?? []), s])
  }
  const activeCampaigns = [...stepsOf.values()].filter((list) => list[0]?.status === 'active')
  const warmups = await trx
    .selectFrom('warmup_status as w')
    .innerJoin('email_accounts as m', (j) =>
      j.onRef('m.tenant_id', '=', 'w.tenant_id').onRef('m.id', '=', 'w.email_account_id'),
    )
    .select(['w.tenant_id', 'w.email_account_id', 'm.company_id'])
    .where('w.status', '=', 'active')
    .orderBy('w.tenant_id')
    .orderBy('w.email_account_id')
    .execute()
  const mailboxes = await trx
    .selectFrom('email_accounts')
    .select(['tenant_id', 'id', 'company_id'])
    .orderBy('tenant_id')
    .orderBy('id')
    .execute()
  const { max } = await trx
    .selectFrom('emails')
    .select(sql<string | null>`max(id)::text`.as('max'))
    .executeTakeFirstOrThrow()
  let nextId = Number(max ?? 0) + 1

  const changed = new Map<string, EmailRow>()
  const inserted: EmailRow[] = []
  const newLeads: {
    tenant_id: string
    id: string
    company_id: string
    email: string
    imported: Date
  }[] = []
  const at = () => new Date(now - r.int(0, 59_999))
  const after = (base: Date) => new Date(Math.max(at().getTime(), base.getTime() + 1000))
  const pickWhere = (rows: EmailRow[], test: (e: EmailRow) => boolean) => {
    const candidates = rows.filter(test)
    return candidates.length === 0 ? undefined : r.pick(candidates)
  }
  const update = (e: EmailRow) => changed.set(`${e.tenant_id}\u0000${e.id}`, e)
  const send = (e: Omit<EmailRow, 'id'>): EmailRow => {
    const row = { ...e, id: String(nextId++) }
    inserted.push(row)
    recent.push(row)
    return row
  }
  const sentEmail = (
    base: Pick<EmailRow, 'tenant_id' | 'company_id' | 'email_account_id'>,
    campaign: Pick<EmailRow, 'campaign_id' | 'sequence_step_id' | 'lead_id'> | null,
    status: string,
  ): Omit<EmailRow, 'id'> => ({
    ...base,
    is_warmup: campaign === null,
    campaign_id: campaign?.campaign_id ?? null,
    sequence_step_id: campaign?.sequence_step_id ?? null,
    lead_id: campaign?.lead_id ?? null,
    status,
    sent_at: at(),
    opened_at: null,
    clicked_at: null,
    replied_at: null,
    bounce_type: null,
    unsubscribed_at: null,
    complaint_at: null,
  })
  const hasStep = async (lead: string, tenant: string, campaign: string, step: string) => {
    const memory = [...recent, ...queued].some(
      (e) => e.tenant_id === tenant && e.lead_id === lead && e.sequence_step_id === step,
    )
    if (memory) return true
    const found = await trx
      .selectFrom('emails')
      .select('id')
      .where('tenant_id', '=', tenant)
      .where('lead_id', '=', lead)
      .where('campaign_id', '=', campaign)
      .where('sequence_step_id', '=', step)
      .limit(1)
      .execute()
    return found.length > 0
  }

  const apply = async (change: Change): Promise<boolean> => {
    switch (change) {
      case 'deliver':
      case 'bounce': {
        const e = pickWhere(recent, (x) => x.status === 'sent')
        if (!e) return false
        if (change === 'deliver') e.status = 'delivered'
        else {
          e.status = 'bounced'
          e.bounce_type = r.chance(0.6) ? 'hard' : 'soft'
        }
        update(e)
        return true
      }
      case 'open': {
        const e = pickWhere(recent, (x) => x.status === 'delivered' && x.opened_at === null)
        if (!e?.sent_at) return false
        e.opened_at = after(e.sent_at)
        update(e)
        return true
      }
      case 'click': {
        const e = pickWhere(
          recent,
          (x) => !x.is_warmup && x.opened_at !== null && x.clicked_at === null,
        )
        if (!e?.opened_at) return false
        e.clicked_at = after(e.opened_at)
        update(e)
        return true
      }
      case 'reply':
      case 'unsubscribe':
      case 'complaint': {
        const e = pickWhere(recent, (x) => x.status === 'delivered' && !stopped(x))
        if (!e?.sent_at) return false
        const when = after(e.opened_at ?? e.sent_at)
        if (change === 'reply') e.replied_at = when
        else if (change === 'unsubscribe') e.unsubscribed_at = when
        else e.complaint_at = when
        update(e)
        return true
      }
      case 'send-queued': {
        const e = pickWhere(
          queued,
          (x) =>
            x.sent_at === null &&
            stepsOf.get(`${x.tenant_id}\u0000${x.campaign_id}`)?.[0]?.status === 'active',
        )
        if (!e) return false
        e.sent_at = at()
        e.status = 'sent'
        update(e)
        return true
      }
      case 'follow-up': {
        const e = pickWhere(
          recent,
          (x) =>
            !x.is_warmup &&
            x.status === 'delivered' &&
            !stopped(x) &&
            stepsOf.get(`${x.tenant_id}\u0000${x.campaign_id}`)?.[0]?.status === 'active',
        )
        if (!e?.campaign_id || !e.lead_id) return false
        const list = stepsOf.get(`${e.tenant_id}\u0000${e.campaign_id}`) ?? []
        const current = list.findIndex((s) => s.id === e.sequence_step_id)
        const next = list[current + 1]
        if (!next || (await hasStep(e.lead_id, e.tenant_id, e.campaign_id, next.id))) return false
        send(
          sentEmail(
            e,
            { campaign_id: e.campaign_id, sequence_step_id: next.id, lead_id: e.lead_id },
            'sent',
          ),
        )
        return true
      }
      case 'new-lead': {
        if (activeCampaigns.length === 0) return false
        const list = r.pick(activeCampaigns)
        const first = list[0] as (typeof list)[number]
        const own = mailboxes.filter(
          (m) => m.tenant_id === first.tenant_id && m.company_id === first.company_id,
        )
        const used = recent.find(
          (x) => x.tenant_id === first.tenant_id && x.campaign_id === first.campaign_id,
        )
        const mailbox = used?.email_account_id ?? (own.length > 0 ? r.pick(own).id : undefined)
        if (!mailbox) return false
        const lead = `${first.tenant_id}-lx${nextId}`
        newLeads.push({
          tenant_id: first.tenant_id,
          id: lead,
          company_id: first.company_id,
          email: `new.lead.${nextId}@prospect.example`,
          imported: new Date(now - 120_000),
        })
        send(
          sentEmail(
            { tenant_id: first.tenant_id, company_id: first.company_id, email_account_id: mailbox },
            { campaign_id: first.campaign_id, sequence_step_id: first.id, lead_id: lead },
            'sent',
          ),
        )
        return true
      }
      case 'warmup': {
        if (warmups.length === 0) return false
        const w = r.pick(warmups)
        send(
          sentEmail(
            {
              tenant_id: w.tenant_id,
              company_id: w.company_id,
              email_account_id: w.email_account_id,
            },
            null,
            'delivered',
          ),
        )
        return true
      }
    }
  }

  for (let i = 0; i < count; i++) {
    const change = pickChange(r)
    // when nothing fits (no recent email to open, no active campaign…), warm a mailbox up instead
    if (!(await apply(change)) && !(await apply('warmup'))) await apply('new-lead')
  }

  if (newLeads.length > 0) await trx.insertInto('leads').values(newLeads).execute()
  const fresh = new Set(inserted)
  if (inserted.length > 0) {
    await trx
      .insertInto('emails')
      .values(inserted.map((e) => ({ ...e, updated_at: nowDate })))
      .execute()
  }
  let updated = 0
  for (const e of changed.values()) {
    if (fresh.has(e)) continue
    await trx
      .updateTable('emails')
      .set({
        status: e.status,
        sent_at: e.sent_at,
        opened_at: e.opened_at,
        clicked_at: e.clicked_at,
        replied_at: e.replied_at,
        bounce_type: e.bounce_type,
        unsubscribed_at: e.unsubscribed_at,
        complaint_at: e.complaint_at,
        updated_at: nowDate,
      })
      .where('tenant_id', '=', e.tenant_id)
      .where('id', '=', e.id)
      .execute()
    updated++
  }
  return { inserted: inserted.length, updated, leads: newLeads.length }
}
