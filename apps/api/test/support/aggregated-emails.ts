import { drainDirtyKeys } from '@penguinmails/aggregator'
import type { DB } from '@penguinmails/schema'
import type { Kysely } from 'kysely'
import type { ApiHarness } from './api-harness.js'

// The harness's fixture writes analytics rows with no source emails behind them, so a drain would
// recompute them away: tests that drain give each tenant emails of its own with these.

/** What the aggregator's worker does: drain every dirty key. */
export async function drainAll(writer: Kysely<DB>): Promise<void> {
  for (let batch = 0; batch < 100; batch++)
    if ((await drainDirtyKeys(writer)).state === 'idle') return
  throw new Error('the dirty keys do not drain')
}

/** One delivered email of the tenant's first fixture campaign, step and mailbox, on 2024-02-10. */
export async function insertEmail(
  h: ApiHarness,
  writer: Kysely<DB>,
  tenant: string,
  id: number,
): Promise<void> {
  const campaign = h.fixture.campaigns.find((c) => c.tenant_id === tenant) as { id: string }
  const step = h.fixture.steps.find((s) => s.campaign_id === campaign.id) as { id: string }
  await writer
    .insertInto('emails')
    .values({
      tenant_id: tenant,
      id: String(id),
      company_id: `${tenant}-co`,
      email_account_id: h.fixture.mailboxes.find((m) => m.tenant_id === tenant)?.id as string,
      is_warmup: false,
      campaign_id: campaign.id,
      sequence_step_id: step.id,
      lead_id: `${tenant}-lead0`,
      status: 'delivered',
      sent_at: new Date('2024-02-10T10:00:00Z'),
    })
    .execute()
}
