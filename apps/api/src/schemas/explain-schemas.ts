import { z } from '@hono/zod-openapi'
import {
  EXPLAINABLE_METRICS,
  EXPLAINABLE_TABLES,
  type ExplainableMetric,
  type ExplainableTable,
  FIGURE_SUBJECTS,
  type FigureExplanation,
  FUNNEL_SHARES,
  type MetricExplanation,
  RATE_COLUMNS,
  RATE_TABLES,
  type RateExplanation,
  type RateSourceEmailRow,
  RECONCILIATION_CHECKS,
  type SourceEmailRow,
  USAGE_RATIO_INPUTS,
  USAGE_RATIOS,
  type UsageRatioExplanation,
} from '@penguinmails/bi-queries'

const instant = z.string().openapi({ format: 'date-time' })
const day = z.string().openapi({ format: 'date', example: '2024-03-01' })
const tables = Object.keys(EXPLAINABLE_TABLES) as [ExplainableTable, ...ExplainableTable[]]
const metrics = [...new Set(Object.values(EXPLAINABLE_METRICS).flat())] as [
  ExplainableMetric,
  ...ExplainableMetric[],
]

export const SourceEmailRowSchema = z
  .object({
    id: z.string().openapi({ description: 'emails.id (a bigint, as a string)', example: '1234' }),
    day: day.openapi({ description: 'the send day in the tenant time zone' }),
    sent_at: instant,
    status: z.string(),
    email_account_id: z.string(),
    campaign_id: z.string().nullable(),
    sequence_step_id: z.string().nullable(),
    lead_id: z.string().nullable(),
    is_warmup: z.boolean(),
    opened_at: instant.nullable(),
    clicked_at: instant.nullable(),
    replied_at: instant.nullable(),
    bounce_type: z.string().nullable(),
    unsubscribed_at: instant.nullable(),
    complaint_at: instant.nullable(),
  })
  .openapi('SourceEmailRow') satisfies z.ZodType<SourceEmailRow>

const statement = z.object({
  statement: z.string().openapi({ description: 'SQL with $n placeholders' }),
  parameters: z.array(z.unknown()).openapi({ description: 'the values of $1, $2, …' }),
})

const reconciliationCheck = z.object({
  check: z.enum(RECONCILIATION_CHECKS),
  description: z.string(),
  parts: z.array(z.object({ label: z.string(), value: z.number().int() })),
  parts_total: z.number().int(),
  total: z.number().int(),
  holds: z.boolean().openapi({ description: 'parts_total equals total' }),
})

export const ExplanationSchema = z
  .object({
    table: z.enum(tables),
    metric: z.enum(metrics),
    key: z
      .record(z.string(), z.string())
      .openapi({ description: 'the row key: its id column, or the billing period' }),
    from: day.openapi({ description: 'first day covered (tenant time zone)' }),
    to: day.openapi({ description: 'first day after the range' }),
    value: z
      .number()
      .int()
      .openapi({ description: 'the figure as the analytics table holds it (a range: the sum)' }),
    formula: z.string().openapi({ description: 'the data contract’s definition, in words' }),
    sql: z.object({
      figure: statement.openapi({ description: 'reads the figure from the analytics table' }),
      source: statement.openapi({
        description: 'selects the source emails behind the figure; data lists them',
      }),
      aggregator: z.string().openapi({ description: 'the aggregator step that writes the row' }),
    }),
    source_count: z
      .number()
      .int()
      .openapi({ description: 'the source emails counted now; equals value once aggregated' }),
    reconciliation: z.array(reconciliationCheck),
  })
  .openapi('Explanation') satisfies z.ZodType<Omit<MetricExplanation, 'emails'>>

export const RateSourceEmailRowSchema = SourceEmailRowSchema.extend({
  in_numerator: z.boolean().openapi({ description: 'the email is counted by the numerator' }),
  in_denominator: z.boolean().openapi({ description: 'the email is counted by the denominator' }),
}).openapi('RateSourceEmailRow') satisfies z.ZodType<RateSourceEmailRow>

const countExplanation = ExplanationSchema

