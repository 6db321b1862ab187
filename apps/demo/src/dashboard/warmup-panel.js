import { cell, el, emptyRow, fill } from './dom.js'
import { count, decimal } from './format.js'

const CATEGORIES = ['Excellent', 'Good', 'Fair', 'Poor']

/** Warmup per mailbox over the range (GET /v1/warmup), and how many fall in each category. */
export function renderWarmup(container, tbody, rows, truncated) {
  const byCategory = Object.fromEntries(CATEGORIES.map((c) => [c, 0]))
  for (const row of rows) byCategory[row.category] += 1
  container.replaceChildren(
    ...CATEGORIES.map((category) =>
      el(
        'span',
        { class: `pill ${category.toLowerCase()}`, dataset: { category } },
        `${category} ${byCategory[category]}`,
      ),
    ),
    el(
      'span',
      { class: 'label' },
      `${count(rows.length)}${truncated ? '+' : ''} ${rows.length === 1 ? 'mailbox' : 'mailboxes'}`,
    ),
  )
  if (rows.length === 0) {
    fill(tbody, [emptyRow(5, 'No mailbox warmed up on 3 or more days in this range.')])
    return
  }
  fill(
    tbody,
    rows.map((row) =>
      el(
        'tr',
        { dataset: { id: row.email_account_id } },
        cell('address', row.address ?? row.email_account_id, 'text mono'),
        el(
          'td',
          {
            class: row.insufficient_sample ? 'text insufficient' : 'text',
            title: `over ${count(row.warmup_sent)} warmup emails${row.insufficient_sample ? ' — too few to judge (fewer than 30)' : ''}`,
            dataset: row.insufficient_sample
              ? { field: 'category', insufficient: 'true' }
              : { field: 'category' },
          },
          el('span', { class: `pill ${row.category.toLowerCase()}` }, row.category),
        ),
        cell('avg_health_score', decimal(row.avg_health_score)),
        cell('avg_progress_percentage', `${decimal(row.avg_progress_percentage)}%`),
        cell('tracking_days', count(row.tracking_days)),
      ),
    ),
  )
}
