import { mkdirSync, writeFileSync } from 'node:fs'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatDay, parseDay } from '../src/date-range.js'
import {
  type DailyValue,
  DEFAULT_FORECAST_WINDOW_DAYS,
  InvalidQueryError,
  limitCrossing,
  projectMonthEnd,
  usageForecast,
} from '../src/index.js'
import { daysBetween } from '../src/usage-projection.js'
import { type GeneratedDatabase, openGeneratedDatabase } from './support/generated-database.js'

// Backtest bounds, also stated in docs/forecast.md: the generated history must keep the 95%
// interval's coverage and the point error within them.
const MIN_COVERAGE_95 = 0.9
const MAX_MAPE = 0.12

let g: GeneratedDatabase
const TENANTS = ['t01', 't02', 't03', 't04']
// 200 local days ending 2026-06-30: February to May are whole months with 28 days of history
const MONTHS = ['2026-02', '2026-03', '2026-04', '2026-05']

beforeAll(async () => {
  g = await openGeneratedDatabase('forecast', {
    seed: 11,
    tenants: TENANTS.length,
    emails: 60_000,
    days: 200,
    end: '2026-06-30',
    // enough campaigns that every tenant sends: starts and ends make the months uneven
    campaigns: 24,
  })
})

afterAll(async () => {
  await g?.database.drop()
})

async function actualEmails(tenantId: string, month: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select coalesce(sum(b.emails_sent), 0)::int as n from billing_analytics b
      join tenants t on t.id = b.tenant_id
     where b.tenant_id = ${tenantId}
       and b.period_start = (cast(${`${month}-01`} as date)::timestamp at time zone t.time_zone)`.execute(
    g.su,
  )
  return rows[0]?.n ?? 0
}

interface Trial {
  tenant: string
  month: string
  elapsed: number
  actual: number
  projected: number
  lower: number | null
  upper: number | null
}

/** Each tenant's daily campaign emails over the whole history, days without sends as 0. */
async function dailySeries(tenant: string): Promise<DailyValue[]> {
  const { rows } = await sql<DailyValue>`
    select d::date::text as day, coalesce(sum(ca.sent), 0)::int as value
      from generate_series(date '2025-12-01', date '2026-06-30', interval '1 day') as d
      left join campaign_analytics ca on ca.tenant_id = ${tenant} and ca.day = d::date
     group by d order by d`.execute(g.su)
  return rows
}

/** The forecast usageForecast makes, from a series in memory: the comparison windows use it. */
function forecastFromSeries(series: DailyValue[], through: string, windowDays: number) {
  const n = parseDay(through) as number
  const monthFrom = `${through.slice(0, 7)}-01`
  const [y, m] = through.split('-').map(Number) as [number, number]
  const monthTo = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`
  const windowFrom = formatDay(n - windowDays)
  const monthToDate = series
    .filter((d) => d.day >= monthFrom && d.day < through)
    .reduce((a, d) => a + d.value, 0)
  return projectMonthEnd({
    history: series.filter((d) => d.day >= windowFrom && d.day < through),
    monthToDate,
    remaining: daysBetween(through, monthTo),
  })
}

/**
 * Every tenant's month forecast as of each of its days (through = the month's first day, nothing
 * seen yet, … its last). The default window goes through usageForecast as the tenant's reader;
 * the comparison windows through the same projection on the series in memory, which the default
 * window's trials check against usageForecast.
 */
async function backtest(windows: number[]): Promise<Record<number, Trial[]>> {
  const trials: Record<number, Trial[]> = Object.fromEntries(windows.map((w) => [w, []]))
  for (const tenant of TENANTS) {
    const series = await dailySeries(tenant)
    for (const month of MONTHS) {
      const actual = await actualEmails(tenant, month)
      const days = daysBetween(`${month}-01`, formatDay((parseDay(`${month}-01`) as number) + 31))
      for (const through of days.filter((d) => d.startsWith(month))) {
        const f = await g.asTenant(tenant, (trx) =>
          usageForecast(trx, { tenantId: tenant, through }),
        )
        const row = f.rows[0]
        expect(row?.measure).toBe('emails_sent')
        for (const w of windows) {
          const p = forecastFromSeries(series, through, w)
          if (w === f.window_days)
            expect([p.projected, p.lower, p.upper], `${tenant} ${through}`).toEqual([
              row?.projected,
              row?.lower,
              row?.upper,
            ])
          trials[w]?.push({
            tenant,
            month,
            elapsed: f.days_elapsed,
            actual,
            projected: p.projected,
            lower: p.lower,
            upper: p.upper,
          })
        }
      }
    }
  }
  return trials
}

