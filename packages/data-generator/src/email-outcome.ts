import { HOUR_MS } from './calendar.js'
import type { Random } from './random.js'

export type EmailStatus = 'queued' | 'sent' | 'delivered' | 'bounced' | 'failed'

/** Per-campaign probabilities; open, click, reply, unsubscribe and complaint are of delivered emails. */
export interface Rates {
  failed: number
  bounce: number
  open: number
  click: number
  reply: number
  unsubscribe: number
  complaint: number
}

/** What happened to one email; instants in ms since the epoch, NaN for NULL. */
export interface Outcome {
  status: EmailStatus
  sentAt: number
  openedAt: number
  clickedAt: number
  repliedAt: number
  bounceType: string | null
  unsubscribedAt: number
  complaintAt: number
  updatedAt: number
}

export function emptyOutcome(): Outcome {
  const o = {} as Outcome
  resetOutcome(o)
  return o
}

// Delivery receipts of the last hours may not have arrived yet: those emails stay 'sent'.
const RECEIPT_WINDOW_MS = 3 * HOUR_MS

/** An event `delay` ms after `from`, or NULL when it would happen at or after the end (not yet). */
function later(from: number, delay: number, end: number): number {
  const at = from + 1000 + Math.floor(delay)
  return at < end ? at : Number.NaN
}

/** Clears `o` to a queued email with no events (reused: a million emails allocate nothing). */
export function resetOutcome(o: Outcome): void {
  o.status = 'queued'
  o.sentAt = Number.NaN
  o.openedAt = Number.NaN
  o.clickedAt = Number.NaN
  o.repliedAt = Number.NaN
  o.bounceType = null
  o.unsubscribedAt = Number.NaN
  o.complaintAt = Number.NaN
  o.updatedAt = Number.NaN
}

// updated_at is the last change the platform made to the row: the send or the latest event
function finish(o: Outcome): void {
  let last = o.sentAt
  if (o.openedAt > last) last = o.openedAt
  if (o.clickedAt > last) last = o.clickedAt
  if (o.repliedAt > last) last = o.repliedAt
  if (o.unsubscribedAt > last) last = o.unsubscribedAt
  if (o.complaintAt > last) last = o.complaintAt
  o.updatedAt = last
}

/** A campaign email sent at `sentAt`: its status and the events that reached us before `end`. */
export function sampleCampaignOutcome(
  r: Random,
  rates: Rates,
  sentAt: number,
  end: number,
  o: Outcome,
): void {
  resetOutcome(o)
  o.sentAt = sentAt
  const u = r.next()
  if (u < rates.failed) o.status = 'failed'
  else if (u < rates.failed + rates.bounce) {
    o.status = 'bounced'
    o.bounceType = r.chance(0.65) ? 'hard' : 'soft'
  } else if ((end - sentAt < RECEIPT_WINDOW_MS && r.chance(0.6)) || r.chance(0.005)) {
    o.status = 'sent'
  } else {
    o.status = 'delivered'
    if (r.chance(rates.open)) {
      o.openedAt = later(sentAt, r.exponential(5 * HOUR_MS), end)
      if (!Number.isNaN(o.openedAt) && r.chance(rates.click / rates.open)) {
        o.clickedAt = later(o.openedAt, r.exponential(600_000), end)
      }
      // most replies come from people whose opens were tracked
      if (r.chance((0.85 * rates.reply) / rates.open)) {
        o.repliedAt = later(
          Number.isNaN(o.openedAt) ? sentAt : o.openedAt,
          r.exponential(14 * HOUR_MS),
          end,
        )
      }
    } else if (r.chance((0.15 * rates.reply) / (1 - rates.open))) {
      o.repliedAt = later(sentAt, r.exponential(20 * HOUR_MS), end)
    }
    if (r.chance(rates.unsubscribe))
      o.unsubscribedAt = later(sentAt, r.exponential(8 * HOUR_MS), end)
    if (r.chance(rates.complaint)) o.complaintAt = later(sentAt, r.exponential(20 * HOUR_MS), end)
  }
  finish(o)
}

/** A warmup email: the warmup network delivers, opens and answers most of them. */
export function sampleWarmupOutcome(r: Random, sentAt: number, end: number, o: Outcome): void {
  resetOutcome(o)
  o.sentAt = sentAt
  const u = r.next()
  if (u < 0.002) o.status = 'failed'
  else if (u < 0.008) {
    o.status = 'bounced'
    o.bounceType = 'soft'
  } else if (end - sentAt < RECEIPT_WINDOW_MS && r.chance(0.5)) {
    o.status = 'sent'
  } else {
    o.status = 'delivered'
    if (r.chance(0.8)) {
      o.openedAt = later(sentAt, r.exponential(2 * HOUR_MS), end)
      if (!Number.isNaN(o.openedAt)) {
        if (r.chance(0.03)) o.clickedAt = later(o.openedAt, r.exponential(300_000), end)
        if (r.chance(0.35)) o.repliedAt = later(o.openedAt, r.exponential(3 * HOUR_MS), end)
      }
    }
  }
  finish(o)
}
