// Aggregation benchmark (issue #7): node bench/aggregation.mjs [--emails 1000000,10000000] [--seconds 60]
// Needs the packages built (pnpm build) and PostgreSQL (PM_TEST_DATABASE_URL, a superuser URL).
// Prints one JSON line per size and a Markdown table to paste into BENCHMARKS.md.
import { randomInt } from 'node:crypto'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { drainDirtyKeys, recomputeAll } from '@penguinmails/aggregator'
import { generateSourceData } from '@penguinmails/data-generator'
import { ROLES } from '@penguinmails/schema'
import { createTestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'
import { keptDatabase } from './kept-database.mjs'

const { values } = parseArgs({
  options: {
    emails: { type: 'string', default: '1000000' },
    seconds: { type: 'string', default: '60' },
    rate: { type: 'string', default: '2000' },
    // drain loops during (e), as the worker's WORKER_CONCURRENCY
    drains: { type: 'string', default: '2' },
    'seed-sample': { type: 'string', default: '30' },
    // work_mem of (b)'s transactions, as a backfill runs it (`pnpm aggregate --work-mem 1GB`)
    'work-mem': { type: 'string', default: '1GB' },
    keep: { type: 'boolean', default: false },
    // reuse a database kept by an earlier run (--keep) of one size: no generation; migrated to
    // the current schema first
    database: { type: 'string' },
  },
})
if (values.database && values.emails.includes(','))
  throw new Error('--database reuses the data of one size: give one --emails value')
const sizes = values.emails.split(',').map(Number)
const log = (...a) => console.error(new Date().toISOString().slice(11, 19), ...a)
const timed = async (fn) => {
  const t = performance.now()
  const result = await fn()
  return { ms: performance.now() - t, result }
}
const best = async (runs, fn) => {
  let min = Number.POSITIVE_INFINITY
  for (let i = 0; i < runs; i++) min = Math.min(min, (await timed(fn)).ms)
  return min
}

async function drainUntilIdle(db) {
  let keys = 0
  for (;;) {
    const r = await drainDirtyKeys(db, { batchSize: 50_000 })
    if (r.state === 'idle') return keys
    if (r.state === 'drained') keys += r.keys
    if (r.state === 'busy') await new Promise((res) => setTimeout(res, 20))
  }
}

const ANALYTICS_KEYS = {
  campaign_analytics: 'tenant_id, campaign_id, day',
  sequence_step_analytics: 'tenant_id, sequence_step_id, day',
  mailbox_analytics: 'tenant_id, email_account_id, day',
  warmup_analytics: 'tenant_id, email_account_id, day',
  lead_analytics: 'tenant_id, lead_id, campaign_id',
  billing_analytics: 'tenant_id, id',
}

/** Copies the analytics rows aside, empties the tables and times writing them back (see (a″)). */
async function writeFloor(su) {
  const tables = Object.keys(ANALYTICS_KEYS)
  for (const t of tables)
    await sql`create unlogged table ${sql.table(`bench_floor_${t}`)} as select * from ${sql.table(t)}`.execute(
      su,
    )
  const tenants = (await sql`select id from tenants order by id`.execute(su)).rows.map((r) => r.id)
  const lanes = [0, 1].map((lane) => tenants.filter((_, i) => i % 2 === lane))
  await sql`truncate ${sql.raw(tables.join(', '))}`.execute(su)
  try {
    const { ms } = await timed(() =>
      Promise.all(
        lanes.map((ids) =>
          su.transaction().execute(async (trx) => {
            for (const t of tables)
              await sql`insert into ${sql.table(t)} select * from ${sql.table(`bench_floor_${t}`)}
                         where tenant_id = any(${ids}::text[]) order by ${sql.raw(ANALYTICS_KEYS[t])}`.execute(
                trx,
              )
          }),
        ),
      ),
    )
    return ms
  } finally {
    for (const t of tables) await sql`drop table ${sql.table(`bench_floor_${t}`)}`.execute(su)
  }
}

const results = []
for (const emails of sizes) {
  const kept = values.database ? await keptDatabase(values.database) : undefined
  const database = kept?.database ?? (await createTestDatabase({ label: `bench_${emails}` }))
  try {
    const su = database.connect().db
    const writer = database.connect(ROLES.writer).db
    let load = { ms: 0 }
    if (values.database) {
      log(`reusing ${values.database}, migrations applied: ${kept.migrated.join(', ') || 'none'}`)
      const { rows } = await sql`select count(*)::int as n from emails`.execute(su)
      if (rows[0].n !== emails)
        throw new Error(`${values.database} holds ${rows[0].n} emails, not --emails ${emails}`)
      await sql`truncate analytics_dirty_keys`.execute(su)
    } else {
      log(`generating ${emails} emails`)
      load = await timed(() =>
        generateSourceData(database.url(), {
          seed: 42,
          emails,
          tenants: 200,
          campaigns: Math.max(200, Math.round(emails / 500)),
          end: '2026-11-01',
          onProgress: (p) =>
            p.table === 'emails' &&
            p.rows % 1_000_000 < 50_000 &&
            log(`  ${p.table} ${p.rows}/${p.total}`),
        }),
      )
    }
    await sql`vacuum analyze`.execute(su)
    log(`loaded in ${(load.ms / 1000).toFixed(1)} s`)

    // (a) the lower bound: one GROUP BY pass computing the eight counts per (campaign, local day)
    const a = await best(2, () =>
      sql`select count(*) from (
            select e.campaign_id, (e.sent_at at time zone t.time_zone)::date as day, count(*),
                   count(*) filter (where e.status = 'delivered'), count(e.opened_at), count(e.clicked_at),
                   count(e.replied_at), count(e.bounce_type), count(e.unsubscribed_at), count(e.complaint_at)
              from emails e join tenants t on t.id = e.tenant_id
             where not e.is_warmup and e.sent_at is not null
             group by 1, 2) g`.execute(su),
    )
    log(`(a) ${a.toFixed(0)} ms`)

    // (b) this project's full recompute of all six tables, from empty tables
    await sql`truncate campaign_analytics, sequence_step_analytics, mailbox_analytics, warmup_analytics,
                       lead_analytics, billing_analytics`.execute(su)
    const full = { tenantsPerBatch: 10_000, workMem: values['work-mem'] }
    const b = await timed(() => recomputeAll(writer, full))
    log(`(b) ${b.ms.toFixed(0)} ms`)
    const bAgain = await timed(() => recomputeAll(writer, full))
    log(`(b, nothing changed) ${bAgain.ms.toFixed(0)} ms`)
    // (a″) the write floor: the rows (b) wrote, already computed, written again into the same
    // tables (indexes, triggers, WAL) in two lanes of half the tenants, as (b) runs; what no
    // recompute can go below on this machine, whatever its SQL
    const floor = await writeFloor(su)
    log(`(a″) ${floor.toFixed(0)} ms`)
    const rows = {}
    for (const t of [
      'campaign_analytics',
      'sequence_step_analytics',
      'mailbox_analytics',
      'warmup_analytics',
      'lead_analytics',
      'billing_analytics',
    ]) {
      rows[t] = (await sql`select count(*)::int as n from ${sql.table(t)}`.execute(su)).rows[0].n
    }

    // (c) the seed's approach: one query per (campaign, day, step), then an upsert; timed on a sample
    await sql`create index if not exists emails_seed_idx on emails (campaign_id, sequence_step_id, sent_at)`.execute(
      su,
    )
    await sql`create table if not exists seed_campaign_analytics (campaign_id text, day date, step_id text, sent int,
                delivered int, opened int, clicked int, replied int, bounced int, unsubscribed int,
                complaints int, primary key (campaign_id, day, step_id))`.execute(su)
    // a reused database (--database) holds an earlier run's rows
    await sql`truncate seed_campaign_analytics`.execute(su)
    // the units the seed's loop visits, as the sample below counts them: every step of a campaign
    // on every local day the campaign sent something (empty step-days included)
    const units = (
      await sql`select sum(d.days * s.steps)::int as n
                  from (select e.campaign_id, count(distinct (e.sent_at at time zone t.time_zone)::date) as days
                          from emails e join tenants t on t.id = e.tenant_id
                         where e.campaign_id is not null and e.sent_at is not null group by 1) d
                  join (select campaign_id, count(*) as steps from campaign_sequence_steps group by 1) s
                    using (campaign_id)`.execute(su)
    ).rows[0].n
    const sample = (
      await sql`select c.tenant_id, c.id, t.time_zone from campaigns c join tenants t on t.id = c.tenant_id
                     where exists (select from emails e where e.tenant_id = c.tenant_id and e.campaign_id = c.id)
                     order by md5(c.id) limit ${Number(values['seed-sample'])}`.execute(su)
    ).rows
    let sampleUnits = 0
    const c = await timed(async () => {
      for (const campaign of sample) {
        const days = (
          await sql`select distinct (sent_at at time zone ${campaign.time_zone})::date::text as day
                         from emails where campaign_id = ${campaign.id} and sent_at is not null`.execute(
            su,
          )
        ).rows
        const steps = (
          await sql`select id from campaign_sequence_steps where campaign_id = ${campaign.id}`.execute(
            su,
          )
        ).rows
        for (const { day } of days) {
          for (const step of steps) {
            sampleUnits++
            const {
              rows: [r],
            } = await sql`
              select count(*)::int as sent, count(*) filter (where status = 'delivered')::int as delivered,
                     count(opened_at)::int as opened, count(clicked_at)::int as clicked, count(replied_at)::int as replied,
                     count(bounce_type)::int as bounced, count(unsubscribed_at)::int as unsubscribed,
                     count(complaint_at)::int as complaints
                from emails where campaign_id = ${campaign.id} and sequence_step_id = ${step.id}
                 and sent_at >= (${day}::date::timestamp at time zone ${campaign.time_zone})
                 and sent_at < ((${day}::date + 1)::timestamp at time zone ${campaign.time_zone})`.execute(
              su,
            )
            await sql`insert into seed_campaign_analytics values (${campaign.id}, ${day}, ${step.id}, ${r.sent},
                        ${r.delivered}, ${r.opened}, ${r.clicked}, ${r.replied}, ${r.bounced}, ${r.unsubscribed}, ${r.complaints})
                      on conflict (campaign_id, day, step_id) do update set sent = excluded.sent`.execute(
              su,
            )
          }
        }
      }
    })
    const cExtrapolated = (c.ms / sampleUnits) * units
    log(
      `(c) ${sampleUnits} units in ${c.ms.toFixed(0)} ms → ${units} units ≈ ${(cExtrapolated / 1000).toFixed(1)} s`,
    )

    // (d) incremental: 1,000 changed emails, then draining every table
    await sql`update emails set opened_at = coalesce(opened_at, sent_at) + interval '1 second', updated_at = now()
               where id in (select id from emails where sent_at is not null order by md5(id::text) limit 1000)`.execute(
      writer,
    )
    const d = await timed(() => drainUntilIdle(writer))
    log(`(d) ${d.ms.toFixed(0)} ms for ${d.result} keys`)
    // (d′) 1,000 sends moved by a second: every table, billing included, recomputes
    await sql`update emails set sent_at = sent_at + interval '1 second', updated_at = now()
               where (tenant_id, id) in (select tenant_id, id from emails where sent_at is not null
                                          order by md5(id::text || 'moved') limit 1000)`.execute(
      writer,
    )
    const dMoved = await timed(() => drainUntilIdle(writer))
    log(`(d′) ${dMoved.ms.toFixed(0)} ms for ${dMoved.result} keys`)

    // (e) sustained: `rate` email updates per second for `seconds` s, two drain loops running;
    // lag = from a batch's commit to the moment none of its dirty keys is left
    const seconds = Number(values.seconds)
    const rate = Number(values.rate)
    const ids = (
      await sql`select id::text, tenant_id from emails where sent_at is not null order by md5(id::text) limit 200000`.execute(
        su,
      )
    ).rows
    let running = true
    // `--drains` loops (the worker's WORKER_CONCURRENCY, default 2) sharing the tenants: each
    // batch takes at most its share of them, so that no loop is left waiting for the tenants
    // another holds
    const drains = Number(values.drains)
    const tenantCount = (await sql`select count(*)::int as n from tenants`.execute(su)).rows[0].n
    const drainers = Array.from({ length: drains }, async () => {
      while (running) {
        const r = await drainDirtyKeys(writer, {
          batchSize: 20_000,
          maxTenants: Math.ceil(tenantCount / drains),
        })
        if (r.state !== 'drained') await new Promise((res) => setTimeout(res, 25))
      }
    })
    const pending = []
    const lags = []
    const poller = (async () => {
      while (running || pending.length > 0) {
        const {
          rows: [m],
        } = await sql`select min(seq)::text as min from analytics_dirty_keys`.execute(su)
        const now = performance.now()
        const minSeq = m.min === null ? Number.POSITIVE_INFINITY : Number(m.min)
        // ticks commit out of order: any of them whose keys are all drained is done
        for (let i = pending.length - 1; i >= 0; i--)
          if (pending[i].maxSeq < minSeq) lags.push(now - pending.splice(i, 1)[0].committedAt)
        await new Promise((res) => setTimeout(res, 20))
        if (!running && pending.length > 0 && now - pending[0].committedAt > 120_000) break
      }
    })()
    const perTick = Math.max(1, Math.round(rate / 10))
    // ticks start every 100 ms whether or not the previous one has committed (one connection
    // waiting on each update's random reads offered only ≈ 1,930 updates/s at 10M), at most
    // TICK_LANES at once, each lane updating its own quarter of the ids: no two ticks in flight
    // touch the same row, so they cannot deadlock
    const TICK_LANES = 4
    const lanes = Array.from({ length: TICK_LANES }, (_, l) =>
      ids.filter((_, i) => i % TICK_LANES === l),
    )
    const tick = async (pool) => {
      const batch = Array.from({ length: perTick }, () => pool[randomInt(pool.length)])
      // by the primary key (tenant_id, id): by id alone there is no index, and every tick scanned
      // the whole table (at 10M, seconds per tick, so the rate asked for was never offered)
      await sql`update emails e set clicked_at = coalesce(e.clicked_at, e.sent_at) + interval '1 second', updated_at = now()
                  from unnest(${batch.map((b) => b.tenant_id)}::text[], ${batch.map((b) => b.id)}::bigint[]) as u(tenant_id, id)
                 where e.tenant_id = u.tenant_id and e.id = u.id`.execute(writer)
      const committedAt = performance.now()
      const {
        rows: [s],
      } = await sql`select coalesce(max(seq), 0)::text as max from analytics_dirty_keys`.execute(su)
      pending.push({ committedAt, maxSeq: Number(s.max) })
    }
    const e = await timed(async () => {
      const end = performance.now() + seconds * 1000
      const inFlight = []
      for (let k = 0, next = performance.now(); performance.now() < end; k++) {
        // the oldest tick first: the lane about to be reused is free again
        if (inFlight.length >= TICK_LANES) await inFlight.shift()
        inFlight.push(tick(lanes[k % TICK_LANES]))
        next += 100
        const wait = next - performance.now()
        if (wait > 0) await new Promise((res) => setTimeout(res, wait))
      }
      await Promise.all(inFlight)
    })
    running = false
    await Promise.all([...drainers, poller])
    lags.sort((x, y) => x - y)
    const pct = (p) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))]
    const achievedRate = (perTick * (lags.length + pending.length)) / (e.ms / 1000)
    log(
      `(e) ${lags.length} batches, p50 ${pct(0.5)?.toFixed(0)} ms, p99 ${pct(0.99)?.toFixed(0)} ms, ${achievedRate.toFixed(0)} updates/s`,
    )

    results.push({
      emails,
      loadSeconds: load.ms / 1000,
      rows,
      aMs: a,
      bMs: b.ms,
      bUnchangedMs: bAgain.ms,
      bOverA: b.ms / a,
      bWorkMem: values['work-mem'],
      floorMs: floor,
      floorOverA: floor / a,
      bOverFloor: b.ms / floor,
      cExtrapolatedMs: cExtrapolated,
      cSampleUnits: sampleUnits,
      cUnits: units,
      cOverB: cExtrapolated / b.ms,
      dMs: d.ms,
      dKeys: d.result,
      dMovedMs: dMoved.ms,
      dMovedKeys: dMoved.result,
      eP50Ms: pct(0.5),
      eP99Ms: pct(0.99),
      eBatches: lags.length,
      eUpdatesPerSecond: achievedRate,
      eDrains: drains,
    })
    console.log(JSON.stringify(results.at(-1)))
  } finally {
    if (!values.keep && !values.database) await database.drop()
    else await database.close?.()
  }
}

