import { type OpenAPIHono, z } from '@hono/zod-openapi'
import {
  BILLING_MEASURES,
  EXPLAINABLE_METRICS,
  explainActiveDays,
  explainFunnelShare,
  explainLead,
  explainMailboxHealth,
  explainMetric,
  explainRate,
  explainUsageRatio,
  explainWarmup,
  explainWarmupProgress,
  type FigureExplanation,
  FUNNEL_SHARES,
  type FunnelShare,
  INPUTS_OF_USAGE_RATIO,
  LEAD_METRICS,
  type MetricExplanation,
  RATE_COLUMNS,
  type RateColumn,
  type RateExplanation,
  USAGE_RATIO_INPUTS,
  USAGE_RATIOS,
  type UsageRatioExplanation,
  WARMUP_EXPLAINED,
} from '@penguinmails/bi-queries'
import type { DB } from '@penguinmails/schema'
import type { Transaction } from 'kysely'
import type { AppEnv } from '../app-env.js'
import type { AppContext } from '../context.js'
import {
  ExplanationSchema,
  FigureExplanationSchema,
  RateExplanationSchema,
  RateSourceEmailRowSchema,
  SourceEmailRowSchema,
  UsageRatioExplanationSchema,
} from '../schemas/explain-schemas.js'
import {
  calendarDate,
  checkRange,
  dateRangeFields,
  daysField,
  formatField,
  identifier,
  pageFields,
} from '../schemas/query-parameters.js'
import type { ReadResult } from './read-route.js'
import { registerTenantRead } from './read-route.js'

const campaignMetrics = EXPLAINABLE_METRICS.campaign_analytics
const mailboxMetrics = EXPLAINABLE_METRICS.mailbox_analytics

function asResult(
  e: MetricExplanation | RateExplanation | FigureExplanation | UsageRatioExplanation | null,
): ReadResult | null {
  if (e === null) return null
  const { emails, ...explanation } = e
  return { rows: emails.rows, nextCursor: emails.nextCursor, extra: { explanation } }
}

const rateField = {
  rate: z.enum(RATE_COLUMNS).openapi({ description: 'the rate to explain' }),
}

const campaignRates = [...RATE_COLUMNS, ...FUNNEL_SHARES] as const
const isShare = (rate: string): rate is FunnelShare =>
  (FUNNEL_SHARES as readonly string[]).includes(rate)

const DERIVED =
  'Returns the contract’s formula in words, its inputs and the day rows it is computed from, the sample it rests on (insufficient below the documented minimum), the SQL that reads it, selects its source emails and recomputes it from the source alone, the recomputed value, the reconciliations, and, as data, the source emails (keyset-paginated; CSV exports them all).'

const EXPLAINED =
  'Returns the contract’s formula in words, the SQL that reads the figure and the SQL that selects its source emails, the reconciliations it takes part in (source emails = figure; day rows = range total; step rows = campaign row, except completed_leads; campaign rows = the tenant’s usage over whole months), and, as data, the source emails themselves (keyset-paginated; CSV exports them all).'

const ENTITY = {
  campaign: { param: 'campaignId', description: 'the campaign id' },
  mailbox: { param: 'mailboxId', description: 'the mailbox (email account) id' },
} as const

/**
 * A figure of one campaign or mailbox over [from, to), explained with its source emails as the
 * paginated data: the shape shared by the active-days, health and warmup-progress routes.
 */
