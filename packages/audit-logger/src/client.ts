import { isIP } from 'node:net'

/** Longest user agent stored; longer ones are cut. */
export const MAX_USER_AGENT_LENGTH = 1024

/**
 * An IP address as stored (inet), or null: the address itself when valid, the first valid address
 * of a comma-separated list (an X-Forwarded-For value), an IPv6 address without its brackets or
 * zone; anything else (a host name, garbage) is dropped rather than failing the write.
 */
export function normalizeIpAddress(value: string | null | undefined): string | null {
  if (value === undefined || value === null) return null
  for (const part of value.split(',')) {
    let candidate = part.trim()
    if (candidate.startsWith('[') && candidate.includes(']')) {
      candidate = candidate.slice(1, candidate.indexOf(']'))
    }
    candidate = candidate.replace(/%.*$/, '')
    if (isIP(candidate)) return candidate
  }
  return null
}

export function normalizeUserAgent(value: string | null | undefined): string | null {
  if (value === undefined || value === null || value === '') return null
  return value.length > MAX_USER_AGENT_LENGTH ? value.slice(0, MAX_USER_AGENT_LENGTH) : value
}
