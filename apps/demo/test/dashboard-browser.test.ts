import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from './support/browser.js'
import { type DemoHarness, openDemoHarness } from './support/demo-harness.js'
import { compareRows, shownNumber, shownTable } from './support/shown-numbers.js'

const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url))

const CAMPAIGN_NUMBERS = [
  'volume_rank',
  'sent',
  'delivered',
  'opened_tracked',
  'clicked_tracked',
  'replied',
  'bounced',
  'delivery_rate',
  'open_rate',
  'click_rate',
  'reply_rate',
  'bounce_rate',
  'open_rate_rank',
  'reply_rate_rank',
]

let h: DemoHarness
let browser: Browser

beforeAll(async () => {
  mkdirSync(OUTPUT, { recursive: true })
  h = await openDemoHarness({ label: 'demo_browser', emails: 8_000 })
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await h?.close()
})

const addDay = (day: string) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)

/** Waits until the page has loaded everything for this tenant and range, and reports no error. */
async function waitReady(page: Page, tenant: string, range?: { from: string; to: string }) {
  const expected = `tenant ${tenant} · ${range ? `${range.from} to ${range.to}` : ''}`
  await page.waitForFunction(
    (text) =>
      document.body.dataset.state === 'error' ||
      (document.body.dataset.state === 'ready' &&
        (document.getElementById('status')?.textContent ?? '').includes(text)),
    expected,
    { timeout: 60_000 },
  )
  const state = await page.evaluate(() => document.body.dataset.state)
  if (state !== 'ready')
    throw new Error(`the dashboard shows an error: ${await page.textContent('#status')}`)
}

/** The range the page shows, [from, to] both included, and the API's [from, to). */
async function shownRange(page: Page) {
  const from = await page.inputValue('#range-from')
  const to = await page.inputValue('#range-to')
  return { shown: { from, to }, api: { from, to: addDay(to) } }
}

function expectSame(result: { cells: number; mismatches: string[] }, minCells: number) {
  expect(result.mismatches).toEqual([])
  expect(result.cells).toBeGreaterThanOrEqual(minCells)
}

