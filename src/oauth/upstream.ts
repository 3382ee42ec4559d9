/**
 * Upstream identity providers as pure rules: naming connections, the email domains they serve
 * (home-realm discovery), the addresses they may live at, and what their answers mean here
 * (claims mapped to a profile; when an email counts as verified; which `amr` values pass on).
 */
import { isAuthenticationMethod, type AuthenticationMethod } from '../model/authentication.js'
import type { Connection, ConnectionType, UpstreamProfile } from '../model/connection.js'
import { checkWebUrl, isLocalIssuer } from './web-url.js'

/** A rule broken by operator input: the message names the problem (one CLI line). */
export class ConnectionProblem extends Error {
  override readonly name = 'ConnectionProblem'
}

/**
 * An upstream's URLs are https; http only for a loopback host, and only when Tessera itself runs
 * on a loopback issuer (local development: nothing on the network can be reached in clear text).
 */
export function upstreamUrl(raw: string, label: string, ownIssuer: string): string {
  const { url, problem } = checkWebUrl(raw, { loopbackHttp: isLocalIssuer(ownIssuer) })
  if (problem === 'not_absolute') throw new ConnectionProblem(`${label} is not a URL: ${raw}`)
  if (url === null)
    throw new ConnectionProblem(`${label} must be https (http only on a loopback host while ISSUER is on localhost or 127.0.0.1)`)
  if (url.username !== '' || url.password !== '' || raw.includes('#'))
    throw new ConnectionProblem(`${label} must not carry credentials or a fragment`)
  return url.href
}

/** `Company SSO` → `company-sso`: the id in the callback URL. */
export function connectionId(name: string): string {
  const slug = name
    .normalize('NFKD')
    // Accents go (é → e), so the id stays readable in a URL.
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '')
  if (slug === '') throw new ConnectionProblem(`the name "${name}" needs at least one letter or digit`)
  return slug
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/

/** An email domain as given to `--domain`: lower case, at least two labels, no wildcard. */
export function emailDomain(raw: string): string {
  const domain = raw.trim().toLowerCase().replace(/\.$/, '')
  const labels = domain.split('.')
  if (labels.length < 2 || !labels.every((label) => LABEL.test(label)))
    throw new ConnectionProblem(`--domain ${raw} is not a domain name (example.com)`)
  return domain
}

/** The connection that owns the domain of `email` (canonical form), if an enabled one does. */
export function connectionForEmail<T extends Pick<Connection, 'domains' | 'disabledAt'>>(
  connections: readonly T[],
  email: string,
): T | undefined {
  const at = email.lastIndexOf('@')
  if (at < 0) return undefined
  const domain = email.slice(at + 1)
  return connections.find((connection) => connection.disabledAt === null && connection.domains.includes(domain))
}

/** The scopes asked of an upstream when none are given. */
export const defaultScopes = (type: ConnectionType): readonly string[] => (type === 'oidc' ? ['openid', 'email', 'profile'] : [])

/** Local claims an oauth2 connection maps from the upstream's user document, and their defaults. */
export const MAPPABLE_CLAIMS = ['sub', 'email', 'email_verified', 'name'] as const
const DEFAULT_MAPPING: Readonly<Record<string, string>> = { sub: 'id', email: 'email', name: 'name' }

/** `--map-claim sub=id` pairs → a mapping (defaults for the claims not named). */
export function claimMapping(pairs: readonly string[]): Record<string, string> {
  const mapping: Record<string, string> = { ...DEFAULT_MAPPING }
  for (const pair of pairs) {
    const [claim, field, ...rest] = pair.split('=')
    if (claim === undefined || field === undefined || field === '' || rest.length > 0)
      throw new ConnectionProblem(`--map-claim ${pair} must be CLAIM=FIELD, for example sub=id`)
    if (!(MAPPABLE_CLAIMS as readonly string[]).includes(claim))
      throw new ConnectionProblem(`--map-claim ${pair}: the claim must be one of ${MAPPABLE_CLAIMS.join(', ')}`)
    mapping[claim] = field
  }
  return mapping
}

const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null)

/** A subject is a non-empty string or an integer id (GitHub's `id`), kept as text. */
function subjectOf(value: unknown): string | null {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value)
  const subject = text(value)
  return subject !== null && subject.length <= 255 ? subject : null
}

/** RFC 8176 values the upstream reported; anything else is dropped. */
export const upstreamAmr = (value: unknown): AuthenticationMethod[] =>
  Array.isArray(value) ? [...new Set(value.filter(isAuthenticationMethod))] : []

/**
 * The profile from an OpenID provider's ID token claims (and userinfo, for what the ID token
 * left out; `sub` always from the ID token: OIDC Core §5.3.2), or from an OAuth 2.0 server's
 * user document through the mapping. Null when the upstream named no usable subject.
 */
export function upstreamProfile(
  type: ConnectionType,
  claims: Readonly<Record<string, unknown>>,
  extra: Readonly<Record<string, unknown>>,
  mapping: Readonly<Record<string, string>>,
): UpstreamProfile | null {
  if (type === 'oidc') {
    const subject = subjectOf(claims.sub)
    if (subject === null) return null
    const pick = (name: string) => (claims[name] !== undefined ? claims[name] : extra[name])
    return {
      subject,
      email: text(pick('email')),
      emailVerified: pick('email_verified') === true,
      name: text(pick('name')),
      amr: upstreamAmr(claims.amr),
    }
  }
  const field = (claim: string) => (mapping[claim] === undefined ? undefined : claims[mapping[claim]])
  const subject = subjectOf(field('sub'))
  if (subject === null) return null
  // A plain OAuth 2.0 server has no standard word for a verified email: without a mapped field,
  // the email is as good as the operator's `--trust-email` says.
  const verified = mapping.email_verified === undefined ? true : field('email_verified') === true
  return { subject, email: text(field('email')), emailVerified: verified, name: text(field('name')), amr: [] }
}

/** An upstream's email counts as verified here only when the connection is trusted for it. */
export const emailVerifiedHere = (connection: Pick<Connection, 'trustEmail'>, profile: UpstreamProfile): boolean =>
  connection.trustEmail && profile.email !== null && profile.emailVerified
