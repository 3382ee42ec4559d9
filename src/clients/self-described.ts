/**
 * Clients that describe themselves (RFC 7591 registration, client ID metadata documents) become
 * ordinary clients with fixed safety settings: third-party (the user always consents), PKCE
 * always, no introspection, OpenID scopes only (an API's scopes come with its `resource`).
 */
import type { Client, ClientRegistration } from '../model/client.js'
import type { ClientMetadata } from '../oauth/client-metadata.js'
import { SUPPORTED_SCOPES } from '../oauth/scope.js'
import { hashSecret, randomToken } from '../secrets.js'

export function clientFromMetadata(
  metadata: ClientMetadata,
  registration: Exclude<ClientRegistration, 'cli'>,
  id: string,
  times: { readonly now: number; readonly refreshAt: number | null },
): { client: Client; secret: string | null } {
  const secret = metadata.authMethod === 'client_secret_basic' || metadata.authMethod === 'client_secret_post' ? randomToken() : null
  const openIdScopes = metadata.scopes.filter((scope) => (SUPPORTED_SCOPES as readonly string[]).includes(scope))
  return {
    secret,
    client: {
      id,
      name: metadata.name,
      secretHash: secret === null ? null : hashSecret(secret),
      previousSecret: null,
      redirectUris: metadata.redirectUris,
      postLogoutRedirectUris: metadata.postLogoutRedirectUris,
      grantTypes: metadata.grantTypes,
      scopes: openIdScopes.length > 0 ? [...new Set(['openid', ...openIdScopes])] : [...SUPPORTED_SCOPES],
      pkceRequired: true,
      firstParty: false,
      introspect: false,
      introspectApis: [],
      requireMfa: false,
      requireDpop: metadata.dpopBoundAccessTokens,
      requirePar: metadata.requirePushedAuthorizationRequests,
      backchannelLogoutUri: metadata.backchannelLogoutUri,
      backchannelLogoutSessionRequired: metadata.backchannelLogoutSessionRequired,
      registration,
      metadata: {
        ...metadata.display,
        token_endpoint_auth_method: metadata.authMethod,
        ...(metadata.jwksUri !== null ? { jwks_uri: metadata.jwksUri } : {}),
        ...(metadata.jwks !== null ? { jwks: metadata.jwks } : {}),
        ...(metadata.scopes.length > 0 ? { scope: metadata.scopes.join(' ') } : {}),
      },
      refreshAt: times.refreshAt,
      createdAt: times.now,
    },
  }
}

/** The client's metadata as RFC 7591 §3.2.1 returns it (and RFC 7592 reads it back). */
export function clientMetadataResponse(client: Client): Record<string, unknown> {
  return {
    client_id: client.id,
    client_id_issued_at: client.createdAt,
    client_name: client.name,
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    grant_types: client.grantTypes,
    response_types: client.grantTypes.includes('authorization_code') ? ['code'] : [],
    ...(client.requireDpop ? { dpop_bound_access_tokens: true } : {}),
    ...(client.requirePar ? { require_pushed_authorization_requests: true } : {}),
    ...(client.backchannelLogoutUri !== null
      ? {
          backchannel_logout_uri: client.backchannelLogoutUri,
          backchannel_logout_session_required: client.backchannelLogoutSessionRequired,
        }
      : {}),
    ...client.metadata,
  }
}
