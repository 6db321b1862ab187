import { cell, el, emptyRow, fill, meterCell, rateCell } from './dom.js'
import { count, percent, rateCertainty } from './format.js'

/** The campaign's steps in order, each with a bar for its share of step 1's sends. */
export function renderFunnel(tbody, rows) {
  if (rows.length === 0) {
    fill(tbody, [emptyRow(6, 'Select a campaign.')])
    return
  }
  fill(
    tbody,
    rows.map((row) =>
      el(
        'tr',
        { dataset: { id: row.sequence_step_id } },
        cell('step_number', count(row.step_number)),
        cell('sent', count(row.sent)),
        meterCell('share_of_first_step', row.share_of_first_step, percent(row.share_of_first_step)),
        rateCell('open_rate', percent(row.open_rate), rateCertainty(row, 'open_rate')),
        rateCell('reply_rate', percent(row.reply_rate), rateCertainty(row, 'reply_rate')),
        cell('conversion_from_previous', percent(row.conversion_from_previous)),
      ),
    ),
  )
}
