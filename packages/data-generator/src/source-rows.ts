import { DAY_MS } from './calendar.js'
import { campaignEmails } from './campaign-emails.js'
import type { Outcome } from './email-outcome.js'
import { leadAddress } from './names.js'
import type { SourceTable } from './options.js'
import { STREAM, seededRandom } from './random.js'
import { instant, type Row } from './source-tables.js'
import { warmupEmails } from './warmup-emails.js'
import type { TenantPlan, World } from './world.js'

// The world's rows, table by table, as column text. Leads and emails are generated lazily: a
// million of them never sit in memory at once.

const iso = instant

export function structureRows(
  world: World,
): Record<Exclude<SourceTable, 'leads' | 'emails'>, Row[]> {
  const out = {
    tenants: [] as Row[],
    subscriptions: [] as Row[],
    companies: [] as Row[],
    domains: [] as Row[],
    email_accounts: [] as Row[],
    warmup_status: [] as Row[],
    campaigns: [] as Row[],
    campaign_sequence_steps: [] as Row[],
  }
  for (const t of world.tenants) {
    out.tenants.push([t.id, t.name, t.timeZone, iso(t.createdAt)])
    for (const s of t.subscriptions) {
      out.subscriptions.push([t.id, s.id, s.plan, s.status, iso(s.startedAt), iso(s.endedAt)])
    }
    for (const c of t.companies) {
      out.companies.push([t.id, c.id, c.name, iso(c.createdAt)])
      for (const d of c.domains) out.domains.push([t.id, d.id, c.id, d.name, iso(d.createdAt)])
      for (const m of c.mailboxes) {
        out.email_accounts.push([t.id, m.id, c.id, m.domainId, m.address, iso(m.createdAt)])
        const w = m.warmup
        if (w) {
          out.warmup_status.push([t.id, w.id, m.id, w.status, iso(w.startedAt), String(w.rampDays)])
        }
      }
      for (const k of c.campaigns) {
        out.campaigns.push([
          t.id,
          k.id,
          c.id,
          k.name,
          k.status,
          iso(k.createdAt),
          iso(k.startedAt),
          iso(k.completedAt),
        ])
        for (const s of k.steps) {
          out.campaign_sequence_steps.push([t.id, s.id, c.id, k.id, String(s.number)])
        }
      }
    }
  }
  return out
}

// zero-padded: the primary key's index then grows at its right end only, as leads are written
export const leadId = (tenant: TenantPlan, n: number) =>
  `${tenant.id}-l${String(n).padStart(tenant.leadDigits, '0')}`

/** Every company's pool of leads, imported some days before the window. */
export function* leadRows(world: World): Generator<Row> {
  for (const t of world.tenants) {
    for (const c of t.companies) {
      const r = seededRandom(world.options.seed, STREAM.leads, t.index, c.index)
      for (let i = 1; i <= c.leadPool; i++) {
        const n = c.leadBase + i
        const imported = t.calendar.midnight(-r.int(1, 45)) + Math.floor(r.next() * DAY_MS)
        yield [t.id, leadId(t, n), c.id, leadAddress(n + t.index * 1_000_003), iso(imported)]
      }
    }
  }
}

function outcomeColumns(row: Row, o: Outcome): Row {
  row.push(
    o.status,
    iso(o.sentAt),
    iso(o.openedAt),
    iso(o.clickedAt),
    iso(o.repliedAt),
    o.bounceType,
    iso(o.unsubscribedAt),
    iso(o.complaintAt),
    iso(o.updatedAt),
  )
  return row
}

/**
 * Every email: each tenant's campaign emails (campaign by campaign, lead by lead, step by step),
 * then its warmup emails (mailbox by mailbox, in time order). Ids count up from `firstId`.
 */
export function* emailRows(world: World, firstId = 1): Generator<Row> {
  const { seed, end } = world.options
  let id = firstId
  for (const t of world.tenants) {
    for (const c of t.companies) {
      for (const k of c.campaigns) {
        for (const e of campaignEmails(seed, t, k, end)) {
          const n = c.leadBase + ((k.leadOffset + e.leadOrdinal) % c.leadPool) + 1
          yield outcomeColumns(
            [t.id, String(id++), c.id, e.mailbox.id, 'f', k.id, e.step.id, leadId(t, n)],
            e,
          )
        }
      }
    }
    for (const c of t.companies) {
      for (const m of c.mailboxes) {
        for (const o of warmupEmails(seed, t, m, end)) {
          yield outcomeColumns([t.id, String(id++), c.id, m.id, 't', null, null, null], o)
        }
      }
    }
  }
}
