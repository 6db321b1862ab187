export {
  type AuditEntryInput,
  auditEntryPayload,
  type RecordedAuditEntry,
  recordAuditEntry,
} from './audit.js'
export {
  CanonicalJsonError,
  canonicalJson,
  canonicalJsonOf,
  computeDigest,
  computeRowHash,
  GENESIS_HASH,
  HASH_VERSION,
  PERSONAL_FIELDS,
  type PersonalField,
  type RowHashInput,
  rowHashEnvelope,
} from './canonical.js'
export { MAX_USER_AGENT_LENGTH, normalizeIpAddress } from './client.js'
export type { AuditDb } from './db.js'
export {
  ERASURE_ACTION,
  type ErasureInput,
  type ErasureResult,
  erasePersonalData,
  eraseSubjectPersonalData,
  type SubjectErasureInput,
} from './erasure.js'
export {
  type RecordedSystemEvent,
  type ResolveSystemEventInput,
  recordSystemEvent,
  resolveSystemEvent,
  SEVERITIES,
  type Severity,
  SYSTEM_EVENT_TYPES,
  type SystemEventInput,
  type SystemEventType,
} from './events.js'
export {
  isSecretKey,
  type JsonValue,
  REDACTED,
  redactSecrets,
  redactText,
  toJsonValue,
} from './redact.js'
export {
  type AdminSession,
  DEFAULT_IDLE_SECONDS,
  DEFAULT_SESSION_TTL_SECONDS,
  type EndSessionOptions,
  type ExtendSessionOptions,
  endSession,
  expireSession,
  expireStaleSessions,
  extendSession,
  getSession,
  listActiveSessions,
  SessionNotActiveError,
  type StartSessionInput,
  startSession,
  type TouchResult,
  type TouchSessionOptions,
  touchSession,
} from './sessions.js'
export {
  type ChainHead,
  ChainHeadMismatchError,
  type ChainProblem,
  type ChainRow,
  type ChainSource,
  exportChainHead,
  memorySource,
  parseChainHead,
  readAuditChain,
  type VerifyOptions,
  type VerifyResult,
  verifyAuditChain,
  verifyAuditRows,
  verifyChainSource,
} from './verify.js'
