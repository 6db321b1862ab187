import { el } from './dom.js'
import { count, percent } from './format.js'

function rate(part, whole) {
  return whole === 0 ? null : Math.round((10_000 * part) / whole) / 100
}

/** Totals over the campaigns shown: the sum of the table's rows, rates over those sums. */
export function renderKpis(container, rows, truncated) {
  const sum = (field) => rows.reduce((total, row) => total + row[field], 0)
  const sent = sum('sent')
  const delivered = sum('delivered')
  const cards = [
    ['campaigns', count(rows.length), 'campaigns with sends in the range'],
    ['sent', count(sent), 'emails sent'],
    ['delivery', percent(rate(delivered, sent)), 'delivered / sent'],
    ['open', percent(rate(sum('opened_tracked'), delivered)), 'opened / delivered'],
    ['reply', percent(rate(sum('replied'), delivered)), 'replied / delivered'],
    ['bounce', percent(rate(sum('bounced'), sent)), 'bounced / sent'],
  ]
  container.replaceChildren(
    ...cards.map(([name, value, title]) =>
      el(
        'div',
        { class: 'kpi', title, dataset: { kpi: name } },
        el('span', { class: 'kpi-value' }, value),
        el('span', { class: 'kpi-name' }, name),
      ),
    ),
  )
  if (truncated)
    container.append(el('p', { class: 'note' }, 'totals over the first 2,000 campaigns'))
}
