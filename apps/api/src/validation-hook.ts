import type { Hook } from '@hono/zod-openapi'
import type { AppEnv } from './app-env.js'
import { type InvalidParameter, ProblemError, problem } from './problem.js'

const LOCATION: Record<string, InvalidParameter['in']> = {
  query: 'query',
  param: 'path',
  header: 'header',
  json: 'body',
  form: 'body',
}

/**
 * Answers a request whose parameters fail their zod schema with 400 problem+json naming each
 * parameter and what is wrong with it (unknown parameters included).
 */
// biome-ignore lint/suspicious/noExplicitAny: the hook serves every route's schemas
export const validationHook: Hook<any, AppEnv, any, any> = (result) => {
  if (result.success) return
  const where = LOCATION[result.target] ?? 'query'
  const errors: InvalidParameter[] = result.error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys')
      return issue.keys.map((key) => ({ in: where, name: key, reason: 'unknown parameter' }))
    const name = issue.path.length > 0 ? issue.path.map(String).join('.') : '(all)'
    // zod reports the received type only in its message ("…, received undefined")
    const reason =
      issue.code === 'invalid_type' && issue.message.endsWith('received undefined')
        ? 'is required'
        : issue.code === 'invalid_type' && issue.message.endsWith('received array')
          ? 'must be given once'
          : issue.message
    return [{ in: where, name, reason }]
  })
  const label = where === 'path' ? 'path parameter' : `${where} parameter`
  throw new ProblemError(
    problem(
      'invalidParameters',
      errors.map((e) => `${label} '${e.name}': ${e.reason}`).join('; '),
      { errors },
    ),
  )
}
