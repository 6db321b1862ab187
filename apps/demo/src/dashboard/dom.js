// Tiny DOM helpers: text only (never innerHTML), so no API value can inject markup.

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue
    if (key === 'class') node.className = value
    else if (key === 'dataset') Object.assign(node.dataset, value)
    else if (key === 'style') Object.assign(node.style, value)
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value)
    else node.setAttribute(key, value === true ? '' : String(value))
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue
    node.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return node
}

/** A cell showing one API field; data-field names the field for tests and for people. */
export function cell(field, text, className) {
  return el('td', { class: className, dataset: { field } }, text)
}

export function emptyRow(columns, message) {
  return el('tr', { class: 'empty' }, el('td', { colspan: columns }, message))
}

export function fill(tbody, rows, { append = false } = {}) {
  if (!append) tbody.replaceChildren()
  tbody.append(...rows)
}

/** A cell with a small meter (0–100) and its label; the meter has a fixed width. */
export function meterCell(field, share, label, className = '') {
  return el(
    'td',
    { class: 'text meter-cell', dataset: { field } },
    share === null || share === undefined
      ? el('span', { class: 'meter empty' })
      : el(
          'span',
          { class: 'meter' },
          el('span', {
            class: `fill ${className}`,
            style: { width: `${Math.max(0, Math.min(100, share))}%` },
          }),
        ),
    el('span', { class: 'meter-label' }, label),
  )
}

/**
 * A rate cell: the rate as text, its 95% interval and sample in the tooltip, and the
 * `insufficient` class (styled with a dagger) when the API flags the sample as too small.
 */
export function rateCell(field, text, certainty) {
  return el(
    'td',
    {
      class: certainty.insufficient ? 'insufficient' : undefined,
      title: certainty.title,
      dataset: certainty.insufficient ? { field, insufficient: 'true' } : { field },
    },
    text,
  )
}
