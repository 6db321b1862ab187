import { HOUR_MS, type TenantCalendar } from './calendar.js'
import { emptyOutcome, type Outcome, sampleCampaignOutcome } from './email-outcome.js'
import { type Random, STREAM, seededRandom } from './random.js'
import type { CampaignPlan, MailboxPlan, StepPlan, TenantPlan } from './world.js'

/** One campaign email as the simulation yields it (a reused object). */
export interface CampaignEmail extends Outcome {
  step: StepPlan
  mailbox: MailboxPlan
  /** which of the campaign's leads: 0, 1, 2… in the order it reached them */
  leadOrdinal: number
}

const BUSINESS_DAY_MS = 10 * HOUR_MS

/** Some time between 08:00 and 18:00 on the clock of the tenant's local day (ms precision). */
function businessTime(r: Random, cal: TenantCalendar, day: number): number {
  return cal.wallClock(day, 8 * HOUR_MS + Math.floor(r.next() * BUSINESS_DAY_MS))
}

function nextWorkday(cal: TenantCalendar, day: number, limit: number): number {
  let d = day
  while (cal.isWeekend(d) && d < limit) d++
  return cal.isWeekend(d) ? day : d
}

/** Emails a lead is expected to get: each step reached unless a bounce, reply… stopped it. */
function expectedEmailsPerLead(campaign: CampaignPlan): number {
  const { rates } = campaign
  const keepGoing = 1 - rates.bounce - 0.96 * (rates.reply + rates.unsubscribe + rates.complaint)
  let sum = 0
  for (let k = 0; k < campaign.steps.length; k++) sum += keepGoing ** k
  return sum
}

/**
 * The campaign's emails, lead after lead: each lead gets step 1 on a workday of the campaign's
 * sending window and the next steps their gap later, until a bounce, reply, unsubscribe or
 * complaint stops the sequence before the next step is due, or the campaign stops (end of the
 * window, pause, completion): then the due step stays queued (active and paused campaigns) or is
 * never written (completed ones). Stops after exactly `campaign.emails` emails; returns how many
 * leads it reached.
 */
export function* campaignEmails(
  seed: number,
  tenant: TenantPlan,
  campaign: CampaignPlan,
  end: number,
): Generator<CampaignEmail, number> {
  const r = seededRandom(seed, STREAM.campaign, tenant.index, campaign.index)
  const cal = tenant.calendar
  const { steps, stopAt, rates } = campaign
  let remaining = campaign.emails
  if (remaining === 0) return 0
  // leads are spread evenly over the days a first step may go out; more than estimated wrap around
  const estimated = Math.max(1, Math.round(remaining / expectedEmailsPerLead(campaign)))
  const span = campaign.lastFirstSendDay - campaign.startDay + 1
  const firstStepLimit = campaign.status === 'completed' ? campaign.lastFirstSendDay : cal.days + 60
  const email = { ...emptyOutcome(), leadOrdinal: 0 } as CampaignEmail
  let lead = 0
  for (; remaining > 0; lead++) {
    const slot = lead % estimated
    let day = campaign.startDay + Math.floor((slot * span) / estimated)
    if (r.chance(0.85)) day = nextWorkday(cal, day, firstStepLimit)
    const mailbox = campaign.mailboxes[lead % campaign.mailboxes.length] as MailboxPlan
    let at = businessTime(r, cal, day)
    let previousSend = Number.NaN
    for (let k = 0; k < steps.length && remaining > 0; k++) {
      const step = steps[k] as StepPlan
      email.step = step
      email.mailbox = mailbox
      email.leadOrdinal = lead
      if (at >= stopAt) {
        if (!campaign.queuesUnsent) break
        sampleQueued(email, Number.isNaN(previousSend) ? campaign.startedAt : previousSend)
        remaining--
        yield email
        break
      }
      sampleCampaignOutcome(r, rates, at, end, email)
      remaining--
      previousSend = at
      const stoppedBy = Math.min(
        email.status === 'bounced' ? at : Number.POSITIVE_INFINITY,
        Number.isNaN(email.repliedAt) ? Number.POSITIVE_INFINITY : email.repliedAt,
        Number.isNaN(email.unsubscribedAt) ? Number.POSITIVE_INFINITY : email.unsubscribedAt,
        Number.isNaN(email.complaintAt) ? Number.POSITIVE_INFINITY : email.complaintAt,
      )
      yield email
      const next = steps[k + 1]
      if (!next) break
      day = nextWorkday(cal, day + next.gapDays, Number.POSITIVE_INFINITY)
      at = businessTime(r, cal, day)
      if (stoppedBy < at) break
    }
  }
  return lead
}

function sampleQueued(email: CampaignEmail, queuedAt: number): void {
  email.status = 'queued'
  email.sentAt = Number.NaN
  email.openedAt = Number.NaN
  email.clickedAt = Number.NaN
  email.repliedAt = Number.NaN
  email.bounceType = null
  email.unsubscribedAt = Number.NaN
  email.complaintAt = Number.NaN
  email.updatedAt = queuedAt
}

/** How many leads the campaign reaches: its emails drawn but not formatted. */
export function campaignLeadsUsed(
  seed: number,
  tenant: TenantPlan,
  campaign: CampaignPlan,
  end: number,
): number {
  const run = campaignEmails(seed, tenant, campaign, end)
  for (;;) {
    const next = run.next()
    if (next.done) return next.value
  }
}
