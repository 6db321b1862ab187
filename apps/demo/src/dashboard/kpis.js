import { el } from './dom.js'
import { change, count, percent } from './format.js'

function rate(part, whole) {
  return whole === 0 ? null : Math.round((10_000 * part) / whole) / 100
}

/**
 * Totals over the campaigns shown: the sum of the table's rows, rates over those sums; with the
 * API's comparison (compare=previous), each card's change over the period of equal length before.
 */
export function renderKpis(container, rows, truncated, comparison) {
  const metric = (name) => comparison?.metrics.find((m) => m.metric === name)
  const sum = (field) => rows.reduce((total, row) => total + row[field], 0)
  const sent = sum('sent')
  const delivered = sum('delivered')
  const cards = [
    ['campaigns', count(rows.length), 'campaigns with sends in the range', null],
    ['sent', count(sent), 'emails sent', 'sent'],
    ['delivery', percent(rate(delivered, sent)), 'delivered / sent', 'delivery_rate'],
    ['open', percent(rate(sum('opened_tracked'), delivered)), 'opened / delivered', 'open_rate'],
    ['reply', percent(rate(sum('replied'), delivered)), 'replied / delivered', 'reply_rate'],
    ['bounce', percent(rate(sum('bounced'), sent)), 'bounced / sent', 'bounce_rate'],
  ]
  const since = comparison
    ? ` vs ${comparison.previous_from} to ${comparison.previous_to} (before the range)`
    : ''
  container.replaceChildren(
    ...cards.map(([name, value, title, compared]) => {
      const m = compared ? metric(compared) : undefined
      return el(
        'div',
        { class: 'kpi', title, dataset: { kpi: name } },
        el('span', { class: 'kpi-value' }, value),
        el('span', { class: 'kpi-name' }, name),
        m &&
          el(
            'span',
            {
              class: 'kpi-change',
              title: `previous ${m.previous === null ? '—' : m.previous}${since}`,
            },
            `${change(m)} vs previous`,
          ),
      )
    }),
  )
  if (truncated)
    container.append(el('p', { class: 'note' }, 'totals over the first 2,000 campaigns'))
}
