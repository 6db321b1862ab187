import type pg from 'pg'

export interface Hit {
  table: string
  column: string
  rows: number
  sample: string
}

/**
 * Searches every column of every table and materialized view of every schema (partitions and
 * archives included; system schemas excluded), as text, for any of `values`. As the superuser, so
 * that row level security hides nothing. A table is read whole first; only a table with a hit is
 * searched column by column, to name the columns.
 */
export async function scanForValues(client: pg.Client, values: string[]): Promise<Hit[]> {
  const patterns = values.map((v) => `%${v.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)
  const { rows: tables } = await client.query<{ name: string; oid: number }>(
    `select format('%I.%I', n.nspname, c.relname) as name, c.oid::int as oid
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'm') and n.nspname not in ('pg_catalog', 'information_schema')
        and n.nspname not like 'pg\\_%' order by 1`,
  )
  const hits: Hit[] = []
  for (const { name, oid } of tables) {
    const { rows } = await client.query<{ n: string }>(
      `select count(*) as n from ${name} x where x::text like any($1::text[])`,
      [patterns],
    )
    if (Number(rows[0]?.n ?? 0) === 0) continue
    const { rows: columns } = await client.query<{ attname: string }>(
      'select attname from pg_attribute where attrelid = $1 and attnum > 0 and not attisdropped order by attnum',
      [oid],
    )
    for (const { attname } of columns) {
      const { rows: found } = await client.query<{ n: string; sample: string | null }>(
        `select count(*) as n, min(x.${quote(attname)}::text) as sample from ${name} x
          where x.${quote(attname)}::text like any($1::text[])`,
        [patterns],
      )
      const n = Number(found[0]?.n ?? 0)
      if (n > 0)
        hits.push({ table: name, column: attname, rows: n, sample: found[0]?.sample ?? '' })
    }
  }
  return hits
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`
}
