// Small HTTP helpers shared by the benchmark targets: cookies, headers as autocannon reports them,
// form fields, codes and a PKCE pair.
import { createHash, randomBytes } from 'node:crypto'

/** A header from autocannon's onResponse object (raw names, any case; repeated ones as arrays). */
export function header(headers, name) {
  for (const [key, value] of Object.entries(headers ?? {})) if (key.toLowerCase() === name) return value
  return undefined
}

/** Folds Set-Cookie values (string or array) into a name → value map. */
export function absorbCookies(jar, setCookie) {
  const values = setCookie === undefined || setCookie === null ? [] : Array.isArray(setCookie) ? setCookie : [setCookie]
  for (const value of values) {
    const [pair] = value.split(';')
    const at = pair.indexOf('=')
    if (at > 0) jar[pair.slice(0, at).trim()] = pair.slice(at + 1).trim()
  }
  return jar
}

export const cookieHeader = (jar) =>
  Object.entries(jar)
    .map(([name, value]) => `${name}=${value}`)
    .join('; ')

/** fetch without following redirects, cookies kept in `jar`. */
export async function fetchWithJar(url, jar, init = {}) {
  const response = await fetch(url, {
    ...init,
    redirect: 'manual',
    headers: { ...(init.headers ?? {}), ...(Object.keys(jar).length ? { cookie: cookieHeader(jar) } : {}) },
  })
  absorbCookies(jar, response.headers.getSetCookie())
  return response
}

export const pathOf = (url) => {
  const parsed = new URL(url)
  return parsed.pathname + parsed.search
}

export const FORM = 'application/x-www-form-urlencoded'

/** A hidden form field's value on a page (`<input name="…" value="…">`). */
export const formField = (html, name) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1]

/** The `code` of a redirect to the application, or null. */
export const codeFrom = (location) => (location ? new URL(location, 'http://x').searchParams.get('code') : null)

/** A PKCE verifier and its S256 challenge (RFC 7636 §4.1–4.2). */
export function pkce() {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}
