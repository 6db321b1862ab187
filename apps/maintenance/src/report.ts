/** What a command did, for people (lines) and machines (details, the system event's metadata). */
export interface CommandReport {
  lines: string[]
  details: Record<string, unknown>
  /** what is wrong and needs someone: the command reports it and exits 1 */
  problems: string[]
  /** the command wrote its audit entry in its own transaction (anonymize): the runner adds none */
  auditedInTransaction?: boolean
}

export function emptyReport(): CommandReport {
  return { lines: [], details: {}, problems: [] }
}

/** A failure worded for whoever runs the command, saying what to do about it. */
export class MaintenanceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'MaintenanceError'
  }
}
