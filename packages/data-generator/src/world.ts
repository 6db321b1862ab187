import { DAY_MS, HOUR_MS, TenantCalendar } from './calendar.js'
import { campaignLeadsUsed } from './campaign-emails.js'
import type { Rates } from './email-outcome.js'
import {
  campaignName,
  companyName,
  domainName,
  mailboxAddress,
  TIME_ZONES,
  tenantName,
} from './names.js'
import type { ResolvedOptions } from './options.js'
import { apportion, type Random, STREAM, seededRandom } from './random.js'
import { warmupWeight } from './warmup-emails.js'

// The world: every tenant, company, domain, mailbox, warmup, campaign and step, and how many emails
// and leads each campaign and warmup gets. Small (thousands of objects at most); the leads and
// emails themselves are streamed from it.

export type CampaignStatus = 'draft' | 'active' | 'paused' | 'completed'
export type WarmupState = 'active' | 'paused' | 'completed'

export interface SubscriptionPlan {
  id: string
  plan: string
  status: string
  startedAt: number
  endedAt: number
}

export interface WarmupPlan {
  id: string
  status: WarmupState
  startedAt: number
  /** window day of started_at */
  startDay: number
  rampDays: number
  /** no warmup email after this window day; null when it never paused */
  pausedDay: number | null
}

export interface MailboxPlan {
  /** within its tenant */
  index: number
  id: string
  domainId: string
  address: string
  createdAt: number
  /** false: a new mailbox still warming up, which no campaign uses yet */
  campaignReady: boolean
  warmup: WarmupPlan | null
  /** warmup emails it sends in the window */
  warmupEmails: number
}

export interface StepPlan {
  id: string
  number: number
  /** days after the previous step (0 for the first) */
  gapDays: number
}

export interface CampaignPlan {
  /** within its tenant */
  index: number
  id: string
  name: string
  status: CampaignStatus
  createdAt: number
  startedAt: number
  completedAt: number
  /** window day of the first sends */
  startDay: number
  /** the last window day a lead may get its first email */
  lastFirstSendDay: number
  /** nothing is sent at or after this instant (the end, the pause, the completion) */
  stopAt: number
  /** whether steps due at or after stopAt stay queued (active and paused campaigns) */
  queuesUnsent: boolean
  steps: StepPlan[]
  mailboxes: MailboxPlan[]
  rates: Rates
  /** emails it writes, queued ones included */
  emails: number
  /** distinct leads it writes to */
  leadsUsed: number
  /** where its leads start in its company's pool */
  leadOffset: number
}

export interface CompanyPlan {
  index: number
  id: string
  name: string
  createdAt: number
  domains: { id: string; name: string; createdAt: number }[]
  mailboxes: MailboxPlan[]
  campaigns: CampaignPlan[]
  /** its leads are numbers leadBase + 1 … leadBase + leadPool of its tenant */
  leadBase: number
  leadPool: number
}

export interface TenantPlan {
  index: number
  id: string
  name: string
  timeZone: string
  createdAt: number
  calendar: TenantCalendar
  companies: CompanyPlan[]
  subscriptions: SubscriptionPlan[]
  /** digits of its lead numbers, zero-padded so that ids sort in the order they are written */
  leadDigits: number
}

export interface World {
  options: ResolvedOptions
  tenants: TenantPlan[]
  campaignEmails: number
  warmupEmails: number
  leads: number
}

/** Share of the emails that are warmup emails, when there are both campaigns and warmups. */
const WARMUP_SHARE = 0.2

const minutes = (r: Random, fromHour: number, toHour: number) =>
  r.int(fromHour * 60, toHour * 60 - 1) * 60_000

function weighted<T>(r: Random, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((a, [, w]) => a + w, 0)
  let u = r.next() * total
  for (const [item, w] of items) {
    u -= w
    if (u < 0) return item
  }
  return (items.at(-1) as readonly [T, number])[0]
}

