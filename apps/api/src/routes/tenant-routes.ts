import { type OpenAPIHono, z } from '@hono/zod-openapi'
import {
  comparePeriods,
  MAILBOX_SORTS,
  MAILBOX_WARMUP_FILTERS,
  type MailboxSort,
  mailboxes,
  tenantUsage,
  WARMUP_PERFORMANCE_SORTS,
  type WarmupPerformanceSort,
  warmupPerformance,
} from '@penguinmails/bi-queries'
import type { AppEnv } from '../app-env.js'
import type { AppContext } from '../context.js'
import {
  calendarDate,
  checkRange,
  compareField,
  dateRangeFields,
  daysField,
  formatField,
  pageFields,
  sortField,
} from '../schemas/query-parameters.js'
import {
  MailboxRowSchema,
  TenantUsageRowSchema,
  WarmupPerformanceRowSchema,
} from '../schemas/row-schemas.js'
import { registerTenantRead } from './read-route.js'

const noPath = z.object({})
const warmupSorts = Object.keys(WARMUP_PERFORMANCE_SORTS) as [
  WarmupPerformanceSort,
  ...WarmupPerformanceSort[],
]
const mailboxSorts = Object.keys(MAILBOX_SORTS) as [MailboxSort, ...MailboxSort[]]

export function registerTenantRoutes(app: OpenAPIHono<AppEnv>, context: AppContext): void {
  registerTenantRead(app, context, {
    name: 'tenant_usage',
    path: '/usage',
    tag: 'usage',
    summary: 'Usage per billing period',
    description:
      'The billing periods (calendar months in the tenant time zone) overlapping [from, to): emails, mailboxes, domains, campaigns, leads and warmups used, emails per mailbox and per campaign, the month before’s emails and month-over-month growth.',
    query: z
      .strictObject({ ...dateRangeFields, ...formatField, ...compareField })
      .superRefine(checkRange),
    params: noPath,
    row: TenantUsageRowSchema,
    paginated: false,
    // reads billing_analytics, tenants (time zone) and campaign_analytics: all bump the version
    cacheable: true,
    read: async (trx, { tenantId, query }) => ({
      rows: await tenantUsage(trx, { tenantId, from: query.from, to: query.to }),
    }),
    // campaign emails by day: the range's own days, whatever months they cut through
    compare: (trx, { tenantId, query }) =>
      comparePeriods(trx, {
        tenantId,
        from: query.from,
        to: query.to,
        scope: { kind: 'campaigns' },
      }),
  })

  registerTenantRead(app, context, {
    name: 'warmup_performance',
    path: '/warmup',
    tag: 'mailboxes',
    summary: 'Warmup performance per mailbox over the last days',
    description:
      'Per mailbox over the `days` days before `to`: average health score, progress and delivery rate, average daily progress increase, tracking days and category (Excellent ≥ 80, Good ≥ 60, Fair ≥ 40, else Poor). Mailboxes with fewer than 3 tracking days are left out.',
    query: z.strictObject({
      days: daysField('length of the window in days', 30),
      to: calendarDate(
        'first day after the window (default: tomorrow in the tenant time zone)',
      ).optional(),
      ...pageFields,
      ...formatField,
      ...compareField,
      sort: sortField(warmupSorts, 'email_account_id'),
    }),
    params: noPath,
    row: WarmupPerformanceRowSchema,
    paginated: true,
    extra: {
      from: z.string().openapi({ format: 'date', description: 'first day of the window' }),
      to: z.string().openapi({ format: 'date', description: 'first day after the window' }),
    },
    read: async (trx, { tenantId, query, limit, cursor }) => {
      const page = await warmupPerformance(trx, {
        tenantId,
        days: query.days,
        to: query.to,
        sort: query.sort,
        limit,
        cursor,
      })
      return {
        rows: page.rows,
        nextCursor: page.nextCursor,
        extra: { from: page.from, to: page.to },
      }
    },
    compare: (trx, { tenantId }, result) =>
      comparePeriods(trx, {
        tenantId,
        from: result.extra?.from as string,
        to: result.extra?.to as string,
        scope: { kind: 'warmup' },
      }),
  })

  registerTenantRead(app, context, {
    name: 'mailboxes',
    path: '/mailboxes',
    tag: 'mailboxes',
    summary: 'Mailboxes with health and warmup state',
    description:
      'Every mailbox of the tenant with its campaign counts and rates over [from, to), its total volume, latest health score and campaign state in the range, and its warmup status and progress.',
    query: z
      .strictObject({
        ...dateRangeFields,
        ...pageFields,
        ...formatField,
        ...compareField,
        warmup_status: z
          .enum(MAILBOX_WARMUP_FILTERS)
          .optional()
          .openapi({ description: 'only mailboxes in this warmup status (none: without warmup)' }),
        sort: sortField(mailboxSorts, 'address'),
      })
      .superRefine(checkRange),
    params: noPath,
    row: MailboxRowSchema,
    paginated: true,
    read: async (trx, { tenantId, query, limit, cursor }) =>
      mailboxes(trx, {
        tenantId,
        from: query.from,
        to: query.to,
        warmupStatus: query.warmup_status,
        sort: query.sort,
        limit,
        cursor,
      }),
    // all the tenant's mailboxes, whatever the warmup_status filter
    compare: (trx, { tenantId, query }) =>
      comparePeriods(trx, {
        tenantId,
        from: query.from,
        to: query.to,
        scope: { kind: 'mailboxes' },
      }),
  })
}
