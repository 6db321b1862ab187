import type { ApiHarness } from './api-harness.js'

/** A lead of the campaign in the harness' fixture: leads are drawn at random per campaign. */
export function leadOf(h: ApiHarness, campaignId: string): string {
  const row = h.fixture.leadCampaigns.find((l) => l.campaign_id === campaignId)
  if (!row) throw new Error(`the fixture has no lead in campaign ${campaignId}`)
  return row.lead_id
}
