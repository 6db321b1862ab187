import { type OpenAPIHono, z } from '@hono/zod-openapi'
import { BILLING_MEASURES, type UsageForecastRow, usageForecast } from '@penguinmails/bi-queries'
import type { AppEnv } from '../app-env.js'
import type { AppContext } from '../context.js'
import { calendarDate, formatField } from '../schemas/query-parameters.js'
import { registerTenantRead } from './read-route.js'

const positiveWhole = (description: string, max: number) =>
  z
    .string()
    .regex(/^\d{1,12}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(max))
    .openapi({ type: 'integer', minimum: 1, maximum: max, description })

const value = (description: string) => z.number().int().nullable().openapi({ description })

const UsageForecastRowSchema = z
  .object({
    measure: z.enum(BILLING_MEASURES),
    month_to_date: z
      .number()
      .int()
      .openapi({ description: 'over the complete days of the month before through' }),
    projected: value('month-end projection; null for distinct counts, which are not projected'),
    lower: value('95% prediction interval, lower bound (never below month_to_date)'),
    upper: value('95% prediction interval, upper bound'),
  })
  .openapi('UsageForecastRow') satisfies z.ZodType<UsageForecastRow>

const day = (description: string) => z.string().openapi({ format: 'date', description })

export function registerForecastRoutes(app: OpenAPIHono<AppEnv>, context: AppContext): void {
  registerTenantRead(app, context, {
    name: 'usage_forecast',
    path: '/forecast',
    tag: 'usage',
    summary: 'Month-end usage forecast',
    description:
      'Projects the current billing period’s emails_sent to month end from the complete days so far, weekday-aware (Mon–Fri and Sat–Sun rates over the last window_days days), with a 95% prediction interval; the distinct-count measures are reported month-to-date only. The schema has no plan limits, so the limit is a query parameter: with plan_limit the response says when the projection crosses it. Method and backtest: docs/forecast.md.',
    query: z.strictObject({
      through: calendarDate(
        'first local day not counted (default: today in the tenant time zone); the forecast is for its month',
      ).optional(),
      plan_limit: positiveWhole(
        'emails_sent allowed per billing period: report when the projection crosses it',
        1_000_000_000_000,
      ).optional(),
      window_days: positiveWhole(
        'complete days before through that estimate the daily rates, 7 to 366 (default 7)',
        366,
      ).optional(),
      ...formatField,
    }),
    params: z.object({}),
    row: UsageForecastRowSchema,
    paginated: false,
    extra: {
      period: z.string().openapi({ example: '2024-03', description: 'the month forecast' }),
      period_from: day('first day of the month'),
      period_to: day('first day of the next month'),
      through: day('first day not counted'),
      days_elapsed: z.number().int(),
      days_remaining: z.number().int(),
      window_days: z.number().int(),
      level: z.number().openapi({ description: 'of the prediction interval' }),
      method: z.string(),
      daily_rate: z
        .object({ weekday: z.number(), weekend: z.number() })
        .openapi({ description: 'the mean daily emails_sent projected for the days to come' }),
      plan_limit: z
        .object({
          limit: z.number().int(),
          reached_on: day('the day month-to-date reached the limit').nullable(),
          projected_crossing: day('first day the expected count reaches it').nullable(),
          earliest_crossing: day('first day the interval’s upper bound reaches it').nullable(),
          latest_crossing: day('first day the interval’s lower bound reaches it').nullable(),
          probability_exceeded: z
            .number()
            .openapi({ description: 'P(month-end emails_sent ≥ limit), normal approximation' }),
        })
        .nullable()
        .openapi({ description: 'null without plan_limit' }),
    },
    read: async (trx, { tenantId, query }) => {
      const { rows, ...forecast } = await usageForecast(trx, {
        tenantId,
        through: query.through,
        planLimit: query.plan_limit,
        windowDays: query.window_days,
      })
      return { rows, extra: forecast }
    },
  })
}