export function buildWorld(options: ResolvedOptions): World {
  const r = seededRandom(options.seed, STREAM.world)
  const { days, end } = options
  const last = days - 1
  const width = Math.max(2, String(options.tenants).length)

  const tenants: TenantPlan[] = []
  for (let i = 0; i < options.tenants; i++) {
    const timeZone = TIME_ZONES[i % TIME_ZONES.length] as string
    const calendar = new TenantCalendar(timeZone, end, days)
    tenants.push({
      index: i,
      id: `t${String(i + 1).padStart(width, '0')}`,
      name: tenantName(i),
      timeZone,
      createdAt: calendar.midnight(-r.int(120, 400)) + minutes(r, 8, 18),
      calendar,
      companies: [],
      subscriptions: [],
      leadDigits: 1,
    })
  }

  // 1–3 companies a tenant, but never more companies than mailboxes: each needs one
  const companyCounts = tenants.map(() => r.int(1, 3))
  let companyTotal = companyCounts.reduce((a, b) => a + b, 0)
  while (companyTotal > options.mailboxes) {
    const at = companyCounts.findIndex((n) => n > 1)
    companyCounts[at] = (companyCounts[at] as number) - 1
    companyTotal--
  }
  const mailboxWeights = Array.from({ length: companyTotal }, () => r.between(0.5, 1.5))
  const mailboxCounts = apportion(options.mailboxes - companyTotal, mailboxWeights).map(
    (n) => n + 1,
  )

  let companySeq = 0
  for (const tenant of tenants) {
    const cal = tenant.calendar
    let domainSeq = 0
    let mailboxSeq = 0
    for (let k = 0; k < (companyCounts[tenant.index] as number); k++) {
      const count = mailboxCounts[companySeq++] as number
      const createdAt = tenant.createdAt + r.int(0, 20) * DAY_MS
      const company: CompanyPlan = {
        index: k,
        id: `${tenant.id}-c${k + 1}`,
        name: companyName(tenant.index, k),
        createdAt,
        domains: [],
        mailboxes: [],
        campaigns: [],
        leadBase: 0,
        leadPool: 0,
      }
      const domainCount = Math.min(r.int(1, 3), count)
      for (let d = 0; d < domainCount; d++) {
        company.domains.push({
          id: `${tenant.id}-d${++domainSeq}`,
          name: domainName(tenant.index, k, d),
          createdAt: createdAt + r.int(0, 10) * DAY_MS,
        })
      }
      for (let j = 0; j < count; j++) {
        const domain = company.domains[j % domainCount] as CompanyPlan['domains'][number]
        const index = ++mailboxSeq
        // the first mailbox of a company always sends campaigns; some others are brand new
        const campaignReady = j === 0 || !r.chance(0.15)
        let warmup: WarmupPlan | null = null
        const makeWarmup = (
          status: WarmupState,
          startDay: number,
          rampDays: number,
          pausedDay: number | null,
        ): WarmupPlan => ({
          id: `${tenant.id}-w${index}`,
          status,
          startDay,
          rampDays,
          pausedDay,
          startedAt: Math.min(cal.wallClock(startDay, minutes(r, 6, 12)), end - 60_000),
        })
        if (!campaignReady) {
          const from = Math.floor(0.3 * last)
          warmup = makeWarmup('active', r.int(from, Math.max(from, last - 2)), r.int(20, 40), null)
        } else if (r.chance(0.75)) {
          const status = weighted<WarmupState>(r, [
            ['completed', 0.55],
            ['active', 0.3],
            ['paused', 0.15],
          ])
          if (status === 'completed') {
            const ramp = r.int(14, 30)
            warmup = makeWarmup(status, -ramp - r.int(0, 40), ramp, null)
          } else if (status === 'active') {
            warmup = makeWarmup(status, -r.int(0, 20), r.int(21, 45), null)
          } else {
            const startDay = -r.int(0, 30)
            warmup = makeWarmup(status, startDay, r.int(14, 30), startDay + r.int(5, 30))
          }
        }
        const mailbox: MailboxPlan = {
          index,
          id: `${tenant.id}-m${index}`,
          domainId: domain.id,
          address: mailboxAddress(Math.floor(j / domainCount), domain.name),
          // after its domain, before its warmup and its first send
          createdAt: Math.max(
            domain.createdAt + HOUR_MS,
            warmup
              ? warmup.startedAt - r.int(1, 5) * DAY_MS
              : cal.midnight(-r.int(10, 120)) + minutes(r, 8, 18),
          ),
          campaignReady,
          warmup,
          warmupEmails: 0,
        }
        company.mailboxes.push(mailbox)
      }
      tenant.companies.push(company)
    }
    // a subscription starts once the tenant exists
    tenant.subscriptions = subscriptionsOf(r, tenant, options.tenants).map((sub) => ({
      ...sub,
      startedAt: Math.max(sub.startedAt, tenant.createdAt),
    }))
  }

  // campaigns go to companies in proportion to their mailboxes
  const companies = tenants.flatMap((t) => t.companies.map((c) => ({ tenant: t, company: c })))
  const campaignsByTenant = new Map<TenantPlan, number>()
  const budgetWeights: number[] = []
  const allCampaigns: { tenant: TenantPlan; campaign: CampaignPlan }[] = []
  for (let g = 0; g < options.campaigns; g++) {
    const { tenant, company } = weighted(
      r,
      companies.map((x) => [x, x.company.mailboxes.length] as const),
    )
    const index = (campaignsByTenant.get(tenant) ?? 0) + 1
    campaignsByTenant.set(tenant, index)
    const campaign = planCampaign(r, tenant, company, index, g, options)
    company.campaigns.push(campaign)
    allCampaigns.push({ tenant, campaign })
    const factor = { draft: 0, active: 1.3, completed: 1, paused: 0.6 }[campaign.status]
    budgetWeights.push(r.between(0.3, 1.7) * factor)
  }

  // how many emails are warmup emails, and which mailbox sends how many
  const mailboxes = tenants.flatMap((t) =>
    t.companies.flatMap((c) => c.mailboxes.map((m) => ({ tenant: t, mailbox: m }))),
  )
  const warmupWeights = mailboxes.map(({ tenant, mailbox }) =>
    warmupWeight(mailbox, tenant.calendar, end),
  )
  const canWarmup = warmupWeights.some((w) => w > 0)
  const canCampaign = budgetWeights.some((w) => w > 0)
  if (options.emails > 0 && !canWarmup && !canCampaign) {
    throw new Error(
      `nothing can send the ${options.emails} emails: no campaign is past draft and no warmup sends in the window; add campaigns (--campaigns) or mailboxes (--mailboxes)`,
    )
  }
  const warmupEmails = !canWarmup
    ? 0
    : canCampaign
      ? Math.round(options.emails * WARMUP_SHARE)
      : options.emails
  apportion(warmupEmails, warmupWeights).forEach((n, i) => {
    ;(mailboxes[i] as (typeof mailboxes)[number]).mailbox.warmupEmails = n
  })
  const campaignEmails = options.emails - warmupEmails
  apportion(campaignEmails, budgetWeights).forEach((n, i) => {
    const { tenant, campaign } = allCampaigns[i] as (typeof allCampaigns)[number]
    campaign.emails = n
    // a dry run of its emails (draws only, nothing formatted) tells how many leads it reaches
    campaign.leadsUsed = campaignLeadsUsed(options.seed, tenant, campaign, end)
  })

  const leads = assignLeads(tenants, options.leads)
  return { options, tenants, campaignEmails, warmupEmails, leads }
}

