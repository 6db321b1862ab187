import { createHmac } from 'node:crypto'

/**
 * Keyed hashes (HMAC-SHA256) that replace the ids of an erased tenant. The key comes from the
 * environment and is never stored in the database, so the pseudonyms cannot be linked back to the
 * ids from the data alone; with the key, the same ids always give the same pseudonyms, which is
 * what lets an erasure be replayed on a restored backup and a rerun after a crash match a clean run.
 * Whoever holds the key and an original id can recognise its pseudonym: keep the key in a secret
 * store, apart from backups.
 */
export interface Pseudonymizer {
  /** the erased tenant's new id */
  tenant(tenantId: string): string
  /** the new value of an id of the tenant (of any table: a given id always maps the same way) */
  id(tenantId: string, id: string): string
  /** identifies the key in the ledger without revealing it */
  readonly keyFingerprint: string
}

export function createPseudonymizer(key: string): Pseudonymizer {
  const mac = (input: string) => createHmac('sha256', key).update(input).digest('hex')
  return {
    // NUL cannot occur in PostgreSQL text, so these inputs never collide across kinds or tenants
    tenant: (tenantId) => `erased-${mac(`tenant\u0000${tenantId}`).slice(0, 32)}`,
    id: (tenantId, id) => `erased-${mac(`id\u0000${tenantId}\u0000${id}`).slice(0, 32)}`,
    keyFingerprint: mac('penguinmails erasure key fingerprint').slice(0, 16),
  }
}
