import { Type, type Static } from '@sinclair/typebox'

/**
 * OAuth parameters as parsed from a query or form: repeated keys arrive as arrays so that the
 * protocol layer can refuse them by name (RFC 6749 §3.1). Sizes are bounded here.
 */
export const OAuthParams = Type.Record(
  Type.String({ maxLength: 100 }),
  Type.Union([Type.String({ maxLength: 8192 }), Type.Array(Type.String({ maxLength: 8192 }), { maxItems: 16 })]),
  { maxProperties: 64 },
)
export type OAuthParams = Static<typeof OAuthParams>

/**
 * /authorize takes any shape of query: size problems there are protocol errors, redirected once
 * the client and redirect_uri are known good (docs/security.md §A), not schema failures shown as a page.
 * Node's header-size limit bounds a query; the body limit bounds a POST.
 */
export const AuthorizeParams = Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())]))

/** The one header the API endpoints read, bounded so oversized values are refused before any work. */
export const AuthorizationHeader = Type.Object({ authorization: Type.Optional(Type.String({ maxLength: 8192 })) })

/** Routes without parameters still declare their query: any parameters are ignored, sizes bounded. */
export const AnyQuery = Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), { maxProperties: 64 })

export const OAuthErrorBody = Type.Object({ error: Type.String(), error_description: Type.Optional(Type.String()) })

export const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Union([Type.Literal('Bearer'), Type.Literal('DPoP'), Type.Literal('N_A')]),
  expires_in: Type.Integer(),
  scope: Type.String(),
  id_token: Type.Optional(Type.String()),
  refresh_token: Type.Optional(Type.String()),
  /** RFC 8693 §2.2.1. */
  issued_token_type: Type.Optional(Type.String()),
})
