/**
 * Tokens that arrive in a mailed link leave the URL on the first request (docs/security.md §H): the
 * page stores the token in a short-lived HttpOnly cookie and redirects to the same path without
 * it, so it does not stay in the address bar, the history or any later Referer.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'

const COOKIE = { https: '__Host-tessera_reset', http: 'tessera_reset' } as const

const cookieName = (https: boolean) => (https ? COOKIE.https : COOKIE.http)

export function stashResetToken(reply: FastifyReply, https: boolean, token: string, maxAgeSeconds: number): void {
  reply.setCookie(cookieName(https), token, { path: '/', httpOnly: true, sameSite: 'lax', secure: https, maxAge: maxAgeSeconds })
}

export function stashedResetToken(request: FastifyRequest, https: boolean): string | undefined {
  const token = request.cookies[cookieName(https)]
  return token !== undefined && token.length > 0 && token.length <= 128 ? token : undefined
}

export function clearResetToken(reply: FastifyReply, https: boolean): void {
  reply.clearCookie(cookieName(https), { path: '/', httpOnly: true, sameSite: 'lax', secure: https })
}
