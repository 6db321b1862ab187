import { createHash } from 'node:crypto'

/** The version of the canonical form that row hashes are computed over (hash_version). */
export const HASH_VERSION = 1

/** prev_hash of the first entry: 32 zero bytes, in hex. */
export const GENESIS_HASH = '0'.repeat(64)

/**
 * The personal fields of an audit entry, in the order of pii_salts, pii_digests and erased_by
 * (hash version 1). The chain commits to a salted digest of each, not to the value itself.
 */
export const PERSONAL_FIELDS = [
  'admin_id',
  'resource_id',
  'tenant_id',
  'old_values',
  'new_values',
  'ip_address',
  'user_agent',
  'notes',
  'metadata',
] as const

export type PersonalField = (typeof PERSONAL_FIELDS)[number]

type JsonNode =
  | { kind: 'object'; entries: [string, JsonNode][] }
  | { kind: 'array'; items: JsonNode[] }
  | { kind: 'string'; value: string }
  | { kind: 'number'; raw: string }
  | { kind: 'literal'; raw: 'true' | 'false' | 'null' }

export class CanonicalJsonError extends Error {
  override name = 'CanonicalJsonError'
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y

/** Parses JSON text keeping every number as it is written (no rounding through a double). */
function parseJson(text: string): JsonNode {
  let at = 0
  const fail = (what: string): never => {
    throw new CanonicalJsonError(`invalid JSON at ${at}: ${what}`)
  }
  const space = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at] as string)) at++
  }
  const string = (): string => {
    at++ // opening quote
    let out = ''
    for (;;) {
      const c = text.charCodeAt(at)
      if (Number.isNaN(c)) fail('unterminated string')
      if (c === 0x22) {
        at++
        return out
      }
      if (c === 0x5c) {
        const e = text[at + 1]
        at += 2
        switch (e) {
          case '"':
            out += '"'
            break
          case '\\':
            out += '\\'
            break
          case '/':
            out += '/'
            break
          case 'b':
            out += '\b'
            break
          case 'f':
            out += '\f'
            break
          case 'n':
            out += '\n'
            break
          case 'r':
            out += '\r'
            break
          case 't':
            out += '\t'
            break
          case 'u': {
            const hex = text.slice(at, at + 4)
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape')
            out += String.fromCharCode(Number.parseInt(hex, 16))
            at += 4
            break
          }
          default:
            fail('bad escape')
        }
        continue
      }
      if (c < 0x20) fail('control character in string')
      out += text[at]
      at++
    }
  }
  const value = (depth: number): JsonNode => {
    if (depth > 10_000) fail('nested too deeply')
    space()
    const c = text[at]
    if (c === '{') {
      at++
      const entries = new Map<string, JsonNode>()
      space()
      if (text[at] === '}') {
        at++
        return { kind: 'object', entries: [] }
      }
      for (;;) {
        space()
        if (text[at] !== '"') fail('expected a key')
        const key = string()
        space()
        if (text[at] !== ':') fail('expected :')
        at++
        // a repeated key keeps its last value, as jsonb does
        entries.delete(key)
        entries.set(key, value(depth + 1))
        space()
        if (text[at] === ',') {
          at++
          continue
        }
        if (text[at] === '}') {
          at++
          return { kind: 'object', entries: [...entries] }
        }
        fail('expected , or }')
      }
    }
    if (c === '[') {
      at++
      const items: JsonNode[] = []
      space()
      if (text[at] === ']') {
        at++
        return { kind: 'array', items }
      }
      for (;;) {
        items.push(value(depth + 1))
        space()
        if (text[at] === ',') {
          at++
          continue
        }
        if (text[at] === ']') {
          at++
          return { kind: 'array', items }
        }
        fail('expected , or ]')
      }
    }
    if (c === '"') return { kind: 'string', value: string() }
    for (const raw of ['true', 'false', 'null'] as const) {
      if (text.startsWith(raw, at)) {
        at += raw.length
        return { kind: 'literal', raw }
      }
    }
    NUMBER.lastIndex = at
    const m = NUMBER.exec(text)
    if (!m) return fail('unexpected character')
    at += m[0].length
    return { kind: 'number', raw: m[0] }
  }
  const node = value(0)
  space()
  if (at !== text.length) fail('trailing characters')
  return node
}

/**
 * A JSON number as PostgreSQL's numeric type prints it (what a jsonb number is): no exponent, as
 * many fraction digits as the input had (less the exponent), no sign on zero. 1e2 → 100,
 * 1.50E-3 → 0.00150, -0 → 0, 1.0 → 1.0.
 */
