import { type QueryExecutorProvider, sql } from 'kysely'
import { APP_ROLES, ROLES } from './roles.js'

/**
 * Checks the catalog of the current schema for what isolation and Citus readiness rely on, and
 * returns one sentence per violation (none when all is well). Apps run it before serving.
 */
export async function lintCatalog(db: QueryExecutorProvider): Promise<string[]> {
  const found: string[] = []
  const add = (rows: { v: string }[]) => found.push(...rows.map((r) => r.v))

  // every table holding tenant data, partitions included, has row level security enabled and forced
  add(
    (
      await sql<{ v: string }>`
    select format('%s has tenant_id but row level security is not enabled and forced', c.relname) as v
      from pg_class c
     where c.relnamespace = current_schema()::regnamespace and c.relkind in ('r', 'p')
       and (exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id'
                    and not a.attisdropped) or c.relname = 'tenants')
       and not (c.relrowsecurity and c.relforcerowsecurity)
     order by 1`.execute(db)
    ).rows,
  )

  // a policy that applies to the tenant role compares with nullif(current_setting(…, true), '')
  add(
    (
      await sql<{ v: string }>`
    select format('policy %s on %s applies to the tenant role but does not compare with nullif(current_setting(''app.current_tenant_id'', true), '''')',
                  policyname, tablename) as v
      from pg_policies
     where schemaname = current_schema()
       and (${ROLES.reader}::name = any(roles) or 'public' = any(roles))
       and not (coalesce(qual, '') ~ ${tenantPredicate}::text
                and (with_check is null or with_check ~ ${tenantPredicate}::text))
     order by 1`.execute(db)
    ).rows,
  )

  // materialized views, foreign tables and definer-rights views have no row level security
  add(
    (
      await sql<{ v: string }>`
    select format('%s (%s) is selectable by %s: it has no row level security', c.relname,
                  case c.relkind when 'm' then 'materialized view' when 'f' then 'foreign table' else 'view' end,
                  ${ROLES.reader}::text) as v
      from pg_class c
     where c.relnamespace = current_schema()::regnamespace
       and (c.relkind in ('m', 'f')
            or (c.relkind = 'v' and not coalesce('security_invoker=true' = any(c.reloptions), false)))
       and has_table_privilege(${ROLES.reader}::text, c.oid, 'SELECT')
     order by 1`.execute(db)
    ).rows,
  )

  add(
    (
      await sql<{ v: string }>`
    select format('SECURITY DEFINER function %s does not pin search_path', p.oid::regprocedure) as v
      from pg_proc p
     where p.pronamespace = current_schema()::regnamespace and p.prosecdef
       and not exists (select from unnest(p.proconfig) s where s like 'search_path=%')
     order by 1`.execute(db)
    ).rows,
  )

  add(
    (
      await sql<{ v: string }>`
    select format('role %s is a superuser or bypasses row level security', rolname) as v
      from pg_roles where rolname = any(${[...APP_ROLES]}) and (rolsuper or rolbypassrls)
    union all
    select format('%s owns %s: only %s may own objects', r.rolname, c.relname, ${ROLES.owner}::text)
      from pg_class c join pg_roles r on r.oid = c.relowner
     where c.relnamespace = current_schema()::regnamespace
       and r.rolname = any(${[ROLES.reader, ROLES.writer, ROLES.admin]})
    union all
    select format('%s may %s on %s: the tenant role only reads', ${ROLES.reader}::text, p.priv, c.relname)
      from pg_class c cross join unnest(array['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) as p(priv)
     where c.relnamespace = current_schema()::regnamespace and c.relkind in ('r', 'p')
       and has_table_privilege(${ROLES.reader}::text, c.oid, p.priv)
     order by 1`.execute(db)
    ).rows,
  )

  // Citus: keys of tables holding tenant data include tenant_id (the distribution column)
  add(
    (
      await sql<{ v: string }>`
    select format('%s key %s of %s does not include tenant_id',
                  case con.contype when 'p' then 'primary' when 'u' then 'unique' else 'foreign' end,
                  con.conname, c.relname) as v
      from pg_constraint con
      join pg_class c on c.oid = con.conrelid
      join pg_attribute t on t.attrelid = c.oid and t.attname = 'tenant_id' and t.attnotnull
     where c.relnamespace = current_schema()::regnamespace and con.contype in ('p', 'u', 'f')
       and not c.relispartition
       and not (t.attnum = any(con.conkey))
    union all
    select format('unique index %s of %s does not include tenant_id', i.indexrelid::regclass, c.relname)
      from pg_index i
      join pg_class c on c.oid = i.indrelid
      join pg_attribute t on t.attrelid = c.oid and t.attname = 'tenant_id' and t.attnotnull
     where c.relnamespace = current_schema()::regnamespace and i.indisunique and not c.relispartition
       and not (t.attnum = any(i.indkey::int2[]))
     order by 1`.execute(db)
    ).rows,
  )

  // REFRESH … CONCURRENTLY needs a plain unique index on every materialized view
  add(
    (
      await sql<{ v: string }>`
    select format('materialized view %s has no non-partial, non-expression unique index', c.relname) as v
      from pg_class c
     where c.relnamespace = current_schema()::regnamespace and c.relkind = 'm'
       and not exists (select from pg_index i where i.indrelid = c.oid and i.indisunique
                       and i.indpred is null and i.indexprs is null)
     order by 1`.execute(db)
    ).rows,
  )

  // keys of partitioned tables include the partition key (PostgreSQL enforces it; seed defect 8)
  add(
    (
      await sql<{ v: string }>`
    select format('key %s of partitioned %s lacks the partition key', con.conname, c.relname) as v
      from pg_constraint con
      join pg_class c on c.oid = con.conrelid
      join pg_partitioned_table pt on pt.partrelid = c.oid
     where c.relnamespace = current_schema()::regnamespace and con.contype in ('p', 'u')
       and not (pt.partattrs::int2[] <@ con.conkey)
     order by 1`.execute(db)
    ).rows,
  )
  return found
}

// how PostgreSQL deparses tenant_id = nullif(current_setting('app.current_tenant_id', true), '')
const tenantPredicate =
  "= NULLIF\\(current_setting\\('app\\.current_tenant_id'::text, true\\), ''::text\\)"
