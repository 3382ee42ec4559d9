/**
 * The admin API's client representations: what a client looks like in answers (never a secret or
 * its hash, except the new secret in the answer that creates it) and what requests may send.
 */
import { Type, type Static } from '@sinclair/typebox'
import type { ClientDetails } from '../../../clients/lifecycle.js'
import { pageLinksOf } from '../../../clients/registration.js'
import { GRANT_TYPES, isPublicClient, type Client } from '../../../model/client.js'
import { PageQuery } from './pagination.js'
import { iso, NullableTimestamp, Timestamp } from './schemas.js'

const Uri = Type.String({ minLength: 1, maxLength: 2000 })
const Uris = (description: string) => Type.Array(Uri, { maxItems: 50, description })
const GrantType = Type.Union(GRANT_TYPES.map((grant) => Type.Literal(grant)))
const Scopes = Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
  maxItems: 100,
  description: 'Scopes the client may ask for; admin:read and admin:write make it a client of this API',
})
const Apis = Type.Array(Uri, { maxItems: 50, description: 'Registered APIs (identifiers) the client may ask tokens for' })

/** An https URL users may follow or see, checked by the registration rules (clients/registration.ts). */
const PageLink = (description: string) => Type.String({ minLength: 1, maxLength: 2000, description })

export const ClientSchema = Type.Object({
  client_id: Type.String(),
  name: Type.String(),
  type: Type.Union([Type.Literal('public'), Type.Literal('confidential')]),
  redirect_uris: Type.Array(Type.String()),
  post_logout_redirect_uris: Type.Array(Type.String()),
  grant_types: Type.Array(Type.String()),
  scopes: Type.Array(Type.String()),
  pkce: Type.Union([Type.Literal('required'), Type.Literal('optional')]),
  first_party: Type.Boolean(),
  introspect: Type.Boolean({ description: 'A resource server for tokens asked for without resource: may introspect other clients’ ones' }),
  introspect_apis: Type.Array(Type.String(), { description: 'The APIs whose tokens (issued to any client) it may introspect' }),
  require_mfa: Type.Boolean(),
  require_dpop: Type.Boolean(),
  require_par: Type.Boolean(),
  backchannel_logout_uri: Type.Union([Type.String(), Type.Null()]),
  backchannel_logout_session_required: Type.Boolean(),
  logo_uri: Type.Union([Type.String(), Type.Null()], { description: 'Shown (from this server) on the sign-in and consent pages' }),
  client_uri: Type.Union([Type.String(), Type.Null()]),
  policy_uri: Type.Union([Type.String(), Type.Null()]),
  tos_uri: Type.Union([Type.String(), Type.Null()]),
  registration: Type.Union([Type.Literal('cli'), Type.Literal('dynamic'), Type.Literal('metadata_document')], {
    description:
      'cli: by an operator (the CLI, this API, the console); dynamic: RFC 7591; metadata_document: a client ID metadata document',
  }),
  apis: Type.Optional(Type.Array(Type.String(), { description: 'Not in lists: read the client for it' })),
  previous_secret_expires_at: Type.Optional(NullableTimestamp('Until when the secret before the last rotation still works')),
  created_at: Timestamp('When the client was registered'),
})
type ClientJson = Static<typeof ClientSchema>

export const ClientCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    redirect_uris: Type.Optional(Uris('Exact redirect URIs: https (http only for loopback), no fragment or wildcard')),
    post_logout_redirect_uris: Type.Optional(Uris('Where logout may return to')),
    public: Type.Optional(Type.Boolean({ description: 'A public (native or browser) client: no secret, PKCE always' })),
    grant_types: Type.Optional(Type.Array(GrantType, { maxItems: 5, description: 'Default: authorization_code, refresh_token' })),
    pkce: Type.Optional(Type.Union([Type.Literal('required'), Type.Literal('optional')])),
    scopes: Type.Optional(Scopes),
    third_party: Type.Optional(Type.Boolean({ description: 'Show the consent screen to users' })),
    introspect: Type.Optional(
      Type.Boolean({ description: 'A resource server for tokens asked for without resource: may introspect other clients’ ones' }),
    ),
    introspect_apis: Type.Optional(Apis),
    require_mfa: Type.Optional(Type.Boolean()),
    require_dpop: Type.Optional(Type.Boolean()),
    require_par: Type.Optional(Type.Boolean()),
    apis: Type.Optional(Apis),
    backchannel_logout_uri: Type.Optional(Uri),
    backchannel_logout_session_required: Type.Optional(Type.Boolean()),
    logo_uri: Type.Optional(
      PageLink('The client’s logo (PNG, JPEG, GIF or WebP, at most 256 KiB), shown on the sign-in and consent pages'),
    ),
    client_uri: Type.Optional(PageLink('The client’s home page')),
    policy_uri: Type.Optional(PageLink('The client’s privacy policy, linked on the consent page')),
    tos_uri: Type.Optional(PageLink('The client’s terms of service, linked on the consent page')),
  },
  { additionalProperties: false },
)

