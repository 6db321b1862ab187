import { type OpenAPIHono, z } from '@hono/zod-openapi'
import {
  BILLING_MEASURES,
  EXPLAINABLE_METRICS,
  explainMetric,
  type MetricExplanation,
} from '@penguinmails/bi-queries'
import type { AppEnv } from '../app-env.js'
import type { AppContext } from '../context.js'
import { ExplanationSchema, SourceEmailRowSchema } from '../schemas/explain-schemas.js'
import {
  checkRange,
  dateRangeFields,
  formatField,
  identifier,
  pageFields,
} from '../schemas/query-parameters.js'
import type { ReadResult } from './read-route.js'
import { registerTenantRead } from './read-route.js'

const campaignMetrics = EXPLAINABLE_METRICS.campaign_analytics
const mailboxMetrics = EXPLAINABLE_METRICS.mailbox_analytics

function asResult(e: MetricExplanation | null): ReadResult | null {
  if (e === null) return null
  const { emails, ...explanation } = e
  return { rows: emails.rows, nextCursor: emails.nextCursor, extra: { explanation } }
}

const EXPLAINED =
  'Returns the contract’s formula in words, the SQL that reads the figure and the SQL that selects its source emails, the reconciliations it takes part in (source emails = figure; day rows = range total; step rows = campaign row, except completed_leads; campaign rows = the tenant’s usage over whole months), and, as data, the source emails themselves (keyset-paginated; CSV exports them all).'

export function registerExplainRoutes(app: OpenAPIHono<AppEnv>, context: AppContext): void {
  registerTenantRead(app, context, {
    name: 'explain_campaign',
    path: '/explain/campaigns/{campaignId}',
    tag: 'explain',
    summary: 'Explain a campaign or sequence-step figure',
    description: `Explains one figure of campaign_analytics (or, with step, of sequence_step_analytics) over the days [from, to): a single day is from=d&to=d+1, as the trend shows it; a range is the campaign performance figure. ${EXPLAINED}`,
    query: z
      .strictObject({
        metric: z
          .enum(campaignMetrics)
          .optional()
          .openapi({ description: 'the column to explain (default sent)' }),
        step: identifier(
          'a sequence step of the campaign: explain its sequence_step_analytics figure instead',
        ).optional(),
        ...dateRangeFields,
        ...pageFields,
        ...formatField,
      })
      .superRefine(checkRange)
      .superRefine((value, ctx) => {
        if (value.step !== undefined && value.metric === 'completed_leads')
          ctx.addIssue({
            code: 'custom',
            path: ['metric'],
            message: 'completed_leads is a campaign figure; steps have no such column',
          })
      }),
    params: z.object({ campaignId: identifier('the campaign id') }),
    row: SourceEmailRowSchema,
    paginated: true,
    extra: { explanation: ExplanationSchema },
    resourceId: (p) => p.campaignId,
    read: async (trx, { tenantId, query, params, limit, cursor }) => {
      const step = query.step
      if (step !== undefined) {
        const owned = await trx
          .selectFrom('campaign_sequence_steps')
          .select('id')
          .where('tenant_id', '=', tenantId)
          .where('campaign_id', '=', params.campaignId)
          .where('id', '=', step)
          .executeTakeFirst()
        if (owned === undefined) return null
      }
      return asResult(
        await explainMetric(trx, {
          tenantId,
          table: step === undefined ? 'campaign_analytics' : 'sequence_step_analytics',
          metric: query.metric ?? 'sent',
          key: step ?? params.campaignId,
          from: query.from,
          to: query.to,
          limit,
          cursor,
        }),
      )
    },
  })

  registerTenantRead(app, context, {
    name: 'explain_mailbox',
    path: '/explain/mailboxes/{mailboxId}',
    tag: 'explain',
    summary: 'Explain a mailbox or warmup figure',
    description: `Explains one figure of mailbox_analytics (its campaign emails, and current_volume: all its emails) or, with warmup=true, of warmup_analytics (its warmup emails), over the days [from, to). ${EXPLAINED}`,
    query: z
      .strictObject({
        metric: z
          .enum(mailboxMetrics)
          .optional()
          .openapi({ description: 'the column to explain (default sent)' }),
        warmup: z
          .enum(['true', 'false'])
          .optional()
          .openapi({ description: 'true: explain the warmup_analytics figure instead' }),
        ...dateRangeFields,
        ...pageFields,
        ...formatField,
      })
      .superRefine(checkRange)
      .superRefine((value, ctx) => {
        if (value.warmup === 'true' && value.metric === 'current_volume')
          ctx.addIssue({
            code: 'custom',
            path: ['metric'],
            message:
              'current_volume is a mailbox_analytics figure; warmup rows have no such column',
          })
      }),
    params: z.object({ mailboxId: identifier('the mailbox (email account) id') }),
    row: SourceEmailRowSchema,
    paginated: true,
    extra: { explanation: ExplanationSchema },
    resourceId: (p) => p.mailboxId,
    read: async (trx, { tenantId, query, params, limit, cursor }) =>
      asResult(
        await explainMetric(trx, {
          tenantId,
          table: query.warmup === 'true' ? 'warmup_analytics' : 'mailbox_analytics',
          metric: query.metric ?? 'sent',
          key: params.mailboxId,
          from: query.from,
          to: query.to,
          limit,
          cursor,
        }),
      ),
  })

  registerTenantRead(app, context, {
    name: 'explain_usage',
    path: '/explain/usage',
    tag: 'explain',
    summary: 'Explain a usage (billing period) figure',
    description: `Explains one measure of billing_analytics for one billing period (a calendar month in the tenant time zone). ${EXPLAINED}`,
    query: z.strictObject({
      metric: z
        .enum(BILLING_MEASURES)
        .optional()
        .openapi({ description: 'the measure to explain (default emails_sent)' }),
      period: z
        .string()
        .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month as YYYY-MM')
        .optional()
        .openapi({
          example: '2024-03',
          description: 'the month, YYYY-MM (default: the current month in the tenant time zone)',
        }),
      ...pageFields,
      ...formatField,
    }),
    params: z.object({}),
    row: SourceEmailRowSchema,
    paginated: true,
    extra: { explanation: ExplanationSchema },
    read: async (trx, { tenantId, query, limit, cursor }) =>
      asResult(
        await explainMetric(trx, {
          tenantId,
          table: 'billing_analytics',
          metric: query.metric ?? 'emails_sent',
          period: query.period,
          limit,
          cursor,
        }),
      ),
  })
}
