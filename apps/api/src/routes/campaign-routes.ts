import { type OpenAPIHono, z } from '@hono/zod-openapi'
import {
  CAMPAIGN_LEAD_SORTS,
  CAMPAIGN_PERFORMANCE_SORTS,
  type CampaignLeadSort,
  type CampaignPerformanceSort,
  campaignDailyTrend,
  campaignLeads,
  campaignPerformance,
  comparePeriods,
  LEAD_STATUSES,
  type PeriodComparison,
  stepFunnel,
} from '@penguinmails/bi-queries'
import type { DB } from '@penguinmails/schema'
import type { Transaction } from 'kysely'
import type { AppEnv } from '../app-env.js'
import type { AppContext } from '../context.js'
import {
  checkRange,
  compareField,
  dateRangeFields,
  formatField,
  identifier,
  pageFields,
  sortField,
} from '../schemas/query-parameters.js'
import {
  CampaignDayRowSchema,
  CampaignLeadRowSchema,
  CampaignPerformanceRowSchema,
  StepFunnelRowSchema,
} from '../schemas/row-schemas.js'
import { type ReadInput, registerTenantRead } from './read-route.js'

const performanceSorts = Object.keys(CAMPAIGN_PERFORMANCE_SORTS) as [
  CampaignPerformanceSort,
  ...CampaignPerformanceSort[],
]
const leadSorts = Object.keys(CAMPAIGN_LEAD_SORTS) as [CampaignLeadSort, ...CampaignLeadSort[]]

const campaignPath = z.object({ campaignId: identifier('the campaign id') })
const noPath = z.object({})

/** The query of the one-campaign range routes (trend, funnel): [from, to), format, compare. */
const campaignRangeQuery = z
  .strictObject({ ...dateRangeFields, ...formatField, ...compareField })
  .superRefine(checkRange)

/** compare=previous of a one-campaign route: its campaign's totals against the period before. */
function compareCampaign(
  trx: Transaction<DB>,
  input: ReadInput<z.output<typeof campaignRangeQuery>, z.output<typeof campaignPath>>,
): Promise<PeriodComparison> {
  return comparePeriods(trx, {
    tenantId: input.tenantId,
    from: input.query.from,
    to: input.query.to,
    scope: { kind: 'campaigns', campaignId: input.params.campaignId },
  })
}

export function registerCampaignRoutes(app: OpenAPIHono<AppEnv>, context: AppContext): void {
  registerTenantRead(app, context, {
    name: 'campaign_performance',
    path: '/campaigns/performance',
    tag: 'campaigns',
    summary: 'Campaign performance over a date range',
    description:
      'Per campaign over the days [from, to): the eight counts, completed leads, delivery, open, click, reply and bounce rates, and ranks by volume, open rate and reply rate among all the tenant campaigns in the range.',
    query: z
      .strictObject({
        ...dateRangeFields,
        ...pageFields,
        ...formatField,
        ...compareField,
        sort: sortField(performanceSorts, 'volume'),
      })
      .superRefine(checkRange),
    params: noPath,
    row: CampaignPerformanceRowSchema,
    paginated: true,
    // reads campaign_analytics and campaigns (names, status): both bump the tenant's version
    cacheable: true,
    read: async (trx, { tenantId, query, limit, cursor }) =>
      campaignPerformance(trx, {
        tenantId,
        from: query.from,
        to: query.to,
        sort: query.sort,
        limit,
        cursor,
      }),
    compare: (trx, { tenantId, query }) =>
      comparePeriods(trx, {
        tenantId,
        from: query.from,
        to: query.to,
        scope: { kind: 'campaigns' },
      }),
  })

  registerTenantRead(app, context, {
    name: 'campaign_trend',
    path: '/campaigns/{campaignId}/trend',
    tag: 'campaigns',
    summary: 'Daily trend of one campaign',
    description:
      'One row per day of [from, to), days without sends included with zero counts and null rates.',
    query: campaignRangeQuery,
    params: campaignPath,
    row: CampaignDayRowSchema,
    paginated: false,
    resourceId: (p) => p.campaignId,
    read: async (trx, { tenantId, query, params }) => {
      const rows = await campaignDailyTrend(trx, {
        tenantId,
        campaignId: params.campaignId,
        from: query.from,
        to: query.to,
      })
      return rows && { rows }
    },
    compare: compareCampaign,
  })

  registerTenantRead(app, context, {
    name: 'campaign_funnel',
    path: '/campaigns/{campaignId}/funnel',
    tag: 'campaigns',
    summary: 'Sequence step funnel of one campaign',
    description:
      'The campaign steps in order with their counts and rates over [from, to), each step’s sends as a share of the first step and of the previous one.',
    query: campaignRangeQuery,
    params: campaignPath,
    row: StepFunnelRowSchema,
    paginated: false,
    resourceId: (p) => p.campaignId,
    read: async (trx, { tenantId, query, params }) => {
      const rows = await stepFunnel(trx, {
        tenantId,
        campaignId: params.campaignId,
        from: query.from,
        to: query.to,
      })
      return rows && { rows }
    },
    compare: compareCampaign,
  })

  registerTenantRead(app, context, {
    name: 'campaign_leads',
    path: '/campaigns/{campaignId}/leads',
    tag: 'campaigns',
    summary: 'Leads of one campaign with their status',
    description:
      'The leads the campaign has sent to, with their status (complained, unsubscribed, bounced, replied, completed, contacted) and counts over all days; filter by status.',
    query: z.strictObject({
      ...pageFields,
      ...formatField,
      status: z
        .enum(LEAD_STATUSES)
        .optional()
        .openapi({ description: 'only leads in this status' }),
      sort: sortField(leadSorts, '-last_sent_at'),
    }),
    params: campaignPath,
    row: CampaignLeadRowSchema,
    paginated: true,
    resourceId: (p) => p.campaignId,
    read: async (trx, { tenantId, query, params, limit, cursor }) =>
      campaignLeads(trx, {
        tenantId,
        campaignId: params.campaignId,
        status: query.status,
        sort: query.sort,
        limit,
        cursor,
      }),
  })
}
