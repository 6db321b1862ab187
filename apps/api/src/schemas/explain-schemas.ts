import { z } from '@hono/zod-openapi'
import {
  EXPLAINABLE_METRICS,
  EXPLAINABLE_TABLES,
  type ExplainableMetric,
  type ExplainableTable,
  type MetricExplanation,
  RECONCILIATION_CHECKS,
  type SourceEmailRow,
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
    reconciliation: z.array(
      z.object({
        check: z.enum(RECONCILIATION_CHECKS),
        description: z.string(),
        parts: z.array(z.object({ label: z.string(), value: z.number().int() })),
        parts_total: z.number().int(),
        total: z.number().int(),
        holds: z.boolean().openapi({ description: 'parts_total equals total' }),
      }),
    ),
  })
  .openapi('Explanation') satisfies z.ZodType<Omit<MetricExplanation, 'emails'>>