const FIRST_STATUSES: readonly CampaignStatus[] = ['active', 'completed', 'paused', 'draft']

function planCampaign(
  r: Random,
  tenant: TenantPlan,
  company: CompanyPlan,
  index: number,
  ordinal: number,
  options: ResolvedOptions,
): CampaignPlan {
  const cal = tenant.calendar
  const { days, end } = options
  const last = days - 1
  // the first four campaigns have one status each, so that every status is there
  const drawn = weighted<CampaignStatus>(r, [
    ['draft', 0.1],
    ['active', 0.4],
    ['completed', 0.35],
    ['paused', 0.15],
  ])
  let status = ordinal < FIRST_STATUSES.length ? (FIRST_STATUSES[ordinal] as CampaignStatus) : drawn
  // a completed campaign ends a day before the window's last; too short a window has none
  if (status === 'completed' && days < 4) status = 'active'
  const stepCount = r.int(1, 5)
  const steps: StepPlan[] = []
  for (let s = 1; s <= stepCount; s++) {
    steps.push({
      id: `${tenant.id}-k${index}-s${s}`,
      number: s,
      gapDays: s === 1 ? 0 : r.int(2, 5),
    })
  }
  const totalGap = steps.reduce((a, s) => a + s.gapDays, 0)
  const ready = company.mailboxes.filter((m) => m.campaignReady)
  const using = r.int(1, Math.min(4, ready.length))
  const first = r.int(0, ready.length - 1)
  const mailboxes = Array.from(
    { length: using },
    (_, x) => ready[(first + x) % ready.length] as MailboxPlan,
  )
  const rates: Rates = {
    failed: 0.005,
    bounce: r.between(0.02, 0.04),
    open: r.between(0.4, 0.6),
    click: r.between(0.05, 0.1),
    reply: r.between(0.02, 0.08),
    unsubscribe: r.between(0.003, 0.007),
    complaint: r.between(0.0005, 0.001),
  }
  let startDay = 0
  let lastFirstSendDay = last
  let stopAt = end
  let completedAt = Number.NaN
  if (status === 'active') {
    startDay = r.int(0, Math.floor(0.7 * last))
  } else if (status === 'paused') {
    startDay = r.int(0, Math.floor(0.5 * last))
    lastFirstSendDay = r.int(startDay, last)
    stopAt = Math.min(end, cal.wallClock(lastFirstSendDay, minutes(r, 9, 17)))
  } else if (status === 'completed') {
    startDay = r.int(0, Math.floor(0.6 * (days - 2)))
    const stopDay = Math.min(days - 2, startDay + r.int(Math.max(totalGap + 3, 10), 45))
    lastFirstSendDay = Math.max(startDay, stopDay - totalGap)
    completedAt = cal.wallClock(stopDay, 20 * HOUR_MS)
    stopAt = completedAt
  } else {
    startDay = r.int(0, last)
  }
  const startedAt =
    status === 'draft' ? Number.NaN : Math.min(cal.wallClock(startDay, 7 * HOUR_MS), end - 60_000)
  const createdAt =
    (status === 'draft'
      ? Math.min(cal.wallClock(startDay, 10 * HOUR_MS), end - 60_000)
      : startedAt) -
    r.int(1, 14) * DAY_MS
  return {
    index,
    id: `${tenant.id}-k${index}`,
    name: campaignName(index - 1, tenant.index),
    status,
    createdAt,
    startedAt,
    completedAt,
    startDay,
    lastFirstSendDay,
    stopAt,
    queuesUnsent: status === 'active' || status === 'paused',
    steps,
    mailboxes,
    rates,
    emails: 0,
    leadsUsed: 0,
    leadOffset: 0,
  }
}

