import { type QueryExecutorProvider, sql } from 'kysely'
import { APP_ROLES } from './roles.js'

export interface SchemaReport {
  tables: { name: string; partitioned: boolean; partitions: number; forcedRls: boolean }[]
  materializedViews: string[]
  policies: number
  roles: { name: string; superuser: boolean; bypassRls: boolean }[]
}

/** What the migrations created in the current schema: for the CLI's report and for humans. */
export async function describeSchema(db: QueryExecutorProvider): Promise<SchemaReport> {
  const tables = await sql<{
    name: string
    partitioned: boolean
    partitions: number
    forced_rls: boolean
  }>`
    select c.relname as name,
           c.relkind = 'p' as partitioned,
           (select count(*)::int from pg_inherits i where i.inhparent = c.oid) as partitions,
           c.relrowsecurity and c.relforcerowsecurity as forced_rls
      from pg_class c
     where c.relnamespace = current_schema()::regnamespace
       and c.relkind in ('r', 'p') and not c.relispartition
       and c.relname not like 'kysely_%'
     order by c.relname`.execute(db)
  const views = await sql<{ name: string }>`
    select matviewname as name from pg_matviews where schemaname = current_schema() order by 1`.execute(
    db,
  )
  const policies = await sql<{ n: number }>`
    select count(*)::int as n from pg_policies where schemaname = current_schema()`.execute(db)
  const roles = await sql<{ name: string; superuser: boolean; bypass_rls: boolean }>`
    select rolname as name, rolsuper as superuser, rolbypassrls as bypass_rls
      from pg_roles where rolname = any(${[...APP_ROLES]}) order by 1`.execute(db)
  return {
    tables: tables.rows.map((t) => ({
      name: t.name,
      partitioned: t.partitioned,
      partitions: t.partitions,
      forcedRls: t.forced_rls,
    })),
    materializedViews: views.rows.map((v) => v.name),
    policies: policies.rows[0]?.n ?? 0,
    roles: roles.rows.map((r) => ({
      name: r.name,
      superuser: r.superuser,
      bypassRls: r.bypass_rls,
    })),
  }
}

export function formatSchemaReport(report: SchemaReport): string {
  const lines = [`${report.tables.length} tables:`]
  for (const t of report.tables) {
    const parts = t.partitioned ? `, ${t.partitions} monthly partitions (incl. default)` : ''
    lines.push(`  ${t.name}${parts}${t.forcedRls ? ', row level security forced' : ''}`)
  }
  lines.push(
    `${report.materializedViews.length} materialized view(s): ${report.materializedViews.join(', ')}`,
  )
  lines.push(`${report.policies} row level security policies`)
  lines.push(
    `roles: ${report.roles
      .map(
        (r) => `${r.name}${r.superuser || r.bypassRls ? ' (UNSAFE: superuser or bypassrls)' : ''}`,
      )
      .join(', ')}`,
  )
  return lines.join('\n')
}
