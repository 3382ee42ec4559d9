/**
 * The browser's side of a sign-in at an upstream: a random cookie (HttpOnly, SameSite=Lax, so it
 * comes back on the upstream's top-level redirect; __Host- under https) names the upstream_logins
 * row that holds `state`, `nonce` and the PKCE verifier. A callback without this browser's cookie
 * is refused, so nobody can finish a sign-in in someone else's browser (login CSRF). A second
 * cookie carries a pending link while the user proves control of an existing account.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../deps.js'
import type { Connection } from '../model/connection.js'
import type { PendingLink, UpstreamLogin } from '../db/repositories/upstream-logins.js'
import { callbackUrl } from '../connections/registry.js'
import { authorizationUrl, newAuthorizationStart, type ConfigurationFor } from '../connections/upstream-client.js'
import { PENDING_LINK_SECONDS } from '../connections/federated-identities.js'
import { hashSecret, randomToken } from '../secrets.js'

/** Time to sign in at the upstream (and type a password there). */
const UPSTREAM_LOGIN_SECONDS = 600

const cookie = (https: boolean, name: string) => (https ? `__Host-tessera_${name}` : `tessera_${name}`)
const options = (https: boolean, maxAge?: number) => ({
  path: '/',
  httpOnly: true,
  sameSite: 'lax' as const,
  secure: https,
  ...(maxAge !== undefined ? { maxAge } : {}),
})

export interface UpstreamStart {
  readonly interactionId: string | null
  readonly linkUserId: string | null
  readonly loginHint: string | null
}

/** Records the sign-in, sets the cookie and returns the upstream's authorization URL. */
export async function startUpstreamLogin(
  deps: Pick<Deps, 'config' | 'repos' | 'clock'>,
  configurationFor: ConfigurationFor,
  reply: FastifyReply,
  connection: Connection,
  start: UpstreamStart,
): Promise<string> {
  const https = deps.config.issuerIsHttps
  const token = randomToken()
  const authorization = newAuthorizationStart()
  const now = deps.clock.now()
  const url = await authorizationUrl(
    configurationFor(connection),
    connection,
    callbackUrl(deps.config.issuer, connection.id),
    authorization,
    start.loginHint,
  )
  await deps.repos.upstreamLogins.insert({
    idHash: hashSecret(token),
    connectionId: connection.id,
    ...authorization,
    interactionId: start.interactionId,
    linkUserId: start.linkUserId,
    createdAt: now,
    expiresAt: now + UPSTREAM_LOGIN_SECONDS,
  })
  reply.setCookie(cookie(https, 'upstream'), token, options(https, UPSTREAM_LOGIN_SECONDS))
  return url
}

/** The sign-in this browser started, taken once (undefined: none, expired or already used). */
export async function takeUpstreamLogin(
  deps: Pick<Deps, 'config' | 'repos' | 'clock'>,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<UpstreamLogin | undefined> {
  const https = deps.config.issuerIsHttps
  const raw = request.cookies[cookie(https, 'upstream')]
  reply.clearCookie(cookie(https, 'upstream'), options(https))
  if (raw === undefined || raw.length > 128) return undefined
  return deps.repos.upstreamLogins.take(hashSecret(raw), deps.clock.now())
}

export function setPendingLinkCookie(deps: Pick<Deps, 'config'>, reply: FastifyReply, linkToken: string): void {
  const https = deps.config.issuerIsHttps
  reply.setCookie(cookie(https, 'link'), linkToken, options(https, PENDING_LINK_SECONDS))
}

/** The pending link of this browser, if any; its cookie is cleared either way. */
export async function takePendingLink(
  deps: Pick<Deps, 'config' | 'repos' | 'clock'>,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<PendingLink | undefined> {
  const https = deps.config.issuerIsHttps
  if (request.cookies[cookie(https, 'link')] === undefined) return undefined
  reply.clearCookie(cookie(https, 'link'), options(https))
  return peekPendingLink(deps, request)
}

/** The pending link of this browser, left in place (the login page names it); undefined when none is live. */
export async function peekPendingLink(
  deps: Pick<Deps, 'config' | 'repos' | 'clock'>,
  request: FastifyRequest,
): Promise<PendingLink | undefined> {
  const raw = request.cookies[cookie(deps.config.issuerIsHttps, 'link')]
  if (raw === undefined || raw.length > 128) return undefined
  return deps.repos.upstreamLogins.findPendingLink(hashSecret(raw), deps.clock.now())
}

/** Does this browser hold a pending link (without taking it)? */
export const holdsPendingLink = (deps: Pick<Deps, 'config'>, request: FastifyRequest): boolean =>
  request.cookies[cookie(deps.config.issuerIsHttps, 'link')] !== undefined
