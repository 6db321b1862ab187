export {
  type AnalyticsFixture,
  type FixtureOptions,
  type FixtureTenant,
  generateAnalyticsFixture,
  writeAnalyticsFixture,
} from './analytics-fixture.js'
export { seededRandom } from './random.js'
export { average, averageOfRates, rate, roundRatio } from './reference-arithmetic.js'
export {
  expectedAdminActivity,
  expectedCampaignLeads,
  expectedCampaignPerformance,
  expectedCampaignTrend,
  expectedMailboxes,
  expectedStepFunnel,
  expectedTenantUsage,
  expectedWarmupPerformance,
  rates,
} from './reference-model.js'
