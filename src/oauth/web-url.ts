/**
 * "https, or http on a loopback host": the one rule for URLs a client or an operator gives
 * Tessera to show, fetch or call (client metadata URLs, API identifiers, metadata documents,
 * back-channel logout URIs). Pure: callers add what their own specification asks (no fragment,
 * no credentials) and word the refusal in their own terms.
 */

/** Loopback names as they appear in a parsed URL's hostname (IPv6 in brackets). */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Is `hostname` (as in a URL) a loopback name or address? `localhost.evil.test` is not. */
export const isLoopbackHost = (hostname: string): boolean => LOOPBACK_HOSTS.has(hostname.toLowerCase())

export interface WebUrlRules {
  /** URLs on a loopback host are accepted at all (default true). */
  readonly loopback?: boolean
  /** On a loopback host, plain http is accepted too (default true). */
  readonly loopbackHttp?: boolean
}

/** Why a URL was refused: not an absolute URL, not https, or on a loopback host where none is allowed. */
export type WebUrlProblem = 'not_absolute' | 'not_https' | 'loopback'

export type WebUrlCheck = { readonly url: URL; readonly problem: null } | { readonly url: null; readonly problem: WebUrlProblem }

export function checkWebUrl(value: string, rules: WebUrlRules = {}): WebUrlCheck {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return { url: null, problem: 'not_absolute' }
  }
  const loopback = isLoopbackHost(url.hostname)
  if (loopback && rules.loopback === false) return { url: null, problem: 'loopback' }
  if (url.protocol === 'https:') return { url, problem: null }
  if (url.protocol === 'http:' && loopback && rules.loopbackHttp !== false) return { url, problem: null }
  return { url: null, problem: 'not_https' }
}

/** Is the issuer itself on localhost or 127.0.0.1 (local development and tests)? */
export function isLocalIssuer(issuer: string): boolean {
  try {
    return isLoopbackHost(new URL(issuer).hostname)
  } catch {
    return false
  }
}
