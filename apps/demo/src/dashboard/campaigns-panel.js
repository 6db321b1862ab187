import { cell, el, emptyRow, fill, rateCell } from './dom.js'
import { count, percent, rateCertainty } from './format.js'

const COUNT_FIELDS = [
  'sent',
  'delivered',
  'opened_tracked',
  'clicked_tracked',
  'replied',
  'bounced',
]
const RATE_FIELDS = ['delivery_rate', 'open_rate', 'click_rate', 'reply_rate', 'bounce_rate']

/** The campaign performance rows; a click (or Enter) on a row selects its campaign. */
export function renderCampaigns(tbody, rows, selectedId, onSelect) {
  if (rows.length === 0) {
    fill(tbody, [emptyRow(16, 'No campaign sent an email in this range.')])
    return
  }
  fill(
    tbody,
    rows.map((row) => {
      const select = () => onSelect(row)
      return el(
        'tr',
        {
          class: row.campaign_id === selectedId ? 'selected clickable' : 'clickable',
          tabindex: 0,
          dataset: { id: row.campaign_id },
          onclick: select,
          onkeydown: (event) => event.key === 'Enter' && select(),
        },
        cell('volume_rank', count(row.volume_rank)),
        cell('campaign_name', row.campaign_name ?? row.campaign_id, 'text name'),
        cell('status', row.status, `text status ${row.status}`),
        COUNT_FIELDS.map((field) => cell(field, count(row[field]))),
        RATE_FIELDS.map((field) => rateCell(field, percent(row[field]), rateCertainty(row, field))),
        cell('open_rate_rank', count(row.open_rate_rank)),
        cell('reply_rate_rank', count(row.reply_rate_rank)),
      )
    }),
  )
}

export function markSelected(tbody, campaignId) {
  for (const row of tbody.querySelectorAll('tr[data-id]'))
    row.classList.toggle('selected', row.dataset.id === campaignId)
}