function registerEntityFigure(
  app: OpenAPIHono<AppEnv>,
  context: AppContext,
  route: {
    name: string
    path: string
    entity: keyof typeof ENTITY
    summary: string
    description: string
    explain: (
      trx: Transaction<DB>,
      args: {
        tenantId: string
        key: string
        from: string
        to: string
        limit: number
        cursor: string | undefined
      },
    ) => Promise<FigureExplanation | null>
  },
): void {
  const { param, description } = ENTITY[route.entity]
  registerTenantRead(app, context, {
    name: route.name,
    path: route.path,
    tag: 'explain',
    summary: route.summary,
    description: `${route.description} ${DERIVED}`,
    query: z
      .strictObject({ ...dateRangeFields, ...pageFields, ...formatField })
      .superRefine(checkRange),
    params: z.object({ [param]: identifier(description) }),
    row: SourceEmailRowSchema,
    paginated: true,
    extra: { explanation: FigureExplanationSchema },
    resourceId: (p) => p[param],
    read: async (trx, { tenantId, query, params, limit, cursor }) =>
      asResult(
        await route.explain(trx, {
          tenantId,
          // validated as present by the params schema above, built on the same name
          key: params[param] as string,
          from: query.from,
          to: query.to,
          limit,
          cursor,
        }),
      ),
  })
}

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
      if (step !== undefined && !(await stepOfCampaign(trx, tenantId, params.campaignId, step)))
        return null
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

  registerTenantRead(app, context, {
    name: 'explain_usage_ratio',
    path: '/explain/usage/ratios',
    tag: 'explain',
    summary: 'Explain a usage ratio (per mailbox, per campaign, growth)',
    description:
      'Explains a derived figure of the /v1/usage row of one billing period (a calendar month in the tenant time zone): emails_per_mailbox (the default), emails_per_campaign, previous_period_emails or mom_growth. Returns its value exactly as /v1/usage returns it (the same statement, shown), the formula in words, each input explained as a usage measure (value, formula, SQL, source count, reconciliation; previous_period_emails: emails_sent of the month before), the value recomputed from the inputs and from their source emails, why it is null when it is (zero denominator, no previous period, no billing row), and, as data, the source emails of one input (input=…, default the first; keyset-paginated; CSV exports them all).',
    query: z
      .strictObject({
        metric: z
          .enum(USAGE_RATIOS)
          .optional()
          .openapi({ description: 'the figure to explain (default emails_per_mailbox)' }),
        period: z
          .string()
          .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month as YYYY-MM')
          .optional()
          .openapi({
            example: '2024-03',
            description: 'the month, YYYY-MM (default: the current month in the tenant time zone)',
          }),
        input: z.enum(USAGE_RATIO_INPUTS).optional().openapi({
          description:
            'the input whose source emails data lists (default: the first of the figure’s inputs)',
        }),
        ...pageFields,
        ...formatField,
      })
      .superRefine((value, ctx) => {
        const metric = value.metric ?? 'emails_per_mailbox'
        const inputs = INPUTS_OF_USAGE_RATIO[metric]
        if (value.input !== undefined && !inputs.includes(value.input))
          ctx.addIssue({
            code: 'custom',
            path: ['input'],
            message: `${metric} is made of ${inputs.join(', ')}`,
          })
      }),
    params: z.object({}),
    row: SourceEmailRowSchema,
    paginated: true,
    extra: { explanation: UsageRatioExplanationSchema },
    read: async (trx, { tenantId, query, limit, cursor }) =>
      asResult(
        await explainUsageRatio(trx, {
          tenantId,
          ratio: query.metric ?? 'emails_per_mailbox',
          period: query.period,
          input: query.input,
          limit,
          cursor,
        }),
      ),
  })

  registerEntityFigure(app, context, {
    name: 'explain_campaign_active_days',
    path: '/explain/campaigns/{campaignId}/active-days',
    entity: 'campaign',
    summary: 'Explain a campaign’s active_days',
    description: `Explains the active_days /v1/campaigns/performance returns for the campaign over [from, to): the number of its campaign_analytics day rows in the range (each a day with campaign emails), the rows counted, the count recomputed as the distinct send days of its emails.`,
    explain: (trx, { key, ...rest }) =>
      explainActiveDays(trx, { ...rest, table: 'campaign_analytics', key }),
  })

  registerEntityFigure(app, context, {
    name: 'explain_mailbox_active_days',
    path: '/explain/mailboxes/{mailboxId}/active-days',
    entity: 'mailbox',
    summary: 'Explain a mailbox’s active_days',
    description: `Explains the active_days /v1/mailboxes returns for the mailbox over [from, to): the number of its mailbox_analytics day rows in the range (each a day with any email, campaign or warmup), the rows counted, the count recomputed as the distinct send days of its emails.`,
    explain: (trx, { key, ...rest }) =>
      explainActiveDays(trx, { ...rest, table: 'mailbox_analytics', key }),
  })

  registerTenantRead(app, context, {
    name: 'explain_campaign_rate',
    path: '/explain/campaigns/{campaignId}/rates',
    tag: 'explain',
    summary: 'Explain a campaign or sequence-step rate',
    description:
      'Explains one of the five rates of a campaign (campaign performance over a range, the trend over one day: from=d&to=d+1) or, with step, of a sequence step (the funnel; also its share_of_first_step and conversion_from_previous, without interval) over the days [from, to): the rate as the API returns it, its numerator and denominator each explained as a count (value, formula, SQL, reconciliation), its 95% Wilson interval and insufficient_sample flag, and, as data, the source emails of numerator and denominator, each marked in_numerator / in_denominator (keyset-paginated; CSV exports them all).',
    query: z
      .strictObject({
        rate: z.enum(campaignRates).openapi({
          description:
            'the rate to explain; share_of_first_step and conversion_from_previous are the funnel’s shares of a step (they need step)',
        }),
        step: identifier('a sequence step of the campaign: explain its rate instead').optional(),
        ...dateRangeFields,
        ...pageFields,
        ...formatField,
      })
      .superRefine(checkRange)
      .superRefine((value, ctx) => {
        if (isShare(value.rate) && value.step === undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['step'],
            message: `${value.rate} is a share of a funnel step: name the step`,
          })
      }),
    params: z.object({ campaignId: identifier('the campaign id') }),
    row: RateSourceEmailRowSchema,
    paginated: true,
    extra: { explanation: RateExplanationSchema },
    resourceId: (p) => p.campaignId,
    read: async (trx, { tenantId, query, params, limit, cursor }) => {
      const step = query.step
      if (step !== undefined && !(await stepOfCampaign(trx, tenantId, params.campaignId, step)))
        return null
      if (isShare(query.rate))
        return asResult(
          await explainFunnelShare(trx, {
            tenantId,
            campaignId: params.campaignId,
            step: step as string,
            share: query.rate,
            from: query.from,
            to: query.to,
            limit,
            cursor,
          }),
        )
      return asResult(
        await explainRate(trx, {
          tenantId,
          table: step === undefined ? 'campaign_analytics' : 'sequence_step_analytics',
          rate: query.rate as RateColumn,
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
    name: 'explain_mailbox_rate',
    path: '/explain/mailboxes/{mailboxId}/rates',
    tag: 'explain',
    summary: 'Explain a mailbox rate',
    description:
      'Explains one of the five rates /v1/mailboxes returns for a mailbox (over its campaign emails) over the days [from, to): the rate, its numerator and denominator explained as counts, its 95% Wilson interval and insufficient_sample flag, and, as data, the source emails of both, each marked in_numerator / in_denominator.',
    query: z
      .strictObject({ ...rateField, ...dateRangeFields, ...pageFields, ...formatField })
      .superRefine(checkRange),
    params: z.object({ mailboxId: identifier('the mailbox (email account) id') }),
    row: RateSourceEmailRowSchema,
    paginated: true,
    extra: { explanation: RateExplanationSchema },
    resourceId: (p) => p.mailboxId,
    read: async (trx, { tenantId, query, params, limit, cursor }) =>
      asResult(
        await explainRate(trx, {
          tenantId,
          table: 'mailbox_analytics',
          rate: query.rate,
          key: params.mailboxId,
          from: query.from,
          to: query.to,
          limit,
          cursor,
        }),
      ),
  })

  registerEntityFigure(app, context, {
    name: 'explain_mailbox_health',
    path: '/explain/mailboxes/{mailboxId}/health',
    entity: 'mailbox',
    summary: 'Explain a mailbox health score',
    description: `Explains the health_score /v1/mailboxes returns for the mailbox over [from, to): that of its last active day, over all its emails of the 7 days ending it.`,
    explain: (trx, { key, ...rest }) => explainMailboxHealth(trx, { ...rest, mailboxId: key }),
  })

  registerEntityFigure(app, context, {
    name: 'explain_mailbox_warmup_progress',
    path: '/explain/mailboxes/{mailboxId}/warmup-progress',
    entity: 'mailbox',
    summary: 'Explain a mailbox warmup progress',
    description: `Explains the warmup_progress_percentage /v1/mailboxes returns for the mailbox over [from, to): the progress of its last warmup day in the range, from its warmup status row.`,
    explain: (trx, { key, ...rest }) => explainWarmupProgress(trx, { ...rest, mailboxId: key }),
  })

  registerTenantRead(app, context, {
    name: 'explain_warmup',
    path: '/explain/warmup/{mailboxId}',
    tag: 'explain',
    summary: 'Explain a warmup figure',
    description: `Explains one figure of the mailbox’s /v1/warmup row over the window of days before to (the same days and to as /v1/warmup): health, category, progress, daily progress increase, delivery, sample. ${DERIVED}`,
    query: z.strictObject({
      metric: z
        .enum(WARMUP_EXPLAINED)
        .optional()
        .openapi({ description: 'the figure to explain (default avg_health_score)' }),
      days: daysField('the window length in days, as /v1/warmup takes it', 30),
      to: calendarDate(
        'first day after the window, excluded (default: tomorrow in the tenant time zone)',
      ).optional(),
      ...pageFields,
      ...formatField,
    }),
    params: z.object({ mailboxId: identifier('the mailbox (email account) id') }),
    row: SourceEmailRowSchema,
    paginated: true,
    extra: { explanation: FigureExplanationSchema },
    resourceId: (p) => p.mailboxId,
    read: async (trx, { tenantId, query, params, limit, cursor }) =>
      asResult(
        await explainWarmup(trx, {
          tenantId,
          mailboxId: params.mailboxId,
          metric: query.metric ?? 'avg_health_score',
          days: query.days,
          to: query.to,
          limit,
          cursor,
        }),
      ),
  })

  registerTenantRead(app, context, {
    name: 'explain_campaign_lead',
    path: '/explain/campaigns/{campaignId}/leads/{leadId}',
    tag: 'explain',
    summary: 'Explain a lead figure of a campaign',
    description: `Explains one column of the lead’s row of /v1/campaigns/{campaignId}/leads (lead_analytics, over all days): a count, status or last_sent_at. ${DERIVED}`,
    query: z.strictObject({
      metric: z
        .enum(LEAD_METRICS)
        .optional()
        .openapi({ description: 'the column to explain (default status)' }),
      ...pageFields,
      ...formatField,
    }),
    params: z.object({
      campaignId: identifier('the campaign id'),
      leadId: identifier('the lead id'),
    }),
    row: SourceEmailRowSchema,
    paginated: true,
    extra: { explanation: FigureExplanationSchema },
    resourceId: (p) => `${p.campaignId}/${p.leadId}`,
    read: async (trx, { tenantId, query, params, limit, cursor }) =>
      asResult(
        await explainLead(trx, {
          tenantId,
          campaignId: params.campaignId,
          leadId: params.leadId,
          metric: query.metric ?? 'status',
          limit,
          cursor,
        }),
      ),
  })
}

async function stepOfCampaign(
  trx: Transaction<DB>,
  tenantId: string,
  campaignId: string,
  step: string,
): Promise<boolean> {
  const owned = await trx
    .selectFrom('campaign_sequence_steps')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('campaign_id', '=', campaignId)
    .where('id', '=', step)
    .executeTakeFirst()
  return owned !== undefined
}
