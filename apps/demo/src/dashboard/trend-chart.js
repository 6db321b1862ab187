import uPlot from '/vendor/uplot/uPlot.esm.js'
import { dayToSeconds } from './date-range.js'
import { cell, el, emptyRow, fill } from './dom.js'
import { count } from './format.js'

const SERIES = [
  { field: 'sent', label: 'sent', stroke: '#2563eb', fill: 'rgba(37, 99, 235, 0.08)' },
  { field: 'opened_tracked', label: 'opened', stroke: '#059669' },
  { field: 'replied', label: 'replied', stroke: '#d97706', scale: 'replies' },
]

/**
 * The daily trend of one campaign (sent, opened, replied) with uPlot, and the same numbers in a
 * table under it for screen readers and for checking. Replies use the right-hand axis: a few
 * percent of the sends would be a flat line on the left one.
 */
export class TrendChart {
  constructor(container) {
    this.container = container
    this.plotHost = el('div', { class: 'plot' })
    this.tbody = el('tbody')
    this.details = el(
      'details',
      { class: 'chart-data' },
      el('summary', {}, 'numbers'),
      el(
        'div',
        { class: 'table-wrap' },
        el(
          'table',
          { class: 'numbers', id: 'trend-table' },
          el(
            'thead',
            {},
            el(
              'tr',
              {},
              el('th', { class: 'text' }, 'day'),
              SERIES.map((s) => el('th', {}, s.label)),
            ),
          ),
          this.tbody,
        ),
      ),
    )
    container.replaceChildren(this.plotHost, this.details)
    this.plot = null
    new ResizeObserver(() => this.resize()).observe(container)
  }

  size() {
    return { width: Math.max(320, this.container.clientWidth - 8), height: 260 }
  }

  resize() {
    if (this.plot) this.plot.setSize(this.size())
  }

  update(rows) {
    const data = [
      rows.map((r) => dayToSeconds(r.day)),
      ...SERIES.map((s) => rows.map((r) => r[s.field])),
    ]
    if (!this.plot) {
      this.plot = new uPlot(
        {
          ...this.size(),
          // the days are calendar days: show them as such, whatever the browser's zone
          tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
          scales: { x: { time: true }, replies: { range: (_u, _min, max) => [0, max || 1] } },
          series: [
            { label: 'day' },
            ...SERIES.map((s) => ({
              label: s.label,
              stroke: s.stroke,
              width: 2,
              fill: s.fill,
              scale: s.scale ?? 'y',
            })),
          ],
          axes: [
            {},
            { scale: 'y', label: 'sent, opened', size: 60 },
            { scale: 'replies', side: 1, label: 'replied', grid: { show: false }, size: 50 },
          ],
          legend: { live: true },
        },
        data,
        this.plotHost,
      )
    } else {
      this.plot.setData(data)
    }
    if (rows.length === 0) fill(this.tbody, [emptyRow(4, 'Select a campaign.')])
    else
      fill(
        this.tbody,
        rows.map((row) =>
          el(
            'tr',
            { dataset: { id: row.day } },
            cell('day', row.day, 'text'),
            SERIES.map((s) => cell(s.field, count(row[s.field]))),
          ),
        ),
      )
  }
}