/** Every number the tenant panels show, against the same API routes read by the test. */
async function checkTenantPanels(
  page: Page,
  token: string,
  prefix: string,
  range: { from: string; to: string },
  firstLoad = false,
) {
  const campaigns = await h.getAll(
    `${prefix}/campaigns/performance`,
    { ...range, sort: 'volume' },
    token,
  )
  expect(campaigns.length).toBeGreaterThan(0)
  expectSame(
    compareRows(await shownTable(page, 'campaigns-table'), campaigns, 'campaign_id', {
      numbers: CAMPAIGN_NUMBERS,
      texts: ['status', 'campaign_name'],
    }),
    campaigns.length * CAMPAIGN_NUMBERS.length,
  )
  // every rate's 95% interval in its tooltip, and the API's insufficient-sample flag on its cell
  const certainty = await shownCertainty(page, 'campaigns-table')
  let flagged = 0
  for (const c of campaigns)
    for (const rate of ['delivery_rate', 'open_rate', 'click_rate', 'reply_rate', 'bounce_rate']) {
      const shown = certainty.get(`${c.campaign_id}|${rate}`)
      const lower = c[`${rate}_lower`] as number | null
      const upper = c[`${rate}_upper`] as number | null
      if (lower !== null && upper !== null)
        expect(shown?.title).toContain(`95% interval ${lower.toFixed(2)}–${upper.toFixed(2)}%`)
      expect(shown?.insufficient, `${c.campaign_id} ${rate}`).toBe(
        c[`${rate}_insufficient_sample`] === true,
      )
      if (shown?.insufficient) flagged++
    }
  expect(flagged).toBe(
    campaigns.reduce(
      (n, c) => n + Object.keys(c).filter((k) => k.endsWith('_insufficient_sample') && c[k]).length,
      0,
    ),
  )
  // the freshness watermark of the tenant, from the API's responses
  const badge = await page.$eval('#freshness', (node) => ({
    text: node.textContent ?? '',
    asOf: (node as HTMLElement).dataset.asOf ?? '',
    pending: (node as HTMLElement).dataset.pending ?? '',
  }))
  expect(Number.isNaN(Date.parse(badge.asOf))).toBe(false)
  expect(badge.pending).toMatch(/^\d+$/)
  expect(badge.text).toContain('as of')
  // the change over the period of equal length before the range (compare=previous)
  expect(await page.textContent('[data-kpi="sent"] .kpi-change')).toMatch(/vs previous$/)

  const sent = campaigns.reduce((s, c) => s + (c.sent as number), 0)
  expect(shownNumber((await page.textContent('[data-kpi="sent"] .kpi-value')) ?? '')).toBe(sent)
  expect(shownNumber((await page.textContent('[data-kpi="campaigns"] .kpi-value')) ?? '')).toBe(
    campaigns.length,
  )

  // the selected campaign: the first row (most sends) on a first load, kept across range changes
  const top = (await page.getAttribute('#campaigns-table tr.selected', 'data-id')) ?? ''
  expect(campaigns.map((c) => c.campaign_id)).toContain(top)
  if (firstLoad) expect(top).toBe(campaigns[0]?.campaign_id)
  const trend = await h.get<{ data: Record<string, unknown>[] }>(
    `${prefix}/campaigns/${encodeURIComponent(top)}/trend`,
    range,
    token,
  )
  expectSame(
    compareRows(await shownTable(page, 'trend-table'), trend.data, 'day', {
      numbers: ['sent', 'opened_tracked', 'replied'],
    }),
    3,
  )
  const funnel = await h.get<{ data: Record<string, unknown>[] }>(
    `${prefix}/campaigns/${encodeURIComponent(top)}/funnel`,
    range,
    token,
  )
  expect(funnel.data.length).toBeGreaterThan(0)
  expectSame(
    compareRows(await shownTable(page, 'funnel-table'), funnel.data, 'sequence_step_id', {
      numbers: [
        'step_number',
        'sent',
        'share_of_first_step',
        'open_rate',
        'reply_rate',
        'conversion_from_previous',
      ],
    }),
    funnel.data.length * 6,
  )

  const mailboxes = await h.get<{ data: Record<string, unknown>[] }>(
    `${prefix}/mailboxes`,
    { ...range, sort: 'health_score', limit: 100 },
    token,
  )
  expect(mailboxes.data.length).toBeGreaterThan(0)
  expectSame(
    compareRows(await shownTable(page, 'mailboxes-table'), mailboxes.data, 'email_account_id', {
      numbers: [
        'health_score',
        'total_volume',
        'sent',
        'delivery_rate',
        'open_rate',
        'reply_rate',
        'bounce_rate',
        'active_days',
        'warmup_progress_percentage',
      ],
      texts: ['address', 'last_active_day', 'campaign_status', 'warmup_status'],
    }),
    mailboxes.data.length * 13,
  )

  const days = Math.round((Date.parse(range.to) - Date.parse(range.from)) / 86_400_000)
  const warmup = await h.getAll(
    `${prefix}/warmup`,
    { days, to: range.to, sort: 'avg_health_score' },
    token,
  )
  for (const category of ['Excellent', 'Good', 'Fair', 'Poor']) {
    const pill = (await page.textContent(`#warmup-summary [data-category="${category}"]`)) ?? ''
    expect(Number(pill.replace(category, '').trim()), category).toBe(
      warmup.filter((w) => w.category === category).length,
    )
  }
  const warmupCertainty = await shownCertainty(page, 'warmup-table')
  for (const w of warmup)
    expect(warmupCertainty.get(`${w.email_account_id}|category`)?.insufficient).toBe(
      w.insufficient_sample,
    )
  expectSame(
    compareRows(await shownTable(page, 'warmup-table'), warmup, 'email_account_id', {
      numbers: ['avg_health_score', 'avg_progress_percentage', 'tracking_days'],
      texts: ['address', 'category'],
    }),
    warmup.length * 5,
  )

  const usage = await h.get<{ data: Record<string, unknown>[] }>(`${prefix}/usage`, range, token)
  expect(usage.data.length).toBeGreaterThan(0)
  expectSame(
    compareRows(await shownTable(page, 'usage-table'), usage.data, 'period', {
      numbers: [
        'emails_sent',
        'mom_growth',
        'mailboxes_used',
        'domains_used',
        'campaigns_used',
        'leads_used',
        'warmups_active',
        'emails_per_mailbox',
      ],
    }),
    usage.data.length * 8,
  )
}

/** Per row and field (`id|field`): a cell's tooltip and whether it is marked insufficient. */
async function shownCertainty(page: Page, tableId: string) {
  const cells = await page.$$eval(`#${tableId} tbody tr[data-id] td[data-field]`, (tds) =>
    tds.map((td) => {
      const cell = td as HTMLElement
      const row = cell.closest('tr') as HTMLElement
      return [
        `${row.dataset.id}|${cell.dataset.field}`,
        { title: cell.title, insufficient: cell.dataset.insufficient === 'true' },
      ] as const
    }),
  )
  return new Map(cells)
}

