/**
 * Redirect URI rules (docs/security.md §A): registration refuses dangerous and non-canonical
 * forms; matching is byte for byte, except that loopback URIs of native apps (public clients) may
 * differ in port only (RFC 8252 §7.3). Confidential web clients always match exactly.
 */

import { ruleProblem, type ProblemWords, type RuleProblem } from './rule-problem.js'

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]'])

/** Why a URI may not be registered (RuleProblem): the English words of each reason. */
export const REDIRECT_URI_PROBLEMS = {
  uri_too_long: 'is too long',
  uri_control_characters: 'contains whitespace or control characters',
  uri_wildcard: 'must not contain wildcards',
  uri_fragment: 'must not contain a fragment',
  uri_not_absolute: 'must be an absolute URL',
  uri_scheme_forbidden: 'must not use the {scheme} scheme',
  uri_credentials: 'must not contain credentials',
  uri_not_canonical: 'must be written in canonical form ({canonical})',
  uri_no_host: 'must name a host',
  uri_http_not_loopback: 'must use https (http only for 127.0.0.1, [::1] or localhost)',
  uri_scheme_not_allowed: 'must use https, loopback http, or a reverse-domain private scheme',
} as const satisfies ProblemWords<string>

export type RedirectUriProblem = RuleProblem<keyof typeof REDIRECT_URI_PROBLEMS>

const refused = (reason: keyof typeof REDIRECT_URI_PROBLEMS, params?: Record<string, string>): RedirectUriProblem =>
  ruleProblem(REDIRECT_URI_PROBLEMS, reason, params)

/** Returns why the URI may not be registered, or null when it is acceptable. */
export function registrationProblem(uri: string): RedirectUriProblem | null {
  if (uri.length > 2000) return refused('uri_too_long')
  if (/[\s\u0000-\u001f\u007f]/.test(uri)) return refused('uri_control_characters')
  if (uri.includes('*')) return refused('uri_wildcard')
  if (uri.includes('#')) return refused('uri_fragment')
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return refused('uri_not_absolute')
  }
  const scheme = url.protocol.toLowerCase()
  if (['javascript:', 'data:', 'vbscript:', 'file:', 'blob:'].includes(scheme)) return refused('uri_scheme_forbidden', { scheme })
  if (url.username || url.password) return refused('uri_credentials')
  // Registered URIs are compared byte for byte, so they must be written the way URL parsers
  // write them: lower-case host, no default or zero-padded port.
  if (
    (scheme === 'https:' || scheme === 'http:') &&
    !uri.startsWith(`${url.protocol}//${url.host}/`) &&
    uri !== `${url.protocol}//${url.host}`
  ) {
    const canonical = `${url.protocol}//${url.host}${url.pathname === '/' && !uri.endsWith('/') ? '' : '/…'}`
    return refused('uri_not_canonical', { canonical })
  }
  if (scheme === 'https:') return url.hostname ? null : refused('uri_no_host')
  if (scheme === 'http:') {
    return LOOPBACK_HOSTS.has(url.hostname) || url.hostname === 'localhost' ? null : refused('uri_http_not_loopback')
  }
  // Private-use schemes of native apps (RFC 8252 §7.1) must look like reverse domain names.
  return /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/.test(scheme) ? null : refused('uri_scheme_not_allowed')
}

/**
 * Does `requested` match one of `registered`? `nativeLoopback`: the client is public (a native
 * app), whose loopback redirect may use any port the OS gave it.
 */
export function matchesRegisteredUri(
  registered: readonly string[],
  requested: string,
  options: { readonly nativeLoopback: boolean },
): boolean {
  if (registered.includes(requested)) return true
  if (!options.nativeLoopback) return false
  const loopback = parseLoopback(requested)
  if (!loopback) return false
  return registered.some((candidate) => {
    const other = parseLoopback(candidate)
    return other !== null && other.withoutPort === loopback.withoutPort
  })
}

/** For http://127.0.0.1:PORT/… or http://[::1]:PORT/…: the URI with the port removed, byte-preserving otherwise. */
function parseLoopback(uri: string): { withoutPort: string } | null {
  // Port digits in canonical form only: no leading zero (`:09999` is not `:9999` to every parser).
  const match = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::([1-9]\d{0,4}))?(\/[^#]*)?$/.exec(uri)
  if (!match) return null
  if (match[2] !== undefined && Number(match[2]) > 65535) return null
  return { withoutPort: `http://${match[1]}${match[3] ?? ''}` }
}
