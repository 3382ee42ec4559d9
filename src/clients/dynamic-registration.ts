/**
 * Dynamic client registration (RFC 7591) and its management protocol's read and delete
 * (RFC 7592): the service behind /register. REGISTRATION=token asks for an initial access token
 * (`idp registration token create`); every registered client gets a registration access token for
 * reading and deleting its own registration.
 */
import type { Deps } from '../deps.js'
import { OAuthError } from '../errors/oauth-error.js'
import { ENDPOINT_PATHS } from '../oauth/discovery.js'
import { parseClientMetadata } from '../oauth/client-metadata.js'
import { hashSecret, randomId, randomToken } from '../secrets.js'
import { clientFromMetadata, clientMetadataResponse } from './self-described.js'
import type { Client } from '../model/client.js'

type RegistrationDeps = Pick<Deps, 'repos' | 'config' | 'clock' | 'audit'>

/** The Bearer token of an Authorization header, or null. */
export function bearerToken(authorization: string | undefined): string | null {
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization ?? '')
  return match ? match[1]! : null
}

const registrationClientUri = (deps: RegistrationDeps, clientId: string) =>
  `${deps.config.issuer}${ENDPOINT_PATHS.registration}/${encodeURIComponent(clientId)}`

/** RFC 7591 §3: with REGISTRATION=token, a live initial access token, one use counted. */
async function checkInitialAccessToken(deps: RegistrationDeps, authorization: string | undefined): Promise<void> {
  if (deps.config.registration !== 'token') return
  const token = bearerToken(authorization)
  if (token === null) throw new OAuthError('invalid_token', 'registration needs an initial access token (Authorization: Bearer …)')
  if (!(await deps.repos.registrationTokens.use(hashSecret(token), deps.clock.now()))) {
    throw new OAuthError('invalid_token', 'the initial access token is unknown, expired or used up')
  }
}

/** RFC 7591 §3.1–3.2: validates the metadata, stores the client, answers with its credentials. */
export async function registerDynamicClient(
  deps: RegistrationDeps,
  authorization: string | undefined,
  body: unknown,
  ip: string,
): Promise<Record<string, unknown>> {
  // Validate first: a malformed request does not spend a use of the initial access token.
  const metadata = parseClientMetadata(body, 'dynamic', { issuer: deps.config.issuer })
  await checkInitialAccessToken(deps, authorization)
  const now = deps.clock.now()
  const { client, secret } = clientFromMetadata(metadata, 'dynamic', randomId(), { now, refreshAt: null })
  const registrationAccessToken = randomToken()
  await deps.repos.clients.insert(client, hashSecret(registrationAccessToken))
  await deps.audit.record(
    'client_registered',
    { clientId: client.id, ip, detail: { name: client.name, redirectUris: client.redirectUris } },
    'client registered itself (RFC 7591)',
  )
  return {
    ...registrationResponse(client),
    ...(secret !== null ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
    registration_access_token: registrationAccessToken,
    registration_client_uri: registrationClientUri(deps, client.id),
  }
}

/**
 * The client's metadata as registered (RFC 7591 §3.2.1), with `scope` as the server decided it:
 * the OpenID scopes the client may ask for, not the list it sent (§3.2.1 lets the server replace a
 * requested value, and the client must see the one in force). An API's scopes are not listed: they
 * come with that API's `resource` (RFC 8707), with the user's consent.
 */
function registrationResponse(client: Client): Record<string, unknown> {
  return { ...clientMetadataResponse(client), scope: client.scopes.join(' ') }
}

/**
 * RFC 7592 §2: the registration access token identifies the registration. An unknown client or a
 * wrong token both answer 401 (§2.1), so neither reveals whether a client_id exists.
 */
async function registeredClient(deps: RegistrationDeps, clientId: string, authorization: string | undefined) {
  const token = bearerToken(authorization)
  if (token === null) throw new OAuthError('invalid_token', 'a registration access token is required (Authorization: Bearer …)')
  const client = await deps.repos.clients.findByRegistrationToken(clientId, hashSecret(token))
  if (!client) throw new OAuthError('invalid_token', 'the registration access token is not valid for this client')
  return client
}

/**
 * RFC 7592 §2.1: the current registration, without the secret (it is shown once, at registration).
 * §3 makes `registration_access_token` REQUIRED in this response; §2.1 lets the server issue a new
 * one but does not require it. The token presented is returned as it is: rotating on a read would
 * lock the client out whenever the response is lost on the way.
 */
export async function readRegistration(
  deps: RegistrationDeps,
  clientId: string,
  authorization: string | undefined,
): Promise<Record<string, unknown>> {
  const client = await registeredClient(deps, clientId, authorization)
  return {
    ...registrationResponse(client),
    registration_access_token: bearerToken(authorization),
    registration_client_uri: registrationClientUri(deps, client.id),
  }
}

/**
 * RFC 7592 §2.3: the client deregisters. Its grants are revoked with their access and refresh
 * tokens, and the users' consents for it go (§2.3: the server SHOULD invalidate them), as when an
 * operator deletes a client (clients/lifecycle.ts deleteClient): the same repository call.
 */
export async function deleteRegistration(
  deps: RegistrationDeps,
  clientId: string,
  authorization: string | undefined,
  ip: string,
): Promise<void> {
  const client = await registeredClient(deps, clientId, authorization)
  await deps.repos.clients.removeWithAccess(client.id, deps.clock.now())
  await deps.audit.record(
    'client_removed',
    { clientId: client.id, ip, detail: { by: 'registration access token' } },
    'client deleted its registration (RFC 7592)',
  )
}

/** `idp registration token create`: the token is shown once; only its hash is kept. */
export async function createInitialAccessToken(
  deps: Pick<Deps, 'repos' | 'clock'>,
  options: { readonly ttl: number | null; readonly maxUses: number | null },
): Promise<{ token: string; id: string; expiresAt: number | null }> {
  const token = randomToken()
  const now = deps.clock.now()
  const expiresAt = options.ttl === null ? null : now + options.ttl
  const tokenHash = hashSecret(token)
  await deps.repos.registrationTokens.insert(tokenHash, now, expiresAt, options.maxUses)
  return { token, id: tokenHash.slice(0, 12), expiresAt }
}