function summarize(trials: Trial[]) {
  // a tenant-month without sends has no relative error and would count as trivially covered
  const scored = trials.filter((t) => t.actual > 0)
  const mape = (ts: Trial[]) =>
    ts.length === 0
      ? null
      : Math.round(
          (ts.reduce((a, t) => a + Math.abs(t.projected - t.actual) / t.actual, 0) / ts.length) *
            10_000,
        ) / 10_000
  const withInterval = scored.filter((t) => t.lower !== null && t.upper !== null)
  const covered = withInterval.filter(
    (t) => (t.lower as number) <= t.actual && t.actual <= (t.upper as number),
  )
  const atWeek = (days: number) => mape(scored.filter((t) => t.elapsed === days))
  return {
    forecasts: trials.length,
    scored_forecasts: scored.length,
    tenant_months: new Set(trials.map((t) => `${t.tenant}:${t.month}`)).size,
    mape: mape(scored),
    mape_after_7_days: atWeek(7),
    mape_after_14_days: atWeek(14),
    mape_after_21_days: atWeek(21),
    coverage_95: Math.round((covered.length / withInterval.length) * 10_000) / 10_000,
    mean_interval_width_share:
      Math.round(
        (withInterval.reduce(
          (a, t) => a + ((t.upper as number) - (t.lower as number)) / Math.max(1, t.actual),
          0,
        ) /
          withInterval.length) *
          10_000,
      ) / 10_000,
  }
}

describe('usageForecast backtest on generated history', () => {
  it('projects month-end emails_sent within the documented error and interval coverage', async () => {
    const results: Record<string, ReturnType<typeof summarize>> = {}
    const trials = await backtest([DEFAULT_FORECAST_WINDOW_DAYS, 14, 28])
    for (const [w, ts] of Object.entries(trials)) results[`window_${w}`] = summarize(ts)
    const report = {
      generated: {
        seed: 11,
        tenants: 4,
        emails: 60_000,
        days: 200,
        end: '2026-06-30',
        campaigns: 24,
      },
      months: MONTHS,
      ...results,
    }
    console.log(`forecast backtest: ${JSON.stringify(report, null, 2)}`)
    mkdirSync('test-output', { recursive: true })
    writeFileSync('test-output/forecast-backtest.json', `${JSON.stringify(report, null, 2)}\n`)
    const main = results.window_7
    expect(main?.tenant_months).toBe(16)
    expect(main?.forecasts).toBe(4 * (28 + 31 + 30 + 31))
    expect(main?.coverage_95).toBeGreaterThanOrEqual(MIN_COVERAGE_95)
    expect(main?.mape).toBeLessThanOrEqual(MAX_MAPE)
    // more days seen, smaller error
    expect(main?.mape_after_21_days).toBeLessThan(main?.mape_after_7_days as number)
  })
})

