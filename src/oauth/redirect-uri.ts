/**
 * Redirect URI rules (SECURITY.md §A): registration refuses dangerous forms; matching is byte for
 * byte, except that loopback URIs of native apps may differ in port only (RFC 8252 §7.3).
 */

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]'])

/** Returns a reason the URI may not be registered, or null when it is acceptable. */
export function registrationProblem(uri: string): string | null {
  if (uri.length > 2000) return 'is too long'
  if (/[\s\u0000-\u001f\u007f]/.test(uri)) return 'contains whitespace or control characters'
  if (uri.includes('*')) return 'must not contain wildcards'
  if (uri.includes('#')) return 'must not contain a fragment'
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return 'must be an absolute URL'
  }
  const scheme = url.protocol.toLowerCase()
  if (['javascript:', 'data:', 'vbscript:', 'file:', 'blob:'].includes(scheme)) return `must not use the ${scheme} scheme`
  if (url.username || url.password) return 'must not contain credentials'
  if (scheme === 'https:') return url.hostname ? null : 'must name a host'
  if (scheme === 'http:') {
    return LOOPBACK_HOSTS.has(url.hostname) || url.hostname === 'localhost' ? null : 'must use https (http only for 127.0.0.1, [::1] or localhost)'
  }
  // Private-use schemes of native apps (RFC 8252 §7.1) must look like reverse domain names.
  return /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/.test(scheme) ? null : 'must use https, loopback http, or a reverse-domain private scheme'
}

/** Does `requested` match one of `registered`? */
export function matchesRegisteredUri(registered: readonly string[], requested: string): boolean {
  if (registered.includes(requested)) return true
  const loopback = parseLoopback(requested)
  if (!loopback) return false
  return registered.some((candidate) => {
    const other = parseLoopback(candidate)
    return other !== null && other.withoutPort === loopback.withoutPort
  })
}

/** For http://127.0.0.1:PORT/… or http://[::1]:PORT/…: the URI with the port removed, byte-preserving otherwise. */
function parseLoopback(uri: string): { withoutPort: string } | null {
  const match = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::(\d{1,5}))?(\/[^#]*)?$/.exec(uri)
  if (!match) return null
  if (match[2] !== undefined && Number(match[2]) > 65535) return null
  return { withoutPort: `http://${match[1]}${match[3] ?? ''}` }
}