export const RateExplanationSchema = z
  .object({
    table: z.enum(RATE_TABLES),
    rate: z.enum([...RATE_COLUMNS, ...FUNNEL_SHARES]),
    key: z.record(z.string(), z.string()).openapi({ description: 'the row key: its id column' }),
    from: day.openapi({ description: 'first day covered (tenant time zone)' }),
    to: day.openapi({ description: 'first day after the range' }),
    value: z.number().nullable().openapi({
      description:
        'the rate as the API returns it: round(100 · numerator / denominator, 2); null on a zero denominator',
    }),
    formula: z.string().openapi({ description: 'the data contract’s definition, in words' }),
    numerator: countExplanation.openapi({ description: 'the numerator, explained as a count' }),
    denominator: countExplanation.nullable().openapi({
      description:
        'the denominator, explained as a count; null without one (the first step’s conversion_from_previous)',
    }),
    interval: z
      .object({ lower: z.number(), upper: z.number(), z: z.number() })
      .nullable()
      .openapi({ description: 'the 95% Wilson score interval, percent; null with the rate' }),
    insufficient_sample: z.boolean().nullable().openapi({
      description:
        'the denominator is below minimum_sample; null for the funnel shares (not proportions of one sample)',
    }),
    minimum_sample: z.number().int(),
    sql: z.object({
      figure: statement.openapi({ description: 'the rate over the two figures' }),
      source: statement.openapi({
        description: 'selects the emails of the numerator and the denominator; data lists them',
      }),
    }),
  })
  .openapi('RateExplanation') satisfies z.ZodType<Omit<RateExplanation, 'emails'>>

const figureValue = z.union([z.number(), z.string(), z.boolean(), z.null()])

export const FigureExplanationSchema = z
  .object({
    subject: z.enum(FIGURE_SUBJECTS),
    metric: z.string(),
    key: z.record(z.string(), z.string()).openapi({ description: 'the row key' }),
    from: day.nullable().openapi({ description: 'first day covered; null: all days' }),
    to: day.nullable().openapi({ description: 'first day after the range; null: all days' }),
    value: figureValue.openapi({ description: 'the figure as the API returns it' }),
    formula: z.string().openapi({ description: 'the data contract’s definition, in words' }),
    inputs: z.record(z.string(), figureValue).openapi({ description: 'the figure’s inputs' }),
    days: z
      .array(z.record(z.string(), figureValue))
      .openapi({ description: 'the analytics day rows it is computed from' }),
    sample: z
      .object({ size: z.number().int(), minimum: z.number().int(), insufficient: z.boolean() })
      .nullable()
      .openapi({ description: 'the emails it rests on against the minimum to judge' }),
    sql: z.object({
      figure: statement.openapi({ description: 'reads the figure as the API does' }),
      source: statement.openapi({ description: 'selects the source emails; data lists them' }),
      recompute: statement.openapi({ description: 'recomputes the figure from the source alone' }),
      aggregator: z.string(),
    }),
    source_count: z.number().int(),
    recomputed: figureValue.openapi({ description: 'the figure recomputed now from the source' }),
    recomputed_matches: z.boolean(),
    reconciliation: z.array(reconciliationCheck),
  })
  .openapi('FigureExplanation') satisfies z.ZodType<Omit<FigureExplanation, 'emails'>>

export const UsageRatioExplanationSchema = z
  .object({
    metric: z.enum(USAGE_RATIOS),
    period: z.string().openapi({ description: 'the billing period, YYYY-MM', example: '2024-03' }),
    from: day.openapi({ description: 'first day of the period (tenant time zone)' }),
    to: day.openapi({ description: 'first day after the period' }),
    value: z.number().nullable().openapi({
      description:
        'the figure exactly as /v1/usage returns it for the period (same statement, same rounding); null when it returns null or no row',
    }),
    formula: z.string().openapi({ description: 'the data contract’s definition, in words' }),
    null_reason: z.string().nullable().openapi({
      description:
        'why value is null: a zero denominator, no previous period, no billing row; null when it is not',
    }),
    inputs: z
      .object(
        Object.fromEntries(
          USAGE_RATIO_INPUTS.map((i) => [i, countExplanation.optional()]),
        ) as Record<(typeof USAGE_RATIO_INPUTS)[number], z.ZodOptional<typeof countExplanation>>,
      )
      .openapi({
        description:
          'each input explained as a usage measure (value, formula, SQL, source count, reconciliation); previous_period_emails is emails_sent of the month before; its source emails: input=… lists them',
      }),
    recomputed: z
      .number()
      .nullable()
      .openapi({ description: 'the formula over the inputs’ values, with the route’s rounding' }),
    recomputed_from_source: z.number().nullable().openapi({
      description: 'the formula over the inputs’ source emails counted now',
    }),
    recomputed_matches: z.boolean(),
    sql: z.object({
      figure: statement.openapi({ description: 'the statement /v1/usage runs' }),
      recompute: statement.openapi({ description: 'the formula over the inputs’ values' }),
    }),
    emails_of: z
      .enum(USAGE_RATIO_INPUTS)
      .openapi({ description: 'the input whose source emails data lists' }),
  })
  .openapi('UsageRatioExplanation') satisfies z.ZodType<Omit<UsageRatioExplanation, 'emails'>>
