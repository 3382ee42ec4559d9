/**
 * Who may learn what an access token says at /introspect (RFC 7662 §4: the server decides, and
 * should tell a token's `sub` and `scope` only to those entitled to them): the client the token
 * was issued to, and a resource server registered for the token's audience. An `--introspect`
 * resource server serves tokens issued without `resource` (ACCESS_TOKEN_AUDIENCE); `--introspect-api`
 * names the registered APIs it serves. A resource server for one API learns nothing about the
 * tokens of another, nor about admin API tokens (no client can be registered for that audience).
 */
import type { Client } from '../model/client.js'

export interface IntrospectedAccessToken {
  readonly client_id: string
  readonly aud?: string | readonly string[] | undefined
}

export function mayIntrospectAccessToken(
  caller: Pick<Client, 'id' | 'introspect' | 'introspectApis'>,
  token: IntrospectedAccessToken,
  defaultAudience: string,
): boolean {
  if (token.client_id === caller.id) return true
  const audiences = typeof token.aud === 'string' ? [token.aud] : (token.aud ?? [])
  return audiences.some((audience) => (caller.introspect && audience === defaultAudience) || caller.introspectApis.includes(audience))
}