describe('the dashboard in Chromium', () => {
  it('shows for a member the numbers the API returns, before and after a range change', async () => {
    const { demo } = h
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))
    page.on('console', (message) => message.type() === 'error' && errors.push(message.text()))
    await page.goto(`${demo.url}#token=${demo.tokens.member}`)
    await waitReady(page, demo.tokens.tenantId)
    await page.uncheck('#auto-refresh')
    // the token left the address bar
    expect(page.url()).toBe(demo.url)
    expect(await page.isHidden('#admin-panel')).toBe(true)

    const first = await shownRange(page)
    expect(first.shown.to).toBe(
      await page.evaluate(() => {
        const now = new Date()
        return new Date(now.getTime() - now.getTimezoneOffset() * 60_000).toISOString().slice(0, 10)
      }),
    )
    await checkTenantPanels(page, demo.tokens.member, '/v1', first.api, true)

    // a preset, then dates typed in: both reload every panel for the new range
    await page.click('[data-preset="90"]')
    const ninety = await shownRange(page)
    expect(ninety.shown.from < first.shown.from).toBe(true)
    await waitReady(page, demo.tokens.tenantId, ninety.shown)
    await checkTenantPanels(page, demo.tokens.member, '/v1', ninety.api)

    const typed = { from: addDay(ninety.shown.from), to: addDay(addDay(first.shown.from)) }
    await page.fill('#range-from', typed.from)
    await page.fill('#range-to', typed.to)
    await page.click('#range-apply')
    await waitReady(page, demo.tokens.tenantId, typed)
    expect((await shownRange(page)).shown).toEqual(typed)
    await checkTenantPanels(page, demo.tokens.member, '/v1', {
      from: typed.from,
      to: addDay(typed.to),
    })

    // back to 90 days for the picture: the fullest one
    await page.click('[data-preset="90"]')
    await waitReady(page, demo.tokens.tenantId, ninety.shown)
    await page.screenshot({ path: `${OUTPUT}dashboard-member.png`, fullPage: true })
    expect(errors).toEqual([])
    await page.close()
  })

  it('lets an admin switch tenants and see the admin activity the API reports', async () => {
    const { demo } = h
    const other = demo.tenants.ids.find((id) => id !== demo.tokens.tenantId)
    if (!other) throw new Error('the demo data needs at least two tenants')
    // admin reads are audited per admin: "seeder" makes some, the dashboard is "demo-admin",
    // and the checks read as "verifier", so the seeder's rows stay still while they are compared
    const seeder = await h.token({ sub: 'seeder', tenant_id: other, role: 'admin' })
    const verifier = await h.token({ sub: 'verifier', tenant_id: other, role: 'admin' })
    const today = new Date().toISOString().slice(0, 10)
    const recent = {
      from: addDay(new Date(Date.now() - 5 * 86_400_000).toISOString().slice(0, 10)),
      to: addDay(today),
    }
    await h.get('/v1/usage', recent, seeder)
    await h.get(`/v1/admin/tenants/${demo.tokens.tenantId}/usage`, recent, seeder)
    await h.get('/v1/admin/system-events', recent, seeder)

    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
    await page.goto(
      `${demo.url}#token=${demo.tokens.admin}&tenants=${encodeURIComponent(demo.tenants.ids.join(','))}`,
    )
    await waitReady(page, demo.tokens.tenantId)
    await page.uncheck('#auto-refresh')
    expect(await page.isVisible('#admin-panel')).toBe(true)
    expect(await page.isVisible('#tenant-switch')).toBe(true)
    const options = await page.$$eval('#tenant-list option', (o) =>
      o.map((x) => (x as HTMLOptionElement).value),
    )
    expect(options).toEqual(expect.arrayContaining(demo.tenants.ids))

    await page.fill('#tenant-input', other)
    await page.press('#tenant-input', 'Enter')
    await waitReady(page, other)
    const range = (await shownRange(page)).api
    // a tenant switch starts afresh: its top campaign is selected
    await checkTenantPanels(
      page,
      verifier,
      `/v1/admin/tenants/${encodeURIComponent(other)}`,
      range,
      true,
    )

    const activity = await h.getAll('/v1/admin/activity', range, verifier)
    const seederRows = activity.filter((r) => r.admin_id === 'seeder')
    expect(seederRows.length).toBeGreaterThan(0)
    const shown = await shownTable(page, 'activity-table')
    const keyOf = (r: Record<string, unknown>) =>
      [r.day, r.hour, r.admin_id, r.action, r.resource_type].join('|')
    const shownSeeder = new Map([...shown].filter(([key]) => key.includes('|seeder|')))
    expectSame(
      compareRows(
        shownSeeder,
        seederRows.map((r) => ({ ...r, key: keyOf(r) })),
        'key',
        {
          numbers: ['hour', 'action_count', 'tenants_affected', 'unique_ips'],
          texts: ['day', 'admin_id', 'action', 'resource_type', 'time_category'],
        },
      ),
      seederRows.length * 9,
    )
    // the dashboard's own reads are in the log too, under its admin
    expect([...shown.keys()].some((key) => key.includes('|demo-admin|'))).toBe(true)
    await page.screenshot({ path: `${OUTPUT}dashboard-admin.png`, fullPage: true })
    await page.close()
  })
})
