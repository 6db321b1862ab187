/** What a redacted secret is replaced by. */
export const REDACTED = '[REDACTED]'

/** A JSON value, as stored in a jsonb column. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue }

// The same rules as pm_audit_is_secret_key() and pm_audit_redact_text() in
// sql/migrations/0006_audit_trail: a test checks that both give the same results.
const SECRET_ANYWHERE =
  /(password|passwd|passphrase|secret|apikey|privatekey|credential|authorization|cookie)/
const SECRET_AT_END = /(token|tokens|accesskey|signingkey|encryptionkey|sessionkey)$/
const SECRET_EXACT = new Set([
  'pwd',
  'pass',
  'auth',
  'jwt',
  'otp',
  'pin',
  'cvv',
  'cvc',
  'bearer',
  'signature',
])

/**
 * Whether a key names a secret. Keys are compared without case and without anything but ASCII
 * letters and digits (apiKey, api_key, X-Api-Key); "token" counts only at the end (accessToken,
 * csrf_token, but not tokenCount).
 */
export function isSecretKey(key: string): boolean {
  const k = key.replace(/[^A-Za-z0-9]/g, '').toLowerCase()
  return SECRET_ANYWHERE.test(k) || SECRET_AT_END.test(k) || SECRET_EXACT.has(k)
}

/**
 * Redacts secrets inside free text: a PEM private key or Basic credentials (the whole text; "Basic"
 * then a base64 token of 8 characters or more with a digit, +, /, = or an inner capital, so not
 * "Basic plan"), the password of a URL (`scheme://user:…@`), JSON web tokens and bearer tokens.
 * Whitespace means ASCII whitespace, as in the database's twin of these rules.
 */
export function redactText(text: string): string {
  if (/PRIVATE KEY-----/.test(text)) return REDACTED
  if (
    /^[ \t\n\r\f\v]*[Bb][Aa][Ss][Ii][Cc][ \t\n\r\f\v]+(?=[A-Za-z0-9+/]*[0-9+/=]|[A-Za-z0-9+/]+[A-Z])[A-Za-z0-9+/]{8,}={0,2}[ \t\n\r\f\v]*$/.test(
      text,
    )
  ) {
    return REDACTED
  }
  return text
    .replace(
      /([a-z][a-z0-9+.-]*:\/\/[^ \t\n\r\f\v:/?#@]*:)[^ \t\n\r\f\v/?#@]+@/gi,
      `$1${REDACTED}@`,
    )
    .replace(/eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, REDACTED)
    .replace(/(bearer)[ \t\n\r\f\v]+[A-Za-z0-9._~+/-]{8,}=*/gi, `$1 ${REDACTED}`)
}

const PAIR_NAME_KEYS = new Set(['name', 'key', 'header'])

function redactJson(value: JsonValue): JsonValue {
  if (typeof value === 'string') return redactText(value)
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(redactJson)
  const entries = Object.entries(value)
  // [{"name": "Authorization", "value": "…"}]: the value of a header list entry naming a secret
  const namesSecret = entries.some(
    ([k, v]) => PAIR_NAME_KEYS.has(k.toLowerCase()) && typeof v === 'string' && isSecretKey(v),
  )
  return Object.fromEntries(
    entries.map(([k, v]): [string, JsonValue] => {
      if (v === null) return [k, null]
      if (isSecretKey(k)) return [k, REDACTED]
      if (namesSecret && k.toLowerCase() === 'value') return [k, REDACTED]
      return [k, redactJson(v)]
    }),
  )
}

function wellFormed(text: string): string {
  // NUL cannot be stored in PostgreSQL text or jsonb; lone surrogates cannot be stored in jsonb
  const noNul = text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text
  const toWellFormed = (noNul as { toWellFormed?: () => string }).toWellFormed
  return typeof toWellFormed === 'function' ? toWellFormed.call(noNul) : noNul
}

const MAX_DEPTH = 64

/**
 * Turns any JavaScript value into the JSON value it would be stored as: Dates become ISO strings,
 * bigints strings, Maps objects, Sets arrays, Errors {name, message}, binary data a note of its
 * size, undefined and functions disappear (null in arrays), non-finite numbers null, circular
 * references "[Circular]"; NUL characters and lone surrogates are replaced by U+FFFD.
 */
export function toJsonValue(value: unknown): JsonValue | undefined {
  const seen = new Set<object>()
  const convert = (v: unknown, depth: number): JsonValue | undefined => {
    if (v === null) return null
    switch (typeof v) {
      case 'string':
        return wellFormed(v)
      case 'number':
        return Number.isFinite(v) ? v : null
      case 'boolean':
        return v
      case 'bigint':
        return v.toString()
      case 'undefined':
      case 'function':
      case 'symbol':
        return undefined
    }
    const o = v as object
    if (depth >= MAX_DEPTH) return '[Truncated]'
    if (seen.has(o)) return '[Circular]'
    if (o instanceof Date) return Number.isNaN(o.getTime()) ? null : o.toISOString()
    if (o instanceof Uint8Array || o instanceof ArrayBuffer) {
      return `[binary ${o.byteLength} bytes]`
    }
    seen.add(o)
    try {
      if (o instanceof Error) {
        return { name: wellFormed(o.name), message: wellFormed(o.message) }
      }
      if (typeof (o as { toJSON?: unknown }).toJSON === 'function') {
        return convert((o as { toJSON: () => unknown }).toJSON(), depth + 1)
      }
      if (Array.isArray(o) || o instanceof Set) {
        return [...o].map((item) => convert(item, depth + 1) ?? null)
      }
      const entries =
        o instanceof Map ? [...o].map(([k, item]) => [String(k), item] as const) : Object.entries(o)
      const out: [string, JsonValue][] = []
      for (const [k, item] of entries) {
        const converted = convert(item, depth + 1)
        if (converted !== undefined) out.push([wellFormed(k), converted])
      }
      return Object.fromEntries(out)
    } finally {
      seen.delete(o)
    }
  }
  return convert(value, 0)
}

/**
 * A copy of `value` as JSON with its secrets redacted: the value of every key naming a password,
 * token, secret, API key, private key, credential, authorization header or cookie (case-insensitive,
 * at any depth, in arrays too) becomes "[REDACTED]" unless it is null, as does the "value" of a
 * `{name, value}` header entry naming one; inside every string, bearer tokens, JSON web tokens, URL
 * passwords, Basic credentials and PEM private keys are redacted. The database applies the same
 * rules again to every audit entry and system event it stores.
 */
export function redactSecrets(value: unknown): unknown {
  const json = toJsonValue(value)
  return json === undefined ? undefined : redactJson(json)
}
