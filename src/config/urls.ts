import path from 'node:path'
import { isIP } from 'node:net'
import { FieldProblem } from './fields.js'

export type DatabaseLocation =
  { readonly dialect: 'sqlite'; readonly file: string } | { readonly dialect: 'postgres'; readonly url: string }

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/** OIDC Discovery §3: the issuer is an https URL without query or fragment (http only on localhost). */
export function parseIssuer(raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new FieldProblem(`"${raw}" is not an absolute URL`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new FieldProblem('must be an http(s) URL')
  if (url.protocol === 'http:' && !LOCAL_HOSTS.has(url.hostname)) {
    throw new FieldProblem('must use https unless the host is localhost or 127.0.0.1')
  }
  if (url.search || url.hash || raw.includes('#') || raw.includes('?')) throw new FieldProblem('must not have a query or fragment')
  if (url.username || url.password) throw new FieldProblem('must not contain credentials')
  return url.href.replace(/\/+$/, '')
}

export function parseDatabaseUrl(raw: string): DatabaseLocation {
  if (raw.startsWith('sqlite:')) {
    const file = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')
    if (file === '') throw new FieldProblem('sqlite: needs a file path, e.g. sqlite:./data/idp.db')
    return { dialect: 'sqlite', file: file === ':memory:' ? file : path.resolve(file) }
  }
  if (raw.startsWith('postgres://') || raw.startsWith('postgresql://')) {
    try {
      new URL(raw)
    } catch {
      throw new FieldProblem('is not a valid postgres:// URL')
    }
    return { dialect: 'postgres', url: raw }
  }
  throw new FieldProblem('must start with sqlite: or postgres://')
}

/** SMTP_URL: smtp:// (STARTTLS when offered) or smtps:// (TLS on connect), with a host. */
export function parseSmtpUrl(raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new FieldProblem('is not a URL (example: smtp://user:pass@mail.example:587)')
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new FieldProblem('must start with smtp:// or smtps://')
  if (url.hostname === '') throw new FieldProblem('must name the mail server host')
  return raw
}

/** Names proxy-addr (Fastify's trustProxy) understands besides addresses and CIDRs. */
const PROXY_KEYWORDS = new Set(['loopback', 'linklocal', 'uniquelocal'])

/** TRUST_PROXY: comma-separated IPv4/IPv6 addresses or CIDRs (or loopback, linklocal, uniquelocal). */
export function parseTrustedProxies(raw: string): readonly string[] {
  const entries = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
  for (const entry of entries) {
    if (PROXY_KEYWORDS.has(entry)) continue
    const [address = '', prefix, ...rest] = entry.split('/')
    const family = isIP(address)
    const maxPrefix = family === 6 ? 128 : 32
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix)
    if (family === 0 || rest.length > 0 || !prefixOk)
      throw new FieldProblem(`"${entry}" is not an IP address or CIDR (examples: 10.0.0.1, 10.0.0.0/8, fd00::/8, loopback)`)
  }
  return Object.freeze(entries)
}