const cpu = os.cpus()[0]?.model ?? 'unknown cpu'
console.log(
  `\n${new Date().toISOString().slice(0, 10)} · ${os.cpus().length} × ${cpu} · ${Math.round(os.totalmem() / 2 ** 30)} GiB · Node ${process.version}\n`,
)
console.log(
  '| emails | (a) GROUP BY | (a″) write floor | (a″)/(a) | (b) full recompute | (b)/(a) | (b)/(a″) | (b) unchanged | (c) seed, extrapolated | (c)/(b) | (d) 1,000 changes | (d′) 1,000 moved sends | (e) lag p50 / p99 |',
)
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
for (const r of results) {
  console.log(
    `| ${r.emails.toLocaleString('en')} | ${(r.aMs / 1000).toFixed(2)} s | ${(r.floorMs / 1000).toFixed(2)} s | ${r.floorOverA.toFixed(1)}× | ${(r.bMs / 1000).toFixed(2)} s | ${r.bOverA.toFixed(1)}× | ${r.bOverFloor.toFixed(1)}× | ${(r.bUnchangedMs / 1000).toFixed(2)} s | ${(r.cExtrapolatedMs / 1000).toFixed(0)} s (${r.cSampleUnits} of ${r.cUnits} units) | ${r.cOverB.toFixed(0)}× | ${(r.dMs / 1000).toFixed(2)} s (${r.dKeys} keys) | ${(r.dMovedMs / 1000).toFixed(2)} s (${r.dMovedKeys} keys) | ${(r.eP50Ms / 1000).toFixed(2)} s / ${(r.eP99Ms / 1000).toFixed(2)} s at ${r.eUpdatesPerSecond.toFixed(0)}/s |`,
  )
}
process.exit(0)
