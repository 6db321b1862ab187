import { type AliasedRawBuilder, type RawBuilder, sql } from 'kysely'
import { toCount, toDecimal } from './numeric-values.js'

/** The eight counts of the contract (§2), as the analytics tables name them. */
export const COUNT_COLUMNS = [
  'sent',
  'delivered',
  'opened_tracked',
  'clicked_tracked',
  'replied',
  'bounced',
  'unsubscribed',
  'spam_complaints',
] as const

export type CountColumn = (typeof COUNT_COLUMNS)[number]

export type EmailCounts = Record<CountColumn, number>

/** Percentages with two decimals; null when the denominator is zero. */
export interface EmailRates {
  /** delivered / sent */
  delivery_rate: number | null
  /** opened_tracked / delivered */
  open_rate: number | null
  /** clicked_tracked / delivered */
  click_rate: number | null
  /** replied / delivered */
  reply_rate: number | null
  /** bounced / sent */
  bounce_rate: number | null
}

export const RATE_COLUMNS = [
  'delivery_rate',
  'open_rate',
  'click_rate',
  'reply_rate',
  'bounce_rate',
] as const

export type RawCounts = Record<CountColumn, string | number>
export type RawRates = Record<keyof EmailRates, string | null>

/** round(100·numerator / denominator, 2), NULL when the denominator is 0: the contract's rate. */
export function percentage(numerator: RawBuilder<unknown>, denominator: RawBuilder<unknown>) {
  return sql<string | null>`round(100.0 * ${numerator} / nullif(${denominator}, 0), 2)`
}

/** `sum(alias.c)` for every count, zero when there are no rows. */
export function summedCounts(alias: string): AliasedRawBuilder<string, CountColumn>[] {
  return COUNT_COLUMNS.map((c) => sql<string>`coalesce(sum(${sql.ref(`${alias}.${c}`)}), 0)`.as(c))
}

/** Each count of one row of `alias`, zero when an outer join found no row. */
export function rowCounts(alias: string): AliasedRawBuilder<number, CountColumn>[] {
  return COUNT_COLUMNS.map((c) => sql<number>`coalesce(${sql.ref(`${alias}.${c}`)}, 0)`.as(c))
}

/** The five rates over count expressions (sums, or plain columns of one row). */
export function rateColumns(
  count: (column: CountColumn) => RawBuilder<unknown>,
): AliasedRawBuilder<string | null, keyof EmailRates>[] {
  return [
    percentage(count('delivered'), count('sent')).as('delivery_rate'),
    percentage(count('opened_tracked'), count('delivered')).as('open_rate'),
    percentage(count('clicked_tracked'), count('delivered')).as('click_rate'),
    percentage(count('replied'), count('delivered')).as('reply_rate'),
    percentage(count('bounced'), count('sent')).as('bounce_rate'),
  ]
}

/** Rates over `sum(alias.c)`. */
export function summedRates(alias: string): AliasedRawBuilder<string | null, keyof EmailRates>[] {
  return rateColumns((c) => sql`sum(${sql.ref(`${alias}.${c}`)})`)
}

export function toCounts(raw: RawCounts): EmailCounts {
  return {
    sent: toCount(raw.sent),
    delivered: toCount(raw.delivered),
    opened_tracked: toCount(raw.opened_tracked),
    clicked_tracked: toCount(raw.clicked_tracked),
    replied: toCount(raw.replied),
    bounced: toCount(raw.bounced),
    unsubscribed: toCount(raw.unsubscribed),
    spam_complaints: toCount(raw.spam_complaints),
  }
}

export function toRates(raw: RawRates): EmailRates {
  return {
    delivery_rate: toDecimal(raw.delivery_rate),
    open_rate: toDecimal(raw.open_rate),
    click_rate: toDecimal(raw.click_rate),
    reply_rate: toDecimal(raw.reply_rate),
    bounce_rate: toDecimal(raw.bounce_rate),
  }
}
