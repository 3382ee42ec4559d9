/**
 * Where a sign-in started without an authorization request returns to: a page that sent the user
 * to /login (the device verification page) leaves its path in a short-lived HttpOnly cookie, and
 * the end of the sign-in (sign-in.ts) goes back there instead of the account page. Only paths of
 * the verification page are ever followed: no open redirect (docs/security.md §H).
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../deps.js'

const RETURN_PATH = /^\/device(\?user_code=[A-Za-z0-9%-]{1,40})?$/
/** Long enough to sign in, with a second factor; short enough that a later sign-in is not diverted. */
const RETURN_SECONDS = 600

const cookieName = (https: boolean) => (https ? '__Host-tessera_return' : 'tessera_return')

export function rememberReturnPath(deps: Pick<Deps, 'config'>, reply: FastifyReply, path: string): void {
  if (!RETURN_PATH.test(path)) return
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
