// The dashboard: reads the public API with the bearer token and renders each panel. State lives
// here; each panel module only renders rows it is given.
import { renderActivity } from './admin-panel.js'
import { ApiError, createApi } from './api-client.js'
import { markSelected, renderCampaigns } from './campaigns-panel.js'
import { addDays, apiRange, daysBetween, lastDays } from './date-range.js'
import { renderFunnel } from './funnel-panel.js'
import { renderKpis } from './kpis.js'
import { renderMailboxes } from './mailboxes-panel.js'
import { currentToken, decodeClaims, setToken, takeFragment, tenantHints } from './session.js'
import { TrendChart } from './trend-chart.js'
import { renderUsage } from './usage-panel.js'
import { renderWarmup } from './warmup-panel.js'

const LIVE_REFRESH_MS = 30_000
const MAX_RANGE_DAYS = 366

const $ = (id) => document.getElementById(id)

const state = {
  claims: null,
  tenantId: null,
  range: lastDays(30),
  selected: null,
  generation: 0,
  busy: false,
  mailboxCursor: null,
  activityCursor: null,
  lastReady: '',
}

const api = createApi(() => currentToken(), showFreshness)

/** The tenant's freshness watermark, from the latest tenant read. */
function showFreshness({ as_of: asOf, pending_changes: pending }) {
  const badge = $('freshness')
  const at = new Date(asOf)
  badge.dataset.asOf = asOf
  badge.dataset.pending = String(pending)
  badge.classList.toggle('stale', pending > 0)
  badge.textContent =
    pending > 0
      ? `as of ${at.toLocaleTimeString()} · ${pending.toLocaleString('en-US')} ${pending === 1 ? 'change' : 'changes'} pending`
      : `up to date as of ${at.toLocaleTimeString()}`
  badge.title = `analytics reflect every source change recorded before ${at.toLocaleString()}; ${pending} waiting for the aggregator`
}
let trend = null

function isAdmin() {
  return state.claims?.role === 'admin'
}

/** A tenant route: the token's own tenant at /v1…, another one (admins) under /v1/admin/tenants. */
function tenantPath(path) {
  if (isAdmin() && state.tenantId !== state.claims.tenant_id)
    return `/v1/admin/tenants/${encodeURIComponent(state.tenantId)}${path}`
  return `/v1${path}`
}

function setPageState(value, message = '') {
  document.body.dataset.state = value
  if (value === 'ready') state.lastReady = message
  const status = $('status')
  status.textContent = message
  status.className = `status ${value}`
}

function describeClaims(claims) {
  return `${claims.sub} · ${claims.role} of ${claims.tenant_id}`
}

function expiryOf(claims) {
  return claims.exp ? `token expires ${new Date(claims.exp * 1000).toLocaleString()}` : ''
}

function campaignParams() {
  return { ...apiRange(state.range), sort: $('campaign-sort').value }
}

function mailboxParams() {
  return { ...apiRange(state.range), sort: $('mailbox-sort').value, limit: 100 }
}

async function loadCampaign(generation) {
  const range = apiRange(state.range)
  if (!state.selected) {
    $('trend-campaign').textContent = ''
    trend.update([])
    renderFunnel($('funnel-table').tBodies[0], [])
    return
  }
  const id = encodeURIComponent(state.selected.campaign_id)
  const [trendBody, funnelBody] = await Promise.all([
    api.get(tenantPath(`/campaigns/${id}/trend`), range),
    api.get(tenantPath(`/campaigns/${id}/funnel`), range),
  ])
  if (generation !== state.generation) return
  $('trend-campaign').textContent = state.selected.campaign_name ?? state.selected.campaign_id
  trend.update(trendBody.data)
  renderFunnel($('funnel-table').tBodies[0], funnelBody.data)
}

async function loadAdmin(generation) {
  const body = await api.get('/v1/admin/activity', { ...apiRange(state.range), limit: 50 })
  if (generation !== state.generation) return
  renderActivity($('activity-table').tBodies[0], body.data)
  state.activityCursor = body.next_cursor
  $('activity-more').hidden = !body.next_cursor
}

/** Reloads every panel for the current token, tenant and range; a newer reload wins. */
async function refresh() {
  if (!state.claims) return
  const generation = ++state.generation
  state.busy = true
  setPageState('loading', 'loading…')
  const range = apiRange(state.range)
  try {
    const warmupDays = Math.min(MAX_RANGE_DAYS, daysBetween(range.from, range.to))
    const [campaigns, mailboxes, warmup, usage] = await Promise.all([
      api.getAll(tenantPath('/campaigns/performance'), campaignParams()),
      api.get(tenantPath('/mailboxes'), mailboxParams()),
      api.getAll(tenantPath('/warmup'), {
        days: warmupDays,
        to: range.to,
        sort: 'avg_health_score',
      }),
      api.get(tenantPath('/usage'), { ...range, compare: 'previous' }),
      isAdmin() ? loadAdmin(generation) : null,
    ])
    if (generation !== state.generation) return
    renderKpis($('kpis'), campaigns.rows, campaigns.truncated, usage.comparison)
    const keep = campaigns.rows.find((r) => r.campaign_id === state.selected?.campaign_id)
    state.selected = keep ?? campaigns.rows[0] ?? null
    renderCampaigns(
      $('campaigns-table').tBodies[0],
      campaigns.rows,
      state.selected?.campaign_id,
      selectCampaign,
    )
    renderMailboxes($('mailboxes-table').tBodies[0], mailboxes.data)
    state.mailboxCursor = mailboxes.next_cursor
    $('mailboxes-more').hidden = !mailboxes.next_cursor
    renderWarmup($('warmup-summary'), $('warmup-table').tBodies[0], warmup.rows, warmup.truncated)
    renderUsage($('usage-table').tBodies[0], usage.data)
    await loadCampaign(generation)
    if (generation !== state.generation) return
    setPageState(
      'ready',
      `tenant ${state.tenantId} · ${state.range.from} to ${state.range.to} · updated ${new Date().toLocaleTimeString()}`,
    )
  } catch (error) {
    if (generation !== state.generation) return
    showError(error)
  } finally {
    if (generation === state.generation) state.busy = false
  }
}