const PLANS = ['starter', 'growth', 'pro', 'enterprise']

/**
 * Most tenants have one subscription, some a cancelled one before it; the second tenant upgraded
 * with a few days of overlap; the last (of three or more) has none.
 */
function subscriptionsOf(r: Random, tenant: TenantPlan, tenants: number): SubscriptionPlan[] {
  const cal = tenant.calendar
  const mid = Math.floor(cal.days / 2)
  const id = (n: number) => `${tenant.id}-sub${n}`
  if (tenants >= 3 && tenant.index === tenants - 1) return []
  if (tenant.index === 1) {
    const endedAt = cal.midnight(mid) + 12 * HOUR_MS
    return [
      {
        id: id(1),
        plan: 'starter',
        status: 'cancelled',
        startedAt: cal.midnight(-r.int(90, 300)),
        endedAt,
      },
      {
        id: id(2),
        plan: 'pro',
        status: 'active',
        startedAt: endedAt - r.int(2, 5) * DAY_MS,
        endedAt: Number.NaN,
      },
    ]
  }
  if (r.chance(0.3)) {
    const switchedAt = cal.midnight(-r.int(20, 60))
    return [
      {
        id: id(1),
        plan: 'starter',
        status: 'cancelled',
        startedAt: cal.midnight(-r.int(200, 400)),
        endedAt: switchedAt,
      },
      {
        id: id(2),
        plan: r.pick(PLANS),
        status: 'active',
        startedAt: switchedAt,
        endedAt: Number.NaN,
      },
    ]
  }
  return [
    {
      id: id(1),
      plan: r.pick(PLANS),
      status: r.chance(0.1) ? 'past_due' : 'active',
      startedAt: cal.midnight(-r.int(30, 400)),
      endedAt: Number.NaN,
    },
  ]
}

/**
 * Gives each company a pool of leads and each campaign a range of it: consecutive campaigns of a
 * company share some leads. With a fixed number of leads, pools get it in proportion to what
 * their campaigns need; a campaign never writes to the same lead twice.
 */
function assignLeads(tenants: TenantPlan[], fixed: number | undefined): number {
  const companies = tenants.flatMap((t) => t.companies.map((c) => ({ tenant: t, company: c })))
  const needs = companies.map(({ company }) =>
    company.campaigns.reduce((a, c) => a + c.leadsUsed, 0),
  )
  const minimums = companies.map(({ company }) =>
    company.campaigns.reduce((a, c) => Math.max(a, c.leadsUsed), 0),
  )
  let pools: number[]
  if (fixed === undefined) {
    pools = needs.map((n, i) => Math.max(minimums[i] as number, Math.ceil(n * 0.9)))
  } else {
    const required = minimums.reduce((a, b) => a + b, 0)
    if (fixed < required) {
      const worst = companies
        .flatMap(({ company }) => company.campaigns)
        .reduce((a, c) => (c.leadsUsed > a.leadsUsed ? c : a))
      throw new Error(
        `leads (${fixed}) is fewer than the ${required} the campaigns need (campaign ${worst.id} alone writes to ${worst.leadsUsed} leads): raise leads, lower emails, or leave leads unset`,
      )
    }
    const extra = apportion(
      fixed - required,
      needs.every((n) => n === 0) ? needs.map(() => 1) : needs,
    )
    pools = minimums.map((m, i) => m + (extra[i] as number))
  }
  const bases = new Map<TenantPlan, number>()
  companies.forEach(({ tenant, company }, i) => {
    const pool = pools[i] as number
    company.leadPool = pool
    company.leadBase = bases.get(tenant) ?? 0
    bases.set(tenant, company.leadBase + pool)
    tenant.leadDigits = String(company.leadBase + pool).length
    let offset = 0
    for (const campaign of company.campaigns) {
      campaign.leadOffset = pool === 0 ? 0 : offset % pool
      offset += campaign.leadsUsed
    }
  })
  return pools.reduce((a, b) => a + b, 0)
}
