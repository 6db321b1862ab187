import { cell, el, emptyRow, fill, meterCell, rateCell } from './dom.js'
import { count, healthClass, NONE, percent, rateCertainty } from './format.js'

function healthTitle(row) {
  if (row.health_sample_sent === null) return 'no activity in the range'
  return `over ${count(row.health_sample_sent)} emails sent in the 7 days ending ${row.last_active_day}${row.health_insufficient_sample ? ' — too few to judge (fewer than 30)' : ''}`
}

/** Mailboxes with their latest health score in the range and their warmup progress. */
export function renderMailboxes(tbody, rows, { append = false } = {}) {
  if (rows.length === 0 && !append) {
    fill(tbody, [emptyRow(13, 'No mailbox.')])
    return
  }
  fill(
    tbody,
    rows.map((row) =>
      el(
        'tr',
        { dataset: { id: row.email_account_id } },
        cell('address', row.address, 'text mono'),
        el(
          'td',
          {
            class: row.health_insufficient_sample ? 'insufficient' : undefined,
            title: healthTitle(row),
            dataset: row.health_insufficient_sample
              ? { field: 'health_score', insufficient: 'true' }
              : { field: 'health_score' },
          },
          el('span', { class: `health ${healthClass(row.health_score)}` }, count(row.health_score)),
        ),
        cell('total_volume', count(row.total_volume)),
        cell('sent', count(row.sent)),
        ['delivery_rate', 'open_rate', 'reply_rate', 'bounce_rate'].map((field) =>
          rateCell(field, percent(row[field]), rateCertainty(row, field)),
        ),
        cell('active_days', count(row.active_days)),
        cell('last_active_day', row.last_active_day ?? NONE, 'text'),
        cell('campaign_status', row.campaign_status ?? NONE, 'text'),
        cell('warmup_status', row.warmup_status ?? NONE, 'text'),
        meterCell(
          'warmup_progress_percentage',
          row.warmup_progress_percentage,
          row.warmup_progress_percentage === null ? '—' : `${row.warmup_progress_percentage}%`,
          'warmup',
        ),
      ),
    ),
    { append },
  )
}
