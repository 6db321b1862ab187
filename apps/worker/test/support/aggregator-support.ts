// The aggregator's test helpers, reused rather than copied: the contract computed in plain
// TypeScript, the edge-case fixture and the source mutations.
export {
  computeContract,
  localDay,
  localMidnight,
} from '../../../../packages/aggregator/test/support/contract-oracle.js'
export {
  type EmailRow,
  insertEdgeCaseFixture,
  TENANTS,
} from '../../../../packages/aggregator/test/support/edge-case-fixture.js'
export { applyMutations } from '../../../../packages/aggregator/test/support/mutations.js'
export { seeded } from '../../../../packages/aggregator/test/support/random.js'
export {
  readAnalytics,
  readSource,
  sortTables,
} from '../../../../packages/aggregator/test/support/snapshot.js'