function showError(error) {
  const hint =
    error instanceof ApiError && error.status === 401
      ? ' — the token is invalid or expired: click your name (top left) to paste a new one.'
      : ''
  setPageState('error', `${error.message}${hint}`)
}

async function selectCampaign(row) {
  state.selected = row
  markSelected($('campaigns-table').tBodies[0], row.campaign_id)
  const generation = ++state.generation
  setPageState('loading', 'loading…')
  try {
    await loadCampaign(generation)
    if (generation === state.generation) setPageState('ready', state.lastReady)
  } catch (error) {
    if (generation === state.generation) showError(error)
  }
}

async function loadMore(kind) {
  const range = apiRange(state.range)
  try {
    if (kind === 'mailboxes') {
      const body = await api.get(tenantPath('/mailboxes'), {
        ...mailboxParams(),
        cursor: state.mailboxCursor,
      })
      renderMailboxes($('mailboxes-table').tBodies[0], body.data, { append: true })
      state.mailboxCursor = body.next_cursor
      $('mailboxes-more').hidden = !body.next_cursor
    } else {
      const body = await api.get('/v1/admin/activity', {
        ...range,
        limit: 50,
        cursor: state.activityCursor,
      })
      renderActivity($('activity-table').tBodies[0], body.data, { append: true })
      state.activityCursor = body.next_cursor
      $('activity-more').hidden = !body.next_cursor
    }
  } catch (error) {
    showError(error)
  }
}

/** Tenant suggestions for admins: the demo's hints, the token's tenant, the audit log's tenants. */
async function loadTenantHints() {
  const ids = new Set([state.claims.tenant_id, ...tenantHints()])
  try {
    const body = await api.get('/v1/admin/audit-log', { ...apiRange(lastDays(90)), limit: 100 })
    for (const row of body.data) if (row.tenant_id) ids.add(row.tenant_id)
  } catch {
    // suggestions only: the field still takes any tenant id
  }
  $('tenant-list').replaceChildren(
    ...[...ids].sort().map((id) => Object.assign(document.createElement('option'), { value: id })),
  )
}

function showRange() {
  $('range-from').value = state.range.from
  $('range-to').value = state.range.to
}

function applyRange(range) {
  if (!range.from || !range.to) return
  if (range.to < range.from) {
    setPageState('error', 'The range ends before it starts.')
    return
  }
  if (daysBetween(range.from, addDays(range.to, 1)) > MAX_RANGE_DAYS) {
    setPageState('error', `A range spans at most ${MAX_RANGE_DAYS} days.`)
    return
  }
  state.range = range
  showRange()
  refresh()
}

function useToken(token) {
  const claims = token ? decodeClaims(token) : null
  if (!claims?.tenant_id || !claims.role) {
    state.claims = null
    $('token-button').textContent = 'no token: paste one'
    setPageState('error', 'No usable token: paste one.')
    $('token-dialog').showModal()
    return
  }
  state.claims = claims
  state.tenantId = claims.tenant_id
  $('token-button').textContent = describeClaims(claims)
  $('token-button').title = `${expiryOf(claims)}; click to change the token`
  $('tenant-switch').hidden = !isAdmin()
  $('admin-panel').hidden = !isAdmin()
  $('tenant-input').value = state.tenantId
  if (isAdmin()) loadTenantHints()
  refresh()
}

function wire() {
  $('range-form').addEventListener('submit', (event) => {
    event.preventDefault()
    applyRange({ from: $('range-from').value, to: $('range-to').value })
  })
  for (const button of document.querySelectorAll('[data-preset]'))
    button.addEventListener('click', () => applyRange(lastDays(Number(button.dataset.preset))))
  $('campaign-sort').addEventListener('change', refresh)
  $('mailbox-sort').addEventListener('change', refresh)
  $('tenant-input').addEventListener('change', () => {
    const value = $('tenant-input').value.trim()
    if (!value || value === state.tenantId) return
    state.tenantId = value
    state.selected = null
    refresh()
  })
  $('mailboxes-more').addEventListener('click', () => loadMore('mailboxes'))
  $('activity-more').addEventListener('click', () => loadMore('activity'))
  $('token-button').addEventListener('click', () => {
    $('token-input').value = currentToken() ?? ''
    $('token-dialog').showModal()
  })
  $('token-cancel').addEventListener('click', () => $('token-dialog').close())
  $('token-form').addEventListener('submit', () => {
    const token = $('token-input').value.trim()
    if (!token) return
    setToken(token)
    useToken(token)
  })
  setInterval(() => {
    if ($('auto-refresh').checked && !state.busy && document.visibilityState === 'visible')
      refresh()
  }, LIVE_REFRESH_MS)
}

takeFragment()
trend = new TrendChart($('trend-chart'))
wire()
showRange()
useToken(currentToken())
