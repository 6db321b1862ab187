import { cell, el, emptyRow, fill, meterCell } from './dom.js'
import { count, healthClass, NONE, percent } from './format.js'

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
          { dataset: { field: 'health_score' } },
          el('span', { class: `health ${healthClass(row.health_score)}` }, count(row.health_score)),
        ),
        cell('total_volume', count(row.total_volume)),
        cell('sent', count(row.sent)),
        cell('delivery_rate', percent(row.delivery_rate)),
        cell('open_rate', percent(row.open_rate)),
        cell('reply_rate', percent(row.reply_rate)),
        cell('bounce_rate', percent(row.bounce_rate)),
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
