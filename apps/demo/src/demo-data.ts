import { generateSourceData } from '@penguinmails/data-generator'
import type { Database } from '@penguinmails/schema'
import { countTenants } from './demo-tenants.js'
import type { Terminal } from './terminal.js'

export interface DemoDataOutcome {
  /** false: the database already had tenants, and they are what the demo shows */
  generated: boolean
  tenants: number
  emails?: number
  milliseconds?: number
}

/** Generates the demo's source data when the database has no tenant; otherwise reuses it. */
export async function ensureDemoData(
  database: Database,
  options: { emails: number; seed: number },
  terminal: Terminal,
): Promise<DemoDataOutcome> {
  const existing = await countTenants(database.db)
  if (existing > 0) {
    terminal.line(`demo data: reusing the ${existing} tenants already in the database`)
    return { generated: false, tenants: existing }
  }
  const report = await generateSourceData(database, {
    seed: options.seed,
    emails: options.emails,
    onProgress: (p) =>
      terminal.progress(`generating ${p.table.padEnd(23)}`, p.rows, p.total, 'rows'),
  })
  const seconds = (report.milliseconds / 1000).toFixed(1)
  terminal.finish(
    'demo data:',
    `generated ${report.rows.emails.toLocaleString('en-US')} emails for ${report.rows.tenants} tenants over ${report.days} days in ${seconds} s (${report.method})`,
  )
  return {
    generated: true,
    tenants: report.rows.tenants,
    emails: report.rows.emails,
    milliseconds: report.milliseconds,
  }
}
