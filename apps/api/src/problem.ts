/**
 * RFC 9457 problem details: every error the API answers is one of these, as
 * application/problem+json. Bodies say what went wrong and what to do, never how the server is
 * built (no stack, SQL, table or driver detail).
 */
export interface InvalidParameter {
  in: 'query' | 'path' | 'header' | 'body'
  name: string
  reason: string
}

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  /** urn:uuid:<request id>, also sent as X-Request-Id and logged with the error */
  instance?: string
  errors?: InvalidParameter[]
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

const TYPE_PREFIX = 'urn:penguinmails:problem:'

export const PROBLEMS = {
  invalidParameters: {
    slug: 'invalid-parameters',
    status: 400,
    title: 'Invalid request parameters',
  },
  badRequest: { slug: 'bad-request', status: 400, title: 'Bad request' },
  unauthorized: { slug: 'unauthorized', status: 401, title: 'Authentication required' },
  forbidden: { slug: 'forbidden', status: 403, title: 'Forbidden' },
  notFound: { slug: 'not-found', status: 404, title: 'Not found' },
  methodNotAllowed: { slug: 'method-not-allowed', status: 405, title: 'Method not allowed' },
  notAcceptable: { slug: 'not-acceptable', status: 406, title: 'Not acceptable' },
  payloadTooLarge: { slug: 'payload-too-large', status: 413, title: 'Payload too large' },
  unsupportedMediaType: {
    slug: 'unsupported-media-type',
    status: 415,
    title: 'Unsupported media type',
  },
  tooManyRequests: { slug: 'too-many-requests', status: 429, title: 'Too many requests' },
  internal: { slug: 'internal-error', status: 500, title: 'Internal server error' },
  unavailable: { slug: 'service-unavailable', status: 503, title: 'Service unavailable' },
  queryTimeout: { slug: 'query-timeout', status: 504, title: 'Query timed out' },
} as const

export type ProblemKind = keyof typeof PROBLEMS

export function problem(
  kind: ProblemKind,
  detail: string,
  extra: Partial<Pick<Problem, 'errors' | 'instance'>> = {},
): Problem {
  const p = PROBLEMS[kind]
  return { type: `${TYPE_PREFIX}${p.slug}`, title: p.title, status: p.status, detail, ...extra }
}

/** Thrown anywhere in a request; the error handler answers it as is. */
export class ProblemError extends Error {
  constructor(
    readonly problem: Problem,
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.detail)
    this.name = 'ProblemError'
  }
}

export function problemResponse(body: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status: body.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...headers },
  })
}
