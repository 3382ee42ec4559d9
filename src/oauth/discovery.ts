/** OpenID Provider metadata (OIDC Discovery 1.0 §3, RFC 8414). Every URL comes from the configured issuer. */
import { SUPPORTED_LOCALES } from '../i18n/locales.js'
import { SUPPORTED_CLAIMS } from './claims.js'
import { CLIENT_ASSERTION_ALGORITHMS, CLIENT_AUTH_METHODS } from './client-auth.js'
import { SUPPORTED_SCOPES } from './scope.js'
import { ACR_VALUES } from './acr.js'
import { GRANT_TYPES } from '../model/client.js'
import { DPOP_ALGORITHMS } from './dpop.js'

export const ENDPOINT_PATHS = {
  authorization: '/authorize',
  token: '/token',
  userinfo: '/userinfo',
  jwks: '/.well-known/jwks.json',
  revocation: '/revoke',
  introspection: '/introspect',
  endSession: '/logout',
  registration: '/register',
  pushedAuthorizationRequest: '/par',
  deviceAuthorization: '/device/authorization',
} as const

/** What an operator turned on that changes the document. */
export interface DiscoveryOptions {
  /** RFC 7591 registration at /register (REGISTRATION is token or open). */
  readonly registration: boolean
  /** draft-ietf-oauth-client-id-metadata-document: https URLs as client_id. */
  readonly clientMetadataDocuments: boolean
  /** RFC 9126 §5: REQUIRE_PAR=on. */
  readonly requirePar?: boolean
}

const NO_OPTIONS: DiscoveryOptions = { registration: false, clientMetadataDocuments: false }

/**
 * The metadata document. OpenID Provider metadata is a superset of RFC 8414's, so one document
 * answers both /.well-known/openid-configuration and /.well-known/oauth-authorization-server.
 */
export function discoveryDocument(issuer: string, options: DiscoveryOptions = NO_OPTIONS): Record<string, unknown> {
  const url = (path: string) => `${issuer}${path}`
  return {
    issuer,
    authorization_endpoint: url(ENDPOINT_PATHS.authorization),
    token_endpoint: url(ENDPOINT_PATHS.token),
    userinfo_endpoint: url(ENDPOINT_PATHS.userinfo),
    jwks_uri: url(ENDPOINT_PATHS.jwks),
    revocation_endpoint: url(ENDPOINT_PATHS.revocation),
    introspection_endpoint: url(ENDPOINT_PATHS.introspection),
    end_session_endpoint: url(ENDPOINT_PATHS.endSession),
    device_authorization_endpoint: url(ENDPOINT_PATHS.deviceAuthorization),
    ...(options.registration ? { registration_endpoint: url(ENDPOINT_PATHS.registration) } : {}),
    pushed_authorization_request_endpoint: url(ENDPOINT_PATHS.pushedAuthorizationRequest),
    require_pushed_authorization_requests: options.requirePar === true,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: GRANT_TYPES,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    userinfo_signing_alg_values_supported: [],
    scopes_supported: SUPPORTED_SCOPES,
    claims_supported: SUPPORTED_CLAIMS,
    token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    token_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_ALGORITHMS,
    revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS.filter((method) => method !== 'none'),
    code_challenge_methods_supported: ['S256'],
    dpop_signing_alg_values_supported: DPOP_ALGORITHMS,
    prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
    claims_parameter_supported: true,
    // OIDC Discovery §3: the languages of the pages (ui_locales picks one, i18n/negotiate.ts).
    ui_locales_supported: SUPPORTED_LOCALES,
    acr_values_supported: ACR_VALUES,
    request_parameter_supported: false,
    // False on purpose, and explicit, since OIDC Discovery §3 makes an omitted value mean true: it
    // speaks of request_uri in general, a URL the server would fetch a request object from, which
    // Tessera does not do. The request_uris /par hands out are usable regardless of this value
    // (RFC 9126 §5), and the pushed_authorization_request_endpoint above is what tells clients so.
    request_uri_parameter_supported: false,
    require_request_uri_registration: false,
    authorization_response_iss_parameter_supported: true,
    frontchannel_logout_supported: false,
    // OpenID Connect Back-Channel Logout 1.0 §2.1: logout tokens carry `sid`, as ID tokens do.
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    // draft-ietf-oauth-client-id-metadata-document §4 (what MCP 2025-11-25 clients look for).
    client_id_metadata_document_supported: options.clientMetadataDocuments,
  }
}
