import { cell, el, emptyRow, fill } from './dom.js'
import { count, decimal, growth } from './format.js'

/** Billing periods overlapping the range, with month-over-month growth of emails sent. */
export function renderUsage(tbody, rows) {
  if (rows.length === 0) {
    fill(tbody, [emptyRow(9, 'No usage in this range.')])
    return
  }
  fill(
    tbody,
    rows.map((row) =>
      el(
        'tr',
        { dataset: { id: row.period } },
        cell('period', row.period, 'text'),
        cell('emails_sent', count(row.emails_sent)),
        cell(
          'mom_growth',
          growth(row.mom_growth),
          row.mom_growth === null ? '' : row.mom_growth >= 0 ? 'up' : 'down',
        ),
        cell('mailboxes_used', count(row.mailboxes_used)),
        cell('domains_used', count(row.domains_used)),
        cell('campaigns_used', count(row.campaigns_used)),
        cell('leads_used', count(row.leads_used)),
        cell('warmups_active', count(row.warmups_active)),
        cell('emails_per_mailbox', decimal(row.emails_per_mailbox)),
      ),
    ),
  )
}
