import { sql } from 'kysely'
import type { AuditEntryInput } from '../../src/index.js'
import type { AnyDb } from './chain.js'

/** JSON texts that stress canonicalisation: key order by code point, escapes, numbers. */
export const JSON_CORPUS: string[] = [
  '{}',
  '[]',
  'null',
  'true',
  '0',
  '-0',
  '1.0',
  '1e2',
  '-1.50E-3',
  '0.000001',
  '1e-7',
  '123456789012345678901234567890.123456789',
  '"plain"',
  '"quote \\" backslash \\\\ slash / tab \\t newline \\n cr \\r bell \\u0007 del \\u007f"',
  '"line sep \\u2028 para sep \\u2029 nbsp \\u00a0"',
  '"emoji 😀 and 𝄞, accents é, CJK 漢字, RTL עברית"',
  '{"b": 1, "a": 2, "A": 3, "aa": 4, "": 5, "é": 6, "z": 7, "😀": 8, "ﬀ": 9, "\\u007f": 10}',
  '{"nested": {"z": [3, 2, {"y": null, "x": false}], "a": {"c": "d"}}, "list": [[], {}, [[]]]}',
  '{"a": "dup", "a": "last wins"}',
  '[1, "1", 1.0, true, null, {"k": [1.10, 2.200]}]',
]

/** Entries with awkward values, the same on every engine. */
export const ENTRY_CORPUS: AuditEntryInput[] = [
  {
    adminId: 'admin-ü',
    action: 'tenant.update',
    resourceType: 'tenant',
    resourceId: 't-1',
    tenantId: 't-1',
    oldValues: {
      name: 'Ａｃｍｅ "quoted" \\ back',
      n: 1.5,
      tags: ['x', 'y'],
      big: 12345678901234567890n,
    },
    newValues: { name: 'Acme 😀', zz: { b: 1, a: [null, false, 0.1] }, '': 'empty key', é: 'é' },
    ipAddress: '2001:db8::1',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) "quoted"',
    notes: 'line one\nline two\ttabbed \u2028 sep',
    metadata: { requestId: 'r-1', nested: { k: [1, 2, 3] } },
  },
  {
    adminId: 'admin-2',
    action: 'campaign.read',
    resourceType: 'campaign',
    ipAddress: '192.0.2.10',
    metadata: {},
  },
  {
    adminId: 'system:maintenance',
    action: 'maintenance.run',
    resourceType: 'database',
    newValues: [1, 'two', { three: 3 }],
    notes: '',
  },
]

/** Canonical JSON, digest and row hash computed by the database's own functions. */
export async function sqlCanonical(db: AnyDb, jsonText: string): Promise<string> {
  const { rows } = await sql<{
    c: string
  }>`select pm_audit_canonical_json(${jsonText}::jsonb) as c`.execute(db)
  return rows[0]?.c as string
}

export async function sqlDigest(db: AnyDb, saltHex: string, jsonText: string): Promise<string> {
  const { rows } = await sql<{ d: string }>`
    select encode(pm_audit_digest(decode(${saltHex}, 'hex'), ${jsonText}::jsonb), 'hex') as d`.execute(
    db,
  )
  return rows[0]?.d as string
}

export interface FixedEnvelope {
  seq: string
  prevHash: string
  createdAt: string
  action: string
  resourceType: string
  dbRole: string
  digests: (string | null)[]
}

export async function sqlRowHash(db: AnyDb, e: FixedEnvelope): Promise<string> {
  const { rows } = await sql<{ h: string }>`
    select encode(pm_audit_row_hash(1, ${e.seq}::bigint, decode(${e.prevHash}, 'hex'),
                                    ${e.createdAt}::timestamptz, ${e.action}, ${e.resourceType},
                                    ${e.dbRole},
                                    array(select decode(d, 'hex') from unnest(${e.digests}::text[])
                                          with ordinality u(d, o) order by o)), 'hex') as h`.execute(
    db,
  )
  return rows[0]?.h as string
}

export const FIXED_ENVELOPES: FixedEnvelope[] = [
  {
    seq: '1',
    prevHash: '0'.repeat(64),
    createdAt: '2025-03-01T09:30:00.123456Z',
    action: 'tenant.read',
    resourceType: 'tenant',
    dbRole: 'pm_writer',
    digests: [
      'a'.repeat(64),
      null,
      'b'.repeat(64),
      null,
      null,
      'c'.repeat(64),
      null,
      null,
      'd'.repeat(64),
    ],
  },
  {
    seq: '9007199254740993',
    prevHash: 'f'.repeat(64),
    createdAt: '1999-12-31T23:59:59.999999Z',
    action: 'ünïcode "action" \\ 😀',
    resourceType: 'x\ny',
    dbRole: 'postgres',
    digests: Array.from({ length: 9 }, (_, i) => String(i).repeat(64)),
  },
]
