/**
 * Where a sign-in started without an authorization request returns to: a page that sent the user
 * to /login or to a step-up (the device verification page, the admin console) leaves its path in a
 * short-lived HttpOnly cookie, and the end of the sign-in (sign-in.ts) goes back there instead of
 * the account page. Only paths of those pages are ever followed: no open redirect
 * (docs/security.md §H).
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../deps.js'

/**
 * The verification page with its code, or an admin-console page. Admin segments begin with a
 * letter, digit, `_` or `~` (never `.` or `%`, so no `..` or `%2e%2e` segment that a browser would
 * resolve elsewhere) and hold no `/` or `\`; the query holds only what URLSearchParams writes.
 */
const RETURN_PATH =
  /^(?:\/device(?:\?user_code=[A-Za-z0-9%-]{1,40})?|\/admin(?:\/[A-Za-z0-9_~][A-Za-z0-9_.~%-]{0,199}){0,4}(?:\?[A-Za-z0-9_.~%=&+*-]{0,400})?)$/
/** Long enough to sign in, with a second factor; short enough that a later sign-in is not diverted. */
const RETURN_SECONDS = 600

const cookieName = (https: boolean) => (https ? '__Host-tessera_return' : 'tessera_return')

/** Would `rememberReturnPath` keep this path? */
export const isReturnPath = (path: string): boolean => RETURN_PATH.test(path)

export function rememberReturnPath(deps: Pick<Deps, 'config'>, reply: FastifyReply, path: string): void {
  if (!isReturnPath(path)) return
  const https = deps.config.issuerIsHttps
  reply.setCookie(cookieName(https), path, { path: '/', httpOnly: true, sameSite: 'lax', secure: https, maxAge: RETURN_SECONDS })
}

/** The remembered path, once (the cookie is cleared); null when there is none or it is not allowed. */
export function takeReturnPath(deps: Pick<Deps, 'config'>, request: FastifyRequest, reply: FastifyReply): string | null {
  const https = deps.config.issuerIsHttps
  const raw = request.cookies[cookieName(https)]
  if (raw === undefined) return null
  reply.clearCookie(cookieName(https), { path: '/', httpOnly: true, sameSite: 'lax', secure: https })
  return RETURN_PATH.test(raw) ? raw : null
}