describe('usageForecast', () => {
  it('counts complete days to date, projects the rest and finds the plan limit crossing', async () => {
    const through = '2026-04-16'
    const f = await g.asTenant('t02', (trx) =>
      usageForecast(trx, { tenantId: 't02', through, planLimit: 1 }),
    )
    const { rows } = await sql<{ n: number }>`
      select coalesce(sum(sent), 0)::int as n from campaign_analytics
       where tenant_id = 't02' and day >= '2026-04-01' and day < ${through}`.execute(g.su)
    expect(f).toMatchObject({ period: '2026-04', days_elapsed: 15, days_remaining: 15 })
    expect(f.rows.map((r) => r.measure)).toEqual([
      'emails_sent',
      'mailboxes_used',
      'domains_used',
      'campaigns_used',
      'leads_used',
      'warmups_active',
    ])
    const emails = f.rows[0]
    expect(emails?.month_to_date).toBe(rows[0]?.n)
    expect(emails?.projected).toBeGreaterThanOrEqual(emails?.month_to_date as number)
    expect(emails?.lower).toBeLessThanOrEqual(emails?.projected as number)
    expect(emails?.upper).toBeGreaterThanOrEqual(emails?.projected as number)
    for (const r of f.rows.slice(1)) {
      expect(r.projected).toBeNull()
      expect(r.month_to_date).toBeGreaterThanOrEqual(0)
    }
    // a limit of 1 email was reached on the month's first day with a send
    expect(f.plan_limit?.reached_on).toMatch(/^2026-04-/)
    expect(f.plan_limit?.probability_exceeded).toBe(1)
    const far = await g.asTenant('t02', (trx) =>
      usageForecast(trx, { tenantId: 't02', through, planLimit: 10_000_000 }),
    )
    expect(far.plan_limit).toMatchObject({
      reached_on: null,
      projected_crossing: null,
      latest_crossing: null,
      probability_exceeded: 0,
    })
  })

  it('shows a tenant only its own usage', async () => {
    const own = await g.asTenant('t01', (trx) =>
      usageForecast(trx, { tenantId: 't01', through: '2026-04-16' }),
    )
    expect(own.rows[0]?.month_to_date).toBeGreaterThan(0)
    const other = await g.asTenant('t01', (trx) =>
      usageForecast(trx, { tenantId: 't02', through: '2026-04-16' }),
    )
    expect(other.rows.map((r) => r.month_to_date)).toEqual([0, 0, 0, 0, 0, 0])
  })

  it('names the parameter that is wrong', async () => {
    const attempt = (params: Record<string, unknown>) =>
      g.asTenant('t01', (trx) => usageForecast(trx, { tenantId: 't01', ...params }))
    await expect(attempt({ through: '2026-02-30' })).rejects.toMatchObject({ parameter: 'through' })
    await expect(attempt({ planLimit: 0 })).rejects.toMatchObject({ parameter: 'plan_limit' })
    await expect(attempt({ windowDays: 3 })).rejects.toBeInstanceOf(InvalidQueryError)
  })
})

describe('projectMonthEnd', () => {
  const days = (from: string, to: string, value: (weekend: boolean) => number) =>
    daysBetween(from, to).map((day) => {
      const n = ((((parseDay(day) as number) + 4) % 7) + 7) % 7
      return { day, value: value(n === 0 || n === 6) }
    })

  it('projects each remaining day at its weekday or weekend rate, exactly when days do not vary', () => {
    // 2026-03-02 is a Monday: four whole weeks of history, 100 a weekday and 10 a weekend day
    const history = days('2026-03-02', '2026-03-30', (weekend) => (weekend ? 10 : 100))
    const remaining = daysBetween('2026-03-30', '2026-04-06') // Mon 30 … Sun 5: 5 weekdays, 2 weekend days
    const p = projectMonthEnd({ history, monthToDate: 1000, remaining })
    expect(p.rates).toEqual({ weekday: 100, weekend: 10 })
    expect(p).toMatchObject({ projected: 1520, lower: 1520, upper: 1520, sd: 0 })
    const crossing = limitCrossing(1300, [], p)
    expect(crossing).toMatchObject({
      reached_on: null,
      projected_crossing: '2026-04-01', // 1100, 1200, 1300
      earliest_crossing: '2026-04-01',
      latest_crossing: '2026-04-01',
      probability_exceeded: 1,
    })
  })

  it('widens the interval with day-to-day variance and with the days still to come', () => {
    const noisy = days('2026-03-02', '2026-03-30', () => 0).map((d, i) => ({
      ...d,
      value: 50 + (i % 3) * 20,
    }))
    const short = projectMonthEnd({
      history: noisy,
      monthToDate: 0,
      remaining: daysBetween('2026-03-30', '2026-04-02'),
    })
    const long = projectMonthEnd({
      history: noisy,
      monthToDate: 0,
      remaining: daysBetween('2026-03-30', '2026-04-20'),
    })
    const width = (p: typeof short) => (p.upper as number) - (p.lower as number)
    expect(width(short)).toBeGreaterThan(0)
    expect(width(long)).toBeGreaterThan(width(short))
    // never below what was already counted
    expect(
      projectMonthEnd({ history: noisy, monthToDate: 500, remaining: ['2026-03-31'] }).lower,
    ).toBeGreaterThanOrEqual(500)
  })

  it('gives no interval without two days to estimate a variance', () => {
    const p = projectMonthEnd({
      history: [{ day: '2026-03-02', value: 40 }],
      monthToDate: 40,
      remaining: ['2026-03-03'],
    })
    expect(p).toMatchObject({ projected: 80, lower: null, upper: null })
  })
})