export const ClientUpdate = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    redirect_uris: Type.Optional(Uris('Replaces the redirect URIs')),
    post_logout_redirect_uris: Type.Optional(Uris('Replaces the post-logout redirect URIs')),
    grant_types: Type.Optional(Type.Array(GrantType, { minItems: 1, maxItems: 5 })),
    scopes: Type.Optional(Scopes),
    apis: Type.Optional(Apis),
    introspect: Type.Optional(Type.Boolean()),
    introspect_apis: Type.Optional(Apis),
    require_mfa: Type.Optional(Type.Boolean()),
    require_dpop: Type.Optional(Type.Boolean()),
    require_par: Type.Optional(Type.Boolean()),
    backchannel_logout_uri: Type.Optional(Type.Union([Uri, Type.Null()], { description: 'null removes it' })),
    backchannel_logout_session_required: Type.Optional(Type.Boolean()),
    logo_uri: Type.Optional(Type.Union([PageLink('The client’s logo'), Type.Null()], { description: 'null removes it' })),
    client_uri: Type.Optional(Type.Union([PageLink('The client’s home page'), Type.Null()], { description: 'null removes it' })),
    policy_uri: Type.Optional(Type.Union([PageLink('The client’s privacy policy'), Type.Null()], { description: 'null removes it' })),
    tos_uri: Type.Optional(Type.Union([PageLink('The client’s terms of service'), Type.Null()], { description: 'null removes it' })),
  },
  { additionalProperties: false, description: 'Members given replace the stored ones; absent members stay' },
)

export const SecretRotation = Type.Object(
  {
    secret_overlap: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 30 * 24 * 3600,
        description: 'Seconds the current secret keeps working beside the new one (default one day; 0: it stops at once)',
      }),
    ),
  },
  { additionalProperties: false },
)

export const ClientParams = Type.Object({ client_id: Type.String({ minLength: 1, maxLength: 200 }) })
export const ClientListQuery = Type.Object(
  {
    ...PageQuery,
    registration: Type.Optional(Type.Union([Type.Literal('cli'), Type.Literal('dynamic'), Type.Literal('metadata_document')])),
  },
  { additionalProperties: false },
)

export function clientJson(client: Client, now: number, apis?: readonly string[]): ClientJson {
  const previous = client.previousSecret
  return {
    client_id: client.id,
    name: client.name,
    type: isPublicClient(client) ? 'public' : 'confidential',
    redirect_uris: [...client.redirectUris],
    post_logout_redirect_uris: [...client.postLogoutRedirectUris],
    grant_types: [...client.grantTypes],
    scopes: [...client.scopes],
    pkce: client.pkceRequired ? 'required' : 'optional',
    first_party: client.firstParty,
    introspect: client.introspect,
    introspect_apis: [...client.introspectApis],
    require_mfa: client.requireMfa,
    require_dpop: client.requireDpop,
    require_par: client.requirePar,
    backchannel_logout_uri: client.backchannelLogoutUri,
    backchannel_logout_session_required: client.backchannelLogoutSessionRequired,
    registration: client.registration,
    ...pageLinksOf(client),
    ...(apis !== undefined ? { apis: [...apis] } : {}),
    previous_secret_expires_at: previous !== null && previous.expiresAt > now ? iso(previous.expiresAt) : null,
    created_at: iso(client.createdAt),
  }
}

export const detailsJson = (details: ClientDetails, now: number) => clientJson(details.client, now, details.apis)
