// Word lists for plausible names and addresses. Everything here is a pure function of indices.

export const TIME_ZONES = [
  'UTC',
  'America/New_York',
  'Asia/Kolkata',
  'Europe/Berlin',
  'Australia/Sydney',
  'America/Los_Angeles',
  'Asia/Kathmandu',
  'America/Sao_Paulo',
] as const

const TENANTS = [
  'Northwind Growth',
  'Bluefin Outreach',
  'Acme Pipeline',
  'Lumen Sales Co',
  'Kestrel Partners',
  'Harbor Lead Labs',
  'Quokka Digital',
  'Juniper Revenue',
  'Atlas Prospecting',
  'Copperleaf Agency',
]

const COMPANIES = [
  'Brightside',
  'Fieldstone',
  'Ridgeway',
  'Silverline',
  'Tidewater',
  'Oakmont',
  'Redwood',
  'Clearpath',
  'Summit',
  'Evergreen',
  'Ironbridge',
  'Maple & Co',
]

const FIRST = [
  'anna',
  'ben',
  'carla',
  'dev',
  'elena',
  'farid',
  'grace',
  'hiro',
  'ines',
  'jonas',
  'kavya',
  'liam',
  'maya',
  'noah',
  'olga',
  'priya',
  'quinn',
  'rosa',
  'sam',
  'tariq',
]

const LAST = [
  'adler',
  'baker',
  'chen',
  'diaz',
  'evans',
  'fischer',
  'gupta',
  'haas',
  'ito',
  'jensen',
  'khan',
  'lopez',
  'moreau',
  'nair',
  'okafor',
  'park',
  'rossi',
  'silva',
  'tanaka',
  'weber',
]

const DOMAIN_PREFIXES = ['get', 'try', 'hello', 'meet', 'team', 'join']
const TLDS = ['com', 'io', 'co', 'net']
const PROSPECT_DOMAINS = [
  'gmail.com',
  'outlook.com',
  'fastmail.com',
  'contoso.com',
  'fabrikam.io',
  'initech.com',
  'globex.net',
  'umbrella.co',
  'hooli.com',
  'vandelay.com',
  'wayne.biz',
  'stark.dev',
]

const AUDIENCES = [
  'SaaS founders',
  'CFOs in retail',
  'agency owners',
  'HR leaders',
  'e-commerce brands',
  'fintech CTOs',
  'clinic managers',
  'logistics buyers',
  'real estate brokers',
  'marketing VPs',
]
const PERIODS = ['Q1', 'Q2', 'Q3', 'Q4', 'spring', 'autumn', 'launch', 'renewal', 'webinar']

const at = <T>(list: readonly T[], i: number): T => list[i % list.length] as T
const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '')

export function tenantName(i: number): string {
  const round = Math.floor(i / TENANTS.length)
  return round === 0 ? at(TENANTS, i) : `${at(TENANTS, i)} ${round + 1}`
}

export function companyName(tenant: number, company: number): string {
  return at(COMPANIES, tenant * 3 + company)
}

export function domainName(tenant: number, company: number, domain: number): string {
  const base = slug(companyName(tenant, company))
  return `${at(DOMAIN_PREFIXES, domain + tenant)}${base}${tenant + 1}.${at(TLDS, domain)}`
}

/** A sender address, unique within its domain. */
export function mailboxAddress(indexInDomain: number, domain: string): string {
  const n = indexInDomain
  const round = Math.floor(n / (FIRST.length * LAST.length))
  const name = `${at(FIRST, n)}.${at(LAST, Math.floor(n / FIRST.length))}`
  return `${round === 0 ? name : `${name}${round + 1}`}@${domain}`
}

/** A prospect's address, unique per lead number. */
export function leadAddress(leadNumber: number): string {
  const n = leadNumber
  return `${at(FIRST, n * 7)}.${at(LAST, n * 3 + Math.floor(n / 20))}.${n}@${at(PROSPECT_DOMAINS, n * 5 + Math.floor(n / 12))}`
}

export function campaignName(i: number, tenant: number): string {
  return `${at(PERIODS, i + tenant)} ${at(AUDIENCES, i * 3 + tenant)} #${i + 1}`
}