export function numericText(raw: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(raw)
  if (!m) throw new CanonicalJsonError(`${raw} is not a JSON number`)
  const [, sign = '', int = '', frac = '', exp = '0'] = m
  const e = Number.parseInt(exp, 10)
  if (Math.abs(e) > 100_000) throw new CanonicalJsonError(`${raw} is out of range`)
  const digits = int + frac
  const point = int.length + e
  const scale = Math.max(0, frac.length - e)
  let whole: string
  let fraction: string
  if (point <= 0) {
    whole = '0'
    fraction = '0'.repeat(-point) + digits
  } else if (point >= digits.length) {
    whole = digits + '0'.repeat(point - digits.length)
    fraction = ''
  } else {
    whole = digits.slice(0, point)
    fraction = digits.slice(point)
  }
  whole = whole.replace(/^0+(?=\d)/, '')
  const zero = /^0*$/.test(digits)
  return `${zero ? '' : sign}${whole}${scale > 0 ? `.${fraction.slice(0, scale)}` : ''}`
}

/** Orders strings by code point, as PostgreSQL's "C" collation orders their UTF-8 bytes. */
export function compareCodePoints(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

function serialize(node: JsonNode): string {
  switch (node.kind) {
    case 'object':
      return `{${[...node.entries]
        .sort(([a], [b]) => compareCodePoints(a, b))
        .map(([k, v]) => `${JSON.stringify(k)}:${serialize(v)}`)
        .join(',')}}`
    case 'array':
      return `[${node.items.map(serialize).join(',')}]`
    case 'string':
      return JSON.stringify(node.value)
    case 'number':
      return numericText(node.raw)
    case 'literal':
      return node.raw
  }
}

/**
 * The canonical JSON of a JSON text: keys sorted by code point (a repeated key keeps its last
 * value), no whitespace, strings escaped as JSON.stringify escapes them, numbers as PostgreSQL's
 * numeric type prints them. The same as pm_audit_canonical_json() of the text cast to jsonb.
 */
export function canonicalJson(jsonText: string): string {
  return serialize(parseJson(jsonText))
}

/** The canonical JSON of a JavaScript value (strings, safe numbers, booleans, null, arrays, objects). */
export function canonicalJsonOf(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'boolean') return String(value)
  if (typeof value === 'number') {
    const text = JSON.stringify(value)
    if (!Number.isFinite(value) || /e/i.test(text)) {
      throw new CanonicalJsonError(`${value} has no canonical JSON form: pass it as a string`)
    }
    return text
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJsonOf).join(',')}]`
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => compareCodePoints(a, b))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJsonOf(v)}`)
      .join(',')}}`
  }
  throw new CanonicalJsonError(`a ${typeof value} has no JSON form`)
}

export function sha256Hex(...parts: (Buffer | string)[]): string {
  const hash = createHash('sha256')
  for (const part of parts) hash.update(part)
  return hash.digest('hex')
}

/**
 * The digest committing to one personal value: sha256(salt || UTF-8 of the canonical JSON of the
 * value), in hex. `valueJson` is the value as JSON text (a text column is a JSON string).
 */
export function computeDigest(saltHex: string, valueJson: string): string {
  return sha256Hex(Buffer.from(saltHex, 'hex'), Buffer.from(canonicalJson(valueJson), 'utf8'))
}

export interface RowHashInput {
  version: number
  seq: string | bigint
  prevHash: string
  /** UTC, microseconds: 2025-03-01T09:30:00.123456Z */
  createdAt: string
  action: string
  resourceType: string
  dbRole: string
  /** one per personal field, in PERSONAL_FIELDS order; null for a NULL value */
  digests: readonly (string | null)[]
}

/** The envelope a row hash is computed over (hash version 1). */
export function rowHashEnvelope(input: RowHashInput): string {
  if (input.version !== HASH_VERSION) {
    throw new CanonicalJsonError(`audit hash version ${input.version} is unknown`)
  }
  if (input.digests.length !== PERSONAL_FIELDS.length) {
    throw new CanonicalJsonError(`an audit entry has ${PERSONAL_FIELDS.length} personal digests`)
  }
  return canonicalJsonOf({
    v: input.version,
    seq: String(input.seq),
    prev_hash: input.prevHash,
    created_at: input.createdAt,
    action: input.action,
    resource_type: input.resourceType,
    db_role: input.dbRole,
    personal: Object.fromEntries(PERSONAL_FIELDS.map((f, i) => [f, input.digests[i] ?? null])),
  })
}

/** row_hash: sha256 of the UTF-8 of the canonical envelope, in hex. */
export function computeRowHash(input: RowHashInput): string {
  return sha256Hex(Buffer.from(rowHashEnvelope(input), 'utf8'))
}
