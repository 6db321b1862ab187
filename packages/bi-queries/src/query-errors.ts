/**
 * A parameter a query cannot run with (a malformed date, an empty range, a limit out of bounds).
 * `parameter` names it, so that an API can answer 400 naming the field.
 */
export class InvalidQueryError extends RangeError {
  constructor(
    readonly parameter: string,
    /** what is wrong with it, without the name */
    readonly reason: string,
  ) {
    super(`${parameter}: ${reason}`)
    this.name = 'InvalidQueryError'
  }
}

/** A pagination cursor that this query did not issue (tampered, truncated, or from another query). */
export class InvalidCursorError extends InvalidQueryError {
  constructor(message: string) {
    super('cursor', message)
    this.name = 'InvalidCursorError'
  }
}
